"""Multi-device training and batch scoring figures -> `benchmarks/results/distribute.json`.

    python benchmarks/distribute.py            # every part (a few minutes on 2 CPU cores)
    python benchmarks/distribute.py --parts tensorflow jax

Parts, each in a fresh process (devices must be set up before TensorFlow's first op or JAX's import):
- `tensorflow`: the same PixelCNN trained on the binarized digits (the first 1,792 of 1,797, 8x8) for
  `EPOCHS` epochs on one device and under `tf.distribute.MirroredStrategy` over 2 logical CPUs,
  from the same initial weights, same batches (global batch `BATCH`), Adam.
- `jax`: the same under `keras.distribution.DataParallel` over 2 virtual CPU devices
  (`XLA_FLAGS=--xla_force_host_platform_device_count=2`).
- `scoring`: Beam `RunInference` scoring (`pipelines.scoring.ScoreExamples` over the exported
  SavedModel, DirectRunner with 2 worker processes) against `model.log_prob` called once per example
  in a Python loop, on the same 1,797 digits, one run each, and the largest difference between them.

Loss curves are the mean training loss of each epoch (nats per image). Images/s is measured over the
epochs after the first (which includes compilation). The logical / virtual devices share the same
cores, so 2 devices are not expected to be faster here: the figures show the overhead, and that the
loss curves agree. Throughput was measured with other jobs on the same machine: read it as a lower bound.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results", "distribute.json")
EPOCHS = 4
BATCH = 64


def _data():
    import numpy as np
    from keras_ar.datasets import digits

    return (digits.load_raw()[0][:, :, :, None] >= 8).astype(np.float32)


def _model():
    import keras_ar

    return keras_ar.models.PixelCNN(input_shape=(8, 8, 1), filters=16, num_residual_blocks=2, first_kernel_size=3)


def _train(model, weights, x):
    import keras

    model.build()
    model.set_weights(weights)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    seconds = []

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.start)

    history = model.fit(x, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0, callbacks=[Clock()])
    later = seconds[1:]
    return {
        "epoch_losses": [round(float(v), 5) for v in history.history["loss"]],
        "epoch_seconds": [round(s, 3) for s in seconds],
        "images_per_second": round(len(x) * len(later) / sum(later), 1),
    }


def child_training(backend):
    if backend == "tensorflow":
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras

    x = _data()[:1792]  # 28 full batches: DataParallel splits every batch evenly over the 2 devices
    keras.utils.set_random_seed(0)
    weights = _model().get_weights()
    keras.utils.set_random_seed(1)
    one = _train(_model(), weights, x)
    keras.utils.set_random_seed(1)
    if backend == "tensorflow":
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        with strategy.scope():
            two = _train(_model(), weights, x)
        how = "tf.distribute.MirroredStrategy over 2 logical CPU devices"
    else:
        import jax

        with keras.distribution.DataParallel(devices=jax.devices("cpu")[:2]).scope():
            two = _train(_model(), weights, x)
        how = "keras.distribution.DataParallel over 2 virtual CPU devices"
    import numpy as np

    diff = float(np.max(np.abs(np.array(one["epoch_losses"]) - np.array(two["epoch_losses"]))))
    return {"one_device": one, "two_devices": two, "two_devices_how": how, "max_epoch_loss_difference": diff}


def child_scoring(workers=2):
    import glob
    import tempfile

    import apache_beam as beam
    import keras
    import numpy as np
    import tensorflow as tf

    from keras_ar.export import export_archive
    from pipelines import beam_utils
    from pipelines import examples
    from pipelines.scoring import ScoreExamples

    x = _data()
    keras.utils.set_random_seed(0)
    model = _model()
    model.build()
    root = tempfile.mkdtemp(prefix="keras_ar_scoring_")
    model_dir = os.path.join(root, "model")
    export_archive(model, model_dir)
    for shard in range(2):
        with tf.io.TFRecordWriter(os.path.join(root, f"data-{shard:05d}-of-00002.tfrecord")) as w:
            for i in range(shard, len(x), 2):
                w.write(examples.encode(f"digit/{i}", x[i]))
    files = sorted(glob.glob(os.path.join(root, "*.tfrecord")))

    pipeline = beam_utils.make_pipeline(
        {"runner": "DirectRunner", "direct_num_workers": workers, "direct_running_mode": "multi_processing"}
    )
    (
        pipeline
        | beam.Create(files)
        | ScoreExamples(model_dir)
        | beam.Map(lambda d: json.dumps({"id": d["id"], "log_prob": d["log_prob"]}))
        | beam.io.WriteToText(os.path.join(root, "scores"), num_shards=1)
    )
    start = time.perf_counter()
    beam_utils.run(pipeline, "benchmark")
    beam_seconds = time.perf_counter() - start
    rows = [json.loads(line) for f in glob.glob(os.path.join(root, "scores*")) for line in open(f)]
    beam_scores = np.zeros(len(x))
    for r in rows:
        beam_scores[int(r["id"].split("/")[1])] = r["log_prob"]

    model.log_prob(x[:1])  # compiled once, outside the clock
    start = time.perf_counter()
    loop = np.array([float(keras.ops.convert_to_numpy(model.log_prob(x[i:i + 1]))[0]) for i in range(len(x))])
    loop_seconds = time.perf_counter() - start
    return {
        "examples": len(x),
        "scored_by_beam": len(rows),
        "beam_runner": f"DirectRunner (FnApiRunner), {workers} worker processes, multi_processing",
        "beam_seconds": round(beam_seconds, 2),
        "beam_examples_per_second": round(len(rows) / beam_seconds, 1),
        "beam_seconds_include": "starting the worker processes (each imports TensorFlow) and loading the SavedModel",
        "log_prob_loop_seconds": round(loop_seconds, 2),
        "log_prob_loop_examples_per_second": round(len(x) / loop_seconds, 1),
        "max_abs_difference_nats": float(np.max(np.abs(beam_scores - loop))),
    }


def run_part(part):
    backend = "jax" if part == "jax" else "tensorflow"
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="-1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
    if part == "jax":
        env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2").strip()
    start = time.perf_counter()
    result = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", part], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=1800)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"part {part} failed:\n{result.stderr[-3000:]}")
    out = json.loads(lines[-1][len("RESULT "):])
    out["backend"] = backend
    out["wall_seconds"] = round(time.perf_counter() - start, 1)
    return out


def machine():
    import multiprocessing

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{platform.machine()} {cpu} ({multiprocessing.cpu_count()} cores), Python {platform.python_version()}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", default=["tensorflow", "jax", "scoring"], choices=["tensorflow", "jax", "scoring"])
    parser.add_argument("--child", choices=["tensorflow", "jax", "scoring"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        out = child_scoring() if args.child == "scoring" else child_training(args.child)
        print("RESULT " + json.dumps(out))
        return
    sys.path.insert(0, HERE)
    from _results import update

    results = {}
    for part in args.parts:
        print(f"running {part} ...", flush=True)
        results[part] = run_part(part)
        print(json.dumps(results[part], indent=1), flush=True)

    def change(data):
        data.update(results)
        data["measured_on"] = machine() + "; other jobs were running on the same cores (throughput under load)"
        data["settings"] = {"model": "PixelCNN(filters=16, num_residual_blocks=2, first_kernel_size=3)",
                            "data": "sklearn digits binarized at 8: 1792 x 8x8x1 for training, all 1797 for scoring", "epochs": EPOCHS,
                            "global_batch": BATCH, "optimizer": "Adam(3e-3)"}
        return data

    update(RESULTS, change, dict)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
