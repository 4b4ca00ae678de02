"""Run served SavedModel signatures in a process that cannot import keras or keras_ar.

    python serve_check.py PLAN.json OUT.npz

PLAN.json: {"models": {key: saved_model_dir}, "inputs": inputs.npz, "calls": [
    {"name", "model", "signature", "inputs": {arg: npz key}, "output": key or null}]}.
Each call's output is stored in OUT.npz under its name; errors are printed with the rest
as one JSON object on stdout: {"errors": {name: message}, "signatures": {key: [...]},
"blocked": [...]}.
"""

import json
import sys

BLOCKED = ("keras", "keras_ar", "tf_keras", "tensorflow_probability")
for _name in BLOCKED:
    sys.modules[_name] = None  # `import keras` now raises ImportError

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def main(plan_file, out_file):
    with open(plan_file) as f:
        plan = json.load(f)
    arrays = np.load(plan["inputs"])
    loaded = {key: tf.saved_model.load(path) for key, path in plan["models"].items()}
    results, errors = {}, {}
    for call in plan["calls"]:
        fn = loaded[call["model"]].signatures[call["signature"]]
        try:
            out = fn(**{arg: tf.constant(arrays[key]) for arg, key in call["inputs"].items()})
            if call.get("output"):
                results[call["name"]] = out[call["output"]].numpy()
        except Exception as e:  # noqa: BLE001 -- reported to the test, which checks the message
            errors[call["name"]] = f"{type(e).__name__}: {e}"
    np.savez(out_file, **results)
    report = {
        "errors": errors,
        "signatures": {key: sorted(m.signatures) for key, m in loaded.items()},
        "blocked": [name for name in BLOCKED if sys.modules.get(name) is None],
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main(*sys.argv[1:3])
