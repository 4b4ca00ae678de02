"""WaveNet generation speed: cached (fast WaveNet) vs naive, TensorFlow and JAX, beside the plain-JAX floor.

    python benchmarks/wavenet_speed.py                 # both backends and the floor, writes the JSON
    KERAS_BACKEND=jax python benchmarks/wavenet_speed.py --one   # one backend, prints JSON

Config (issue 8): 2 stacks x dilations 1..512 (20 layers), kernel 2, 64 residual, 64 dilation and 128 skip
channels, a 256-way categorical head on mu-law codes, default (random) initial weights; receptive field
2048 (the floor's is 2047: its input is an embedding, ours a kernel-2 causal convolution). For batches 1
and 64:
- cached: `model.sample(batch, num_steps=2000)` (one compiled loop; 2000 steps, as the floor's --quick);
- naive: one full pass over the 2048-sample window per step (`use_cache=False`), timed on the last few
  steps of a 2048-step completion whose prefix is known (the floor's naive also recomputes its window).
Each: the first call (trace and compile) apart, then the median of the calls after it. The same run
executes `../shared/peers/wavenet_floor.py --quick --naive` (plain JAX, no Keras, same config) so the
ratios come from one run on one machine. Writes `benchmarks/results/wavenet_speed.json`.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FLOOR = os.path.join(os.path.dirname(ROOT), "shared", "peers", "wavenet_floor.py")
CONFIG = dict(
    input_shape=(2048,), distribution="categorical", num_levels=256, residual_channels=64, dilation_channels=64,
    skip_channels=128, kernel_size=2, num_layers_per_stack=10, num_stacks=2,
)
CACHED_STEPS = 2000
NAIVE_STEPS = {1: 20, 64: 3}
REAL_TIME = 16000  # samples/s of 16 kHz audio


def _timed(fn, repeats):
    times = []
    for k in range(1 + repeats):
        t0 = time.perf_counter()
        fn(k)
        times.append(time.perf_counter() - t0)
    return times[0], statistics.median(times[1:])


def run_one(batches, repeats):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import numpy as np

    sys.path.insert(0, ROOT)
    from keras_ar.models.wavenet import WaveNet

    keras.utils.set_random_seed(0)
    model = WaveNet(**CONFIG)
    rows = []
    for batch in batches:
        row = dict(batch=batch, params=model.count_params(), receptive_field=model.receptive_field)

        def cached(k):
            keras.ops.convert_to_numpy(model.sample(batch, seed=k, num_steps=CACHED_STEPS))

        first, median = _timed(cached, repeats)
        row.update(cached_first_call_s=round(first, 3), cached_s=round(median, 4),
                   cached_samples_per_s=round(batch * CACHED_STEPS / median, 1))
        steps = NAIVE_STEPS[batch]
        known = np.random.default_rng(0).integers(0, 256, size=(batch,) + CONFIG["input_shape"])
        mask = np.zeros(known.shape, bool)
        mask[:, : CONFIG["input_shape"][0] - steps] = True

        def naive(k):
            keras.ops.convert_to_numpy(model.sample(batch, seed=k, known=known, known_mask=mask, use_cache=False))

        first, median = _timed(naive, 1)
        row.update(naive_first_call_s=round(first, 3), naive_steps=steps, naive_s=round(median, 4),
                   naive_samples_per_s=round(batch * steps / median, 2))
        row["cached_over_naive"] = round(row["cached_samples_per_s"] / row["naive_samples_per_s"], 1)
        row["fraction_of_real_time"] = round(row["cached_samples_per_s"] / REAL_TIME, 4)
        # cached and naive draw the same samples (a short completion, both paths)
        short = dict(known=known, known_mask=mask)
        a = keras.ops.convert_to_numpy(model.sample(batch, seed=7, use_cache=True, **short))
        b = keras.ops.convert_to_numpy(model.sample(batch, seed=7, use_cache=False, **short))
        row["same_samples"] = bool(np.array_equal(a, b))
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    return {"backend": keras.backend.backend(), "rows": rows}


def run_floor():
    out = subprocess.run(
        [sys.executable, FLOOR, "--quick", "--naive"], capture_output=True, text=True, check=True,
        env={**os.environ, "JAX_PLATFORMS": "cpu"},
    ).stdout
    floor = {}
    pattern = r"(\w+)\s+B=(\d+): ([\d,.]+) steps/s per stream, ([\d,.]+) samples/s"
    for kind, batch, per, total in re.findall(pattern, out):
        floor[f"{kind}_b{batch}_samples_per_s"] = float(total.replace(",", ""))
    return floor, out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--one", action="store_true", help="this process's backend only; print JSON")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--backends", default="tensorflow,jax")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one((1, 64), args.repeats)))
        return
    load_before = os.getloadavg()
    results = {}
    for backend in args.backends.split(","):
        proc = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--one", "--repeats", str(args.repeats)],
            capture_output=True, text=True, env={**os.environ, "KERAS_BACKEND": backend},
        )
        if proc.returncode:
            sys.exit(f"{backend} failed:\n{proc.stderr[-4000:]}")
        results[backend] = json.loads(proc.stdout.strip().splitlines()[-1])["rows"]
        print(backend, json.dumps(results[backend], indent=1))
    floor, floor_out = run_floor()
    print(floor_out)
    ratios = {}
    for backend, rows in results.items():
        for row in rows:
            b = row["batch"]
            if f"cached_b{b}_samples_per_s" in floor:
                ratios[f"{backend}_cached_b{b}_over_floor_cached"] = round(
                    row["cached_samples_per_s"] / floor[f"cached_b{b}_samples_per_s"], 3)
            ratios[f"{backend}_cached_over_own_naive_b{b}"] = row["cached_over_naive"]
    report = {
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in CONFIG.items()},
        "machine": (f"{os.cpu_count()} CPU cores, shared with other jobs: load average {load_before[0]:.1f} at the "
                    f"start, {os.getloadavg()[0]:.1f} at the end"),
        "cached_steps": CACHED_STEPS,
        "keras_ar": results,
        "floor": floor,
        "ratios": ratios,
        "targets": "JAX cached at batch 1 >= 0.5x the floor's cached; cached >= 20x own naive",
    }
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    path = os.path.join(HERE, "results", "wavenet_speed.json")
    with open(path, "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps(ratios, indent=1), "\nwrote", path)


if __name__ == "__main__":
    main()
