"""Sampling speed of the generation engine: naive vs cached, beside the plain-JAX floor, per backend.

    python benchmarks/sampling.py                 # runs itself once per backend (tensorflow, jax)
    python benchmarks/sampling.py --models GatedPixelCNN PixelRNN-row_lstm --sizes 8   # other models
    KERAS_BACKEND=jax python benchmarks/sampling.py --one   # one backend, prints JSON

The config is the engine issue's: PixelCNN with a Bernoulli head, 32 filters, 5 residual blocks
(1x1 -> 3x3 mask B -> 1x1 with 16 channels), 7x7 mask-A input, at 28x28x1 and 8x8x1, batches 1,
16 and 64, default (random) initial weights. For each case: the first call's time (trace and
compile), then the median of the calls after it; the cached and naive samples for the same seed
must be equal. On JAX the run also executes `../shared/peers/pixelcnn_cached_floor.py` (plain JAX,
no Keras, same config) for the same size and batch, so the ratios are measured in one run.
Writes `benchmarks/results/sampling.json`.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FLOOR = os.path.join(os.path.dirname(ROOT), "shared", "peers", "pixelcnn_cached_floor.py")
CONFIG = dict(distribution="bernoulli", filters=32, num_residual_blocks=5, kernel_size=3, first_kernel_size=7)
# `--models`: the engine issue's PixelCNN above, and the issue-7 models with a cached step at their
# digits-binary configs of benchmarks/quality.py (Bernoulli heads)
sys.path.insert(0, HERE)
import quality  # noqa: E402

MODELS = {
    "PixelCNN": ("PixelCNN", CONFIG),
    "GatedPixelCNN": ("GatedPixelCNN", quality.GATED),
    "PixelRNN-row_lstm": ("PixelRNN", quality.ROW_LSTM),
    "PixelRNN-diagonal_bilstm": ("PixelRNN", quality.DIAGONAL_BILSTM),
}


def run_one(sizes, batches, repeats, naive_max_steps, models=("PixelCNN",)):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import numpy as np

    sys.path.insert(0, ROOT)
    import keras_ar

    backend = keras.backend.backend()
    rows = []
    for variant, size in [(m, s) for m in models for s in sizes]:
        keras.utils.set_random_seed(0)
        cls, config = MODELS[variant]
        model = getattr(keras_ar.models, cls)(input_shape=(size, size, 1), **config)
        for batch in batches:
            row = dict(model=variant, size=size, batch=batch, params=model.count_params())
            samples = {}
            for use_cache in (True, False):
                name = "cached" if use_cache else "naive"
                if not use_cache and size * size * batch > naive_max_steps:
                    continue
                times = []
                for k in range(1 + (repeats if use_cache else max(1, repeats // 3))):
                    t0 = time.perf_counter()
                    out = keras.ops.convert_to_numpy(model.sample(batch, seed=k, use_cache=use_cache))
                    times.append(time.perf_counter() - t0)
                    if k == 0:
                        samples[name] = out
                row[f"{name}_first_call_s"] = round(times[0], 4)
                row[f"{name}_s"] = round(statistics.median(times[1:]), 5)
                row[f"{name}_us_per_step"] = round(1e6 * row[f"{name}_s"] / (size * size), 1)
            if "naive" in samples:
                row["same_samples"] = bool(np.array_equal(samples["cached"], samples["naive"]))
                row["naive_over_cached"] = round(row["naive_s"] / row["cached_s"], 1)
            if backend == "jax" and variant == "PixelCNN" and os.path.exists(FLOOR):
                out = subprocess.run(
                    [sys.executable, FLOOR, "--batch", str(batch), "--size", str(size)],
                    capture_output=True, text=True, check=True,
                )
                floor = json.loads(out.stdout.strip().splitlines()[-1])
                row["floor"] = {k: floor[k] for k in ("naive_s", "cached_s", "ratio", "same_samples")}
                row["cached_over_floor_cached"] = round(row["cached_s"] / floor["cached_s"], 2)
            print(json.dumps(row), file=sys.stderr, flush=True)
            rows.append(row)
    return dict(backend=backend, keras=keras.__version__, rows=rows)


def machine():
    sys.path.insert(0, HERE)
    from quality import machine as describe

    return describe()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--one", action="store_true", help="measure the current KERAS_BACKEND only and print JSON")
    p.add_argument("--sizes", type=int, nargs="+", default=[8, 28])
    p.add_argument("--batches", type=int, nargs="+", default=[1, 16, 64])
    p.add_argument("--repeats", type=int, default=5, help="calls after the first (a third of them for naive)")
    p.add_argument("--naive-max-steps", type=int, default=28 * 28 * 64, help="skip naive runs above pixels*batch")
    p.add_argument("--backends", nargs="+", default=["tensorflow", "jax"])
    p.add_argument("--models", nargs="+", default=["PixelCNN"], choices=list(MODELS))
    a = p.parse_args()
    if a.one:
        print(json.dumps(run_one(a.sizes, a.batches, a.repeats, a.naive_max_steps, a.models)))
        return
    path = os.path.join(HERE, "results", "sampling.json")
    results = dict(config=CONFIG, models={k: dict(cls=c, config=v) for k, (c, v) in MODELS.items()},
                   machine=machine(), backends={})
    if os.path.exists(path):  # a run of some backends and models keeps the others' last results
        with open(path) as f:
            results["backends"] = json.load(f).get("backends", {})
    for backend in a.backends:
        env = dict(os.environ, KERAS_BACKEND=backend)
        cmd = [sys.executable, __file__, "--one", "--sizes", *map(str, a.sizes), "--batches", *map(str, a.batches),
               "--repeats", str(a.repeats), "--naive-max-steps", str(a.naive_max_steps), "--models", *a.models]
        out = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if out.returncode:
            sys.exit(f"{backend} run failed:\n{out.stderr[-3000:]}")
        new = json.loads(out.stdout.strip().splitlines()[-1])
        for r in new["rows"]:
            r["measured"] = time.strftime("%Y-%m-%d %H:%M")
        old = results["backends"].get(backend, {}).get("rows", [])
        ran = {(r["model"], r["size"], r["batch"]) for r in new["rows"]}
        kept = [r for r in old if (r.get("model", "PixelCNN"), r["size"], r["batch"]) not in ran]
        results["backends"][backend] = {**new, "rows": kept + new["rows"]}
    tf_rows = {(r.get("model", "PixelCNN"), r["size"], r["batch"]): r
               for r in results["backends"].get("tensorflow", {}).get("rows", [])}
    for r in results["backends"].get("jax", {}).get("rows", []):
        t = tf_rows.get((r.get("model", "PixelCNN"), r["size"], r["batch"]))
        if t:
            r["cached_jax_over_tf"] = round(r["cached_s"] / t["cached_s"], 2)
            if "naive_s" in r and "naive_s" in t:
                r["naive_jax_over_tf"] = round(r["naive_s"] / t["naive_s"], 2)
    with open(path, "w") as f:
        json.dump(results, f, indent=1)
    print(json.dumps(results, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
