"""Stream a SavedModel's `generate_init` / `generate_step` in a process that cannot import keras or keras_ar.

    python stream_check.py SAVED_MODEL IN.npz OUT.npz

IN.npz: `num_samples`, `seed`, optionally `condition` (for `generate_init`), `num_calls`, `temperature`,
and `frames` (a local condition `[n, frames, features]`, split evenly over the calls). Each call feeds the
state the previous one returned. OUT.npz: `samples` (the calls' samples, concatenated in time) and, as JSON
on stdout, the signatures' input names and the modules that were blocked.
"""

import json
import sys

BLOCKED = ("keras", "keras_ar", "tf_keras", "tensorflow_probability")
for _name in BLOCKED:
    sys.modules[_name] = None  # `import keras` now raises ImportError

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def main(path, in_file, out_file):
    loaded = tf.saved_model.load(path)
    init, step = loaded.signatures["generate_init"], loaded.signatures["generate_step"]
    arrays = dict(np.load(in_file))
    kwargs = {k: tf.constant(arrays[k]) for k in ("num_samples", "seed", "condition") if k in arrays}
    state = init(**kwargs)
    calls = int(arrays["num_calls"])
    frames = np.split(arrays["frames"], calls, axis=1) if "frames" in arrays else None
    outs = []
    for k in range(calls):
        inputs = dict(state, temperature=tf.constant(arrays["temperature"]))
        if frames is not None:
            inputs["condition"] = tf.constant(frames[k])
        result = step(**inputs)
        outs.append(result.pop("samples").numpy())
        state = result
    np.savez(out_file, samples=np.concatenate(outs, axis=1))
    report = {
        "init_inputs": sorted(init.structured_input_signature[1]),
        "step_inputs": sorted(step.structured_input_signature[1]),
        "blocked": [name for name in BLOCKED if sys.modules.get(name) is None],
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main(*sys.argv[1:4])
