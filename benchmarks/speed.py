"""Training throughput and sampling time, side by side with TFP's PixelCNN in the same run.

    python benchmarks/speed.py [--protocol digits-binary] [--epochs 4] [--peer-python .venv-peer/bin/python]
    python benchmarks/speed.py --models GatedPixelCNN PixelCNNPlusPlus-peer-size [--time-to-peer]
    python benchmarks/speed.py --no-peer  # keras_ar alone, where the peer harness is not installed

For each protocol it measures keras_ar's PixelCNN at the peer's config (32 filters, 2 residual
blocks, batch 64): images/s in `fit` (median of the epochs after the first), and the wall time of
16 and 64 samples (first call, which traces, and a second call). It then runs
`../shared/peers/tfp_pixelcnn_digits.py` with the same epochs and reports the ratios. Also times
NADE's cached sampler against the generic one (same seed, same samples). Writes
`benchmarks/results/speed.json`.

The peer runs with `--peer-python` (an environment with TensorFlow Probability, default
`.venv-peer/bin/python`) and `--peer-script` (default `../shared/peers/tfp_pixelcnn_digits.py`, beside
the repository). Where either is missing the benchmark stops before measuring anything, saying where
it looked, and writes no results: it never drops the peer without a word. `--no-peer` measures
keras_ar alone (not with `--time-to-peer`, which times keras_ar to the peer's test NLL).
"""

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
import keras_ar  # noqa: E402
from keras_ar.data import digits_dataset  # noqa: E402
from keras_ar.datasets import load_protocol  # noqa: E402

sys.path.insert(0, HERE)
import quality  # noqa: E402
from quality import machine  # noqa: E402

PEER = os.path.join(os.path.dirname(ROOT), "shared", "peers", "tfp_pixelcnn_digits.py")
PEER_PYTHON = os.path.join(ROOT, ".venv-peer", "bin", "python")
RESULTS = os.path.join(HERE, "results")


class EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times = getattr(self, "times", []) + [time.perf_counter() - self.t0]


def timed(fn):
    t0 = time.perf_counter()
    out = keras.ops.convert_to_numpy(fn())
    return time.perf_counter() - t0, out


def ours(protocol, epochs, **config):
    keras.utils.set_random_seed(0)
    data = load_protocol(protocol)
    head = dict(distribution="bernoulli") if protocol == "digits-binary" else dict(
        distribution="logistic_mixture", num_levels=17, num_components=5)
    config = config or dict(filters=32, num_residual_blocks=2)
    model = keras_ar.models.PixelCNN(input_shape=(8, 8, 1), **config, **head)
    timer = EpochTimer()
    model.fit(digits_dataset(data, "train", batch_size=64), epochs=epochs, callbacks=[timer], verbose=0)
    n_train = len(data.train)
    out = {
        "config": dict(**config, batch_size=64, epochs=epochs, **head),
        "params": int(model.count_params()),
        "train_images_per_s_median": float(np.median([n_train / t for t in timer.times[1:]])),
        "train_images_per_s_first_epoch": n_train / timer.times[0],
    }
    for n in (16, 64):
        out[f"sample{n}_s_cold"], _ = timed(lambda: model.sample(n, seed=0))
        out[f"sample{n}_s_warm"], _ = timed(lambda: model.sample(n, seed=1))
    return out


# issue 7: the image models beside the peer. "peer-size" is PixelCNN++ at TFP's config (32 filters, 2 gated
# resnets, one resolution: TFP's num_hierarchies=1, dropout 0.3); the others are the configs of
# benchmarks/quality.py. Heads: Bernoulli on digits-binary, 5-component logistic mixture on digits-17.
# The third item is the variant's training in quality.py, used by `--time-to-peer` (the throughput runs
# train every model with Adam 1e-3 at batch 64, as the peer trains).
IMAGE_MODELS = {
    "PixelCNNPlusPlus-peer-size": ("PixelCNNPlusPlus", dict(filters=32, num_blocks=2, num_stages=1, dropout=0.3),
                                   quality.PCPP_TRAIN),
    "GatedPixelCNN": ("GatedPixelCNN", quality.GATED, quality.GATED_TRAIN),
    "PixelRNN-row_lstm": ("PixelRNN", quality.ROW_LSTM, quality.RNN_TRAIN),
    "PixelRNN-diagonal_bilstm": ("PixelRNN", quality.DIAGONAL_BILSTM, quality.RNN_TRAIN),
}


class TestCurve(keras.callbacks.Callback):
    """Test NLL after every epoch (outside the timed epochs) and the training seconds so far: only to
    time when the peer's test NLL is reached, never to choose anything."""

    def __init__(self, x, timer):
        super().__init__()
        self.x, self.timer, self.curve = x, timer, []

    def on_epoch_end(self, epoch, logs=None):
        nll = -float(np.mean(keras.ops.convert_to_numpy(self.model.log_prob(self.x))))
        self.curve.append((epoch + 1, round(sum(self.timer.times), 2), round(nll, 3)))


def image_model(variant, protocol, epochs, target=None, patience=10):
    """images/s in `fit` (median of epochs after the first), 64 samples cold and warm (cached where the model
    has a cached step), parameters; with `target` (the peer's test NLL) trains up to `epochs` with early
    stopping on validation and reports the training seconds until the test NLL first reaches it."""
    keras.utils.set_random_seed(0)
    data = load_protocol(protocol)
    cls, config, train = IMAGE_MODELS[variant]
    head = dict(distribution="bernoulli") if protocol == "digits-binary" else dict(
        distribution="logistic_mixture", num_levels=17, num_components=5)
    model = getattr(keras_ar.models, cls)(input_shape=(8, 8, 1), **config, **head)
    timer = EpochTimer()
    callbacks = [timer]
    batch_size = 64
    if target is None:
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        train = dict(optimizer="Adam", lr=1e-3)
    else:  # the training of the quality table, with its early stopping on validation
        optimizer, first = quality.optimizer_and_callbacks(train)
        model.compile(optimizer=optimizer)
        batch_size, patience = train.get("batch_size", 64), train.get("patience", patience)
        curve = TestCurve(data.test, timer)
        callbacks += [*first, curve,
                      keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=True)]
    model.fit(digits_dataset(data, "train", batch_size=batch_size),
              validation_data=digits_dataset(data, "validation"), epochs=epochs, callbacks=callbacks, verbose=0)
    n_train = len(data.train)
    out = {"model": cls, "config": {**config, **head, **train, "batch_size": batch_size},
           "params": int(model.count_params()),
           "train_images_per_s_median": float(np.median([n_train / t for t in timer.times[1:]]))}
    if target is not None:
        reached = [(e, sec) for e, sec, nll in curve.curve if nll <= target]
        out.update(test_curve=curve.curve, peer_test_nll=target,
                   seconds_to_peer_nll=reached[0][1] if reached else None,
                   epoch_to_peer_nll=reached[0][0] if reached else None)
    for n in (64,):
        out[f"sample{n}_s_cold"], _ = timed(lambda: model.sample(n, seed=0))
        out[f"sample{n}_s_warm"], _ = timed(lambda: model.sample(n, seed=1))
    return out


def find_peer(python, script, results, time_to_peer=False):
    """`(python, script)` of the TFP peer harness, both files that exist; else `SystemExit` (status 1) with
    a message that names where it looked, what to pass, and the results file left as it was."""
    missing = [f"  {what} {path!r}: {'not found' if path else 'not given'}"
               for what, path in (("peer script (--peer-script)", script), ("peer Python (--peer-python)", python))
               if not (path and os.path.isfile(path))]
    if not missing:
        return python, script
    alone = "" if time_to_peer else ", or --no-peer to measure keras_ar alone"
    raise SystemExit(
        "benchmarks/speed.py: the TFP peer harness was not found, so the peer cannot be measured"
        + (" (--time-to-peer times keras_ar to the peer's test NLL)" if time_to_peer else "") + ". Looked for:\n"
        + "\n".join(missing) + "\n"
        f"The peer script is ../shared/peers/tfp_pixelcnn_digits.py beside the repository ({PEER}); its Python "
        f"is an environment with tensorflow-probability (default {PEER_PYTHON}). Pass --peer-script PATH and "
        f"--peer-python PATH{alone}. Nothing was measured; {results} is left as it was."
    )


def peer(protocol, epochs, found, patience=None):
    """The peer's JSON record; `found` is `find_peer`'s `(python, script)`. A failed run raises."""
    python, script = found
    res = subprocess.run(
        [python, script, "--protocol", protocol, "--epochs", str(epochs), "--patience", str(patience or epochs)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(res.stdout.strip().splitlines()[-1])


def nade_sampling():
    keras.utils.set_random_seed(0)
    model = keras_ar.models.NADE(input_shape=(8, 8, 1), hidden_units=500)
    out = {"config": "NADE(input_shape=(8, 8, 1), hidden_units=500), 64 samples, median of 5 warm calls"}
    samples = {}
    for name, cache in (("naive", False), ("cached", True)):
        timed(lambda: model.sample(64, seed=0, use_cache=cache))  # trace/compile
        runs = [timed(lambda: model.sample(64, seed=1, use_cache=cache)) for _ in range(5)]
        out[f"{name}_s"] = float(np.median([t for t, _ in runs]))
        samples[name] = runs[0][1]
    out["speedup"] = out["naive_s"] / out["cached_s"]
    out["same_samples"] = bool(np.array_equal(samples["naive"], samples["cached"]))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--protocol", nargs="*", default=["digits-binary", "digits-17"])
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--peer-python", default=PEER_PYTHON,
                   help="the Python of an environment with tensorflow-probability, which runs the peer")
    p.add_argument("--peer-script", default=PEER, help="the TFP peer harness (tfp_pixelcnn_digits.py)")
    p.add_argument("--no-peer", action="store_true",
                   help="measure keras_ar alone (the results then hold no peer entries and no ratios)")
    p.add_argument("--models", nargs="*", default=None, choices=list(IMAGE_MODELS),
                   help="issue 7: these image models beside the peer (images/s, sampling, params) instead")
    p.add_argument("--time-to-peer", action="store_true",
                   help="with --models: also train to convergence (early stopping) beside the peer's own run "
                        "and time when the peer's test NLL is reached")
    args = p.parse_args(argv)
    if args.time_to_peer and (args.models is None or args.no_peer):
        p.error("--time-to-peer times --models to the peer's test NLL: it needs --models and the peer (no --no-peer)")
    name = "speed.json"
    if args.models is not None:
        name = "speed_time_to_peer.json" if args.time_to_peer else "speed_image_models.json"
    # before anything is measured: a benchmark that cannot run the peer it was asked for stops here
    found = None if args.no_peer else find_peer(
        args.peer_python, args.peer_script, os.path.join(RESULTS, name), args.time_to_peer)
    if args.models is not None:
        return main_models(args, found, name)
    record = {"machine": machine(), "backend": keras.backend.backend(), "pixelcnn": {}}
    for protocol in args.protocol:
        a = ours(protocol, args.epochs)
        b = None if found is None else peer(protocol, args.epochs, found)
        entry = {"keras_ar": a}
        if b is not None:
            entry["tfp_peer"] = {k: b[k] for k in (
                "config", "params_trainable", "train_images_per_s_median", "sample16_s_warm", "sample64_s_warm",
                "sample16_s_cold", "sample64_s_cold")}
            entry["ratios"] = {
                "train_throughput_ours_over_peer": a["train_images_per_s_median"] / b["train_images_per_s_median"],
                "sample64_warm_peer_over_ours": b["sample64_s_warm"] / a["sample64_s_warm"],
            }
        record["pixelcnn"][protocol] = entry
        print(json.dumps({protocol: entry}), flush=True)
    # the configuration of benchmarks/quality.py on digits-binary, no peer
    record["pixelcnn_quality_config"] = ours("digits-binary", args.epochs, filters=96, num_residual_blocks=4,
                                             first_kernel_size=15, dropout=0.7, position_bias=True)
    print(json.dumps(record["pixelcnn_quality_config"]), flush=True)
    record["nade_sampling"] = nade_sampling()
    print(json.dumps(record["nade_sampling"]), flush=True)
    write_results(record, name)


def write_results(record, name):
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, name), "w") as f:
        json.dump(record, f, indent=1)


def main_models(args, found, name):
    """Writes `benchmarks/results/speed_image_models.json` (or with `--time-to-peer`
    `speed_time_to_peer.json`): per protocol, the peer (its own early-stopped run with `--time-to-peer`,
    else `--epochs` epochs; none with `--no-peer`) and each model, with ratios, all in one run."""
    record = {"machine": machine(), "backend": keras.backend.backend(), "protocols": {}}
    for protocol in args.protocol:
        epochs = 100 if args.time_to_peer else args.epochs
        b = None if found is None else peer(protocol, epochs, found, patience=10 if args.time_to_peer else None)
        entry = {}
        if b is not None:
            history = b["history"]  # [epoch, train nll, val nll, train seconds]
            entry["tfp_peer"] = {k: b[k] for k in ("config", "params_trainable", "train_images_per_s_median",
                                                   "sample64_s_warm", "sample64_s_cold", "test_nll_nats",
                                                   "best_epoch")}
            entry["tfp_peer"]["seconds_to_best_epoch"] = round(sum(h[3] for h in history[: b["best_epoch"]]), 2)
        for variant in args.models:
            target = b["test_nll_nats"] if (b is not None and args.time_to_peer) else None
            a = image_model(variant, protocol, epochs, target)
            if b is not None:
                a["ratios"] = {
                    "train_throughput_ours_over_peer": a["train_images_per_s_median"] / b["train_images_per_s_median"],
                    "sample64_warm_peer_over_ours": b["sample64_s_warm"] / a["sample64_s_warm"],
                    "params_ours_over_peer": a["params"] / b["params_trainable"],
                }
                if a.get("seconds_to_peer_nll") is not None:
                    a["ratios"]["time_to_peer_nll_peer_over_ours"] = (
                        entry["tfp_peer"]["seconds_to_best_epoch"] / a["seconds_to_peer_nll"])
            entry[variant] = a
            print(json.dumps({protocol: {variant: a}}), flush=True)
        record["protocols"][protocol] = entry
    write_results(record, name)


if __name__ == "__main__":
    main()
