"""Test NLL of every model on the BENCHMARKS.md protocols, with early stopping on validation.

Each entry of `RUNS` is a *variant*: a model class with one configuration on one protocol (the same
class can appear several times, e.g. `PixelRNN-row_lstm` and `PixelRNN-diagonal_bilstm`, or a
class-conditional model beside its unconditional twin). Every variant is trained once per seed;
the test NLL is taken at the epoch with the best validation NLL (early stopping restores those
weights). Configurations were chosen by validation NLL only.

Writes `benchmarks/results/quality.json` (`records`: one per protocol, variant and seed;
`summary`: mean and spread over the seeds per protocol and variant; merged with what is there)
and the table between the `quality` markers of README.md.

    python benchmarks/quality.py                              # every entry of RUNS, seeds 0 1 2
    python benchmarks/quality.py --only GatedPixelCNN-class    # a subset, by variant name
    python benchmarks/quality.py --model PixelRNN              # a subset, by model class name
    python benchmarks/quality.py --protocol digits-17          # a subset, by protocol
    python benchmarks/quality.py --seeds 0                     # one seed
    python benchmarks/quality.py --max-epochs 3                # a smoke run (results not written)
    python benchmarks/quality.py --validation-only --seeds 0   # a config search: no test split, nothing written

Conditional variants: `condition="labels"` trains on `(x, digit label)` with `num_classes`
(class-conditional); the conditional protocols (`digits-superres`, `patches-colorize`) always train
on `(x, condition)` with `condition_shape`; their condition is divided by `condition_scale` (a
fixed preprocessing of the model's input, not of the data modelled).
"""

import argparse
import json
import math
import os
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import keras_ar  # noqa: E402
from _results import locked  # noqa: E402
from _results import update  # noqa: E402
from protocols import BASELINES  # noqa: E402  (benchmarks/protocols.py)
from keras_ar.datasets import load_protocol  # noqa: E402
from keras_ar.data import make_dataset  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results", "quality.json")
README = os.path.join(os.path.dirname(HERE), "README.md")


def V(protocol, model, model_kwargs, train_kwargs, variant=None, condition=None, flatten=False):
    """One variant: `variant` names it (defaults to the class name), `condition` is None, "labels" or
    "coords"; `flatten` models an image as a sequence of its pixels in raster order (a sequence model
    on an image protocol, e.g. WaveNet on digits-binary). With "coords" each pixel's (row, column),
    scaled to [0, 1], is a local condition (`condition_shape=(pixels, 2)`, one frame per pixel)."""
    return dict(
        protocol=protocol, model=model, variant=variant or model, model_kwargs=model_kwargs,
        train_kwargs=train_kwargs, condition=condition, flatten=flatten,
    )


def _coords(shape):
    """(row, column) / (size - 1) of every pixel of an image of `shape`, raster order: `[pixels, 2]`."""
    h, w = shape[:2]
    rows, cols = np.meshgrid(np.arange(h) / max(1, h - 1), np.arange(w) / max(1, w - 1), indexing="ij")
    return np.stack([rows.ravel(), cols.ravel()], -1).astype(np.float32)


# Constructors get input_shape and, for discrete protocols, num_levels from the protocol (and
# num_classes / condition_shape for conditional variants). Training: AdamW, early stopping on
# validation NLL (`patience`, restore best weights), at most `max_epochs` (command line unless set).
# Chosen by validation NLL on seed 0 (digits-binary: see the report of issue 7); the digits-17 and
# conditional ones reuse the digits-binary choice with PixelCNN's digits-17 head. On this shared 2-core
# machine runs are capped at 40 epochs with patience 8.
_CAP = dict(max_epochs=40, patience=8)
# the model configs (GATED, ROW_LSTM, DIAGONAL_BILSTM) and their trainings (GATED_TRAIN, RNN_TRAIN,
# PCPP_TRAIN) are public: speed.py and sampling.py time these configs
GATED = dict(filters=48, num_blocks=3, first_kernel_size=15, dropout=0.5, position_bias=True)
GATED_TRAIN = dict(lr=2e-3, weight_decay=0.1, decay_biases=True, batch_size=32, **_CAP)
_MIX = dict(distribution="logistic_mixture", num_components=5)
# PixelCNN++ at one resolution (no down-sampling of 8x8 images), chosen by seed-0 validation NLL among
# 3 stages x 1 block (16.54), 1 stage x 2 blocks with 32 (16.22) or 64 filters (16.27), 4 blocks (16.44),
# 48 filters x 3 blocks (16.46), 2 stages (16.82), weight decay 0.1 (16.51); on digits-17 77.44 -> 76.70.
# Then Polyak averaging of the weights (as PixelCNN++ itself trains), validated with the averaged weights:
# EMA 0.99 16.14, 0.995 16.085, 0.998 16.085 (23 more epochs); 64 filters, dropout 0.5, EMA 0.99 16.15;
# EMA 0.995 with dropout 0.4: 15.98 (digits-binary); on digits-17 (seed 0) dropout 0.3 76.18, 0.4 75.79
# (75.79 again with a 200-epoch cap), 0.5 75.53.
_PCPP = dict(filters=32, num_blocks=2, num_stages=1, dropout=0.3)
PCPP_TRAIN = dict(lr=1e-3, batch_size=64, max_epochs=100, patience=10, ema=0.995)
# digits-17 trains longer: with a 100-epoch cap two of three seeds stopped at the cap (best epochs 94, 93)
PCPP_TRAIN_17 = dict(PCPP_TRAIN, max_epochs=200)
ROW_LSTM = dict(recurrent="row_lstm", units=48, num_layers=2, first_kernel_size=15, position_bias=True)
DIAGONAL_BILSTM = dict(recurrent="diagonal_bilstm", units=32, num_layers=1, first_kernel_size=15,
                               position_bias=True)
RNN_TRAIN = dict(lr=2e-3, weight_decay=0.1, batch_size=32, **_CAP)
# with Polyak averaging (EMA 0.995, as for PixelCNN++), uncapped: diagonal_bilstm's seed-0 validation NLL on
# digits-binary 16.52 -> 16.20, row_lstm's 16.45 -> 16.14
RNN_TRAIN_EMA = dict(RNN_TRAIN, ema=0.995, max_epochs=100, patience=10)
_RGB = dict(distribution="logistic_mixture", num_components=5, filters=48, num_blocks=3, first_kernel_size=15,
            dropout=0.2)
_RGB_TRAIN = dict(lr=2e-3, weight_decay=1e-2, batch_size=64, max_epochs=15, patience=3)

_WN_DIGITS = dict(distribution="bernoulli", residual_channels=32, dilation_channels=32, skip_channels=64,
                  num_layers_per_stack=6, num_stacks=2)
_WN_DIGITS_TRAIN = dict(lr=2e-3, weight_decay=1e-2, batch_size=32, **_CAP)

RUNS = [
    V("digits-binary", "FVSBN", dict(), dict(lr=3e-3, weight_decay=1e-2, batch_size=64)),
    V("digits-binary", "NADE", dict(hidden_units=500, activation="relu", dropout=0.5), dict(lr=2e-3, batch_size=32)),
    V("digits-binary", "MADE", dict(hidden_units=(1000,), num_masks=32, order_agnostic=True),
      dict(lr=1e-3, weight_decay=1e-3, batch_size=32)),
    V("digits-binary", "PixelCNN", dict(filters=96, num_residual_blocks=4, first_kernel_size=15, dropout=0.7,
                                        position_bias=True),
      dict(lr=2e-3, weight_decay=0.1, decay_biases=True, batch_size=32)),
    V("digits-binary", "GatedPixelCNN", GATED, GATED_TRAIN),
    V("digits-binary", "GatedPixelCNN", GATED, GATED_TRAIN, variant="GatedPixelCNN-class", condition="labels"),
    V("digits-binary", "PixelCNNPlusPlus", dict(_PCPP, distribution="bernoulli", dropout=0.4), PCPP_TRAIN),
    V("digits-binary", "PixelRNN", ROW_LSTM, RNN_TRAIN_EMA, variant="PixelRNN-row_lstm"),
    V("digits-binary", "PixelRNN", DIAGONAL_BILSTM, RNN_TRAIN_EMA, variant="PixelRNN-diagonal_bilstm"),
    V("digits-17", "FVSBN", dict(distribution="categorical"), dict(lr=3e-3, weight_decay=1e-2, batch_size=64)),
    V("digits-17", "PixelCNN", dict(distribution="logistic_mixture", num_components=5, filters=64,
                                    num_residual_blocks=3, first_kernel_size=15, dropout=0.5, position_bias=True),
      dict(lr=2e-3, weight_decay=0.1, decay_biases=True, batch_size=32)),
    V("digits-17", "GatedPixelCNN", dict(_MIX, **GATED), GATED_TRAIN),
    V("digits-17", "PixelCNNPlusPlus", dict(_PCPP, **_MIX, dropout=0.5), PCPP_TRAIN_17),
    V("digits-17", "PixelRNN", dict(_MIX, **ROW_LSTM), RNN_TRAIN, variant="PixelRNN-row_lstm"),
    V("digits-17", "PixelRNN", dict(_MIX, **DIAGONAL_BILSTM), RNN_TRAIN_EMA, variant="PixelRNN-diagonal_bilstm"),
    V("digits-superres", "GatedPixelCNN", dict(_MIX, **GATED), dict(GATED_TRAIN, condition_scale=16.0),
      variant="GatedPixelCNN-superres"),
    # WaveNet on the 64 pixels in raster order (issue 8); receptive field 128 >= 64; "coords" appends each
    # pixel's (row, column) as a local condition (the "WaveNet on MNIST" experiment)
    V("digits-binary", "WaveNet", _WN_DIGITS, _WN_DIGITS_TRAIN, flatten=True),
    V("digits-binary", "WaveNet", _WN_DIGITS, _WN_DIGITS_TRAIN, variant="WaveNet-coords", condition="coords",
      flatten=True),
    V("digits-dequantized", "RNADE", dict(num_components=10, hidden_units=100), dict(lr=1e-3, batch_size=32)),
    V("breast-cancer", "RNADE", dict(num_components=3, hidden_units=20, direct_connection=True),
      dict(lr=1e-3, weight_decay=1e-2, batch_size=32)),
    V("patches-rgb", "GatedPixelCNN", _RGB, _RGB_TRAIN),
    V("patches-colorize", "GatedPixelCNN", _RGB, dict(_RGB_TRAIN, condition_scale=255.0),
      variant="GatedPixelCNN-colorize"),
]


def machine():
    cpu = ""
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{platform.machine()} {cpu} ({os.cpu_count()} cores), Python {platform.python_version()}"


def _split(data, split, spec, scale):
    """`(x, condition or None)` of one split for a variant."""
    x = getattr(data, split)
    if spec.get("flatten"):
        x = x.reshape(len(x), -1)
    if spec["condition"] == "labels":
        return x, getattr(data, f"{split}_labels")
    if spec["condition"] == "coords":
        return x, np.broadcast_to(_coords(data.event_shape), (len(x),) + _coords(data.event_shape).shape).copy()
    if data.is_conditional:
        return x, (getattr(data, f"{split}_condition").astype(np.float32) / scale)
    return x, None


def optimizer_and_callbacks(train_kwargs):
    """AdamW of a variant's training and the callbacks that go before all others: with `ema` (Polyak
    averaging, as PixelCNN++ trains) the averaged weights are swapped in at every epoch's end, so
    validation, EarlyStopping and any later callback see (and keep) them."""
    ema = train_kwargs.get("ema")
    optimizer = keras.optimizers.AdamW(
        learning_rate=train_kwargs.get("lr", 1e-3), weight_decay=train_kwargs.get("weight_decay", 0.0),
        use_ema=bool(ema), ema_momentum=ema or 0.99,
    )
    if not train_kwargs.get("decay_biases", False):
        optimizer.exclude_from_weight_decay(var_names=["bias"])  # decay weights, not biases
    return optimizer, ([keras.callbacks.SwapEMAWeights(swap_on_epoch=True)] if ema else [])


def run(spec, max_epochs, patience, seed=0, evaluate_test=True, callbacks=()):
    """Train one variant with one seed; return its record (no test NLL when `evaluate_test=False`)."""
    protocol, model_name, model_kwargs, train_kwargs = (
        spec["protocol"], spec["model"], spec["model_kwargs"], spec["train_kwargs"]
    )
    keras.utils.set_random_seed(seed)
    data = load_protocol(protocol)
    event_shape = (int(np.prod(data.event_shape)),) if spec.get("flatten") else data.event_shape
    kwargs = dict(input_shape=event_shape, **model_kwargs)
    if data.num_levels is not None and kwargs.get("distribution", "bernoulli") != "bernoulli":
        kwargs.setdefault("num_levels", data.num_levels)
    if spec["condition"] == "labels":
        kwargs["num_classes"] = data.num_classes
    elif spec["condition"] == "coords":
        kwargs.update(condition_shape=_coords(data.event_shape).shape, local_conditioning="repeat")
    elif data.is_conditional:
        kwargs["condition_shape"] = data.condition_shape
    model = getattr(keras_ar.models, model_name)(**kwargs)
    optimizer, swap = optimizer_and_callbacks(train_kwargs)
    model.compile(optimizer=optimizer)
    bs = train_kwargs.get("batch_size", 64)
    scale = train_kwargs.get("condition_scale", 1.0)
    train = make_dataset(*_split(data, "train", spec, scale), batch_size=bs, shuffle=True, seed=seed)
    val = make_dataset(*_split(data, "validation", spec, scale), batch_size=256)
    max_epochs = min(max_epochs, train_kwargs.get("max_epochs", max_epochs))
    patience = train_kwargs.get("patience", patience)
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    t0 = time.perf_counter()
    history = model.fit(train, validation_data=val, epochs=max_epochs, callbacks=[*swap, stop, *callbacks],
                        verbose=0)
    seconds = time.perf_counter() - t0
    val_losses = history.history["val_loss"]
    restored = float(model.evaluate(val, verbose=0, return_dict=True)["loss"])
    if abs(restored - min(val_losses)) > 1e-3 * max(1.0, abs(restored)):
        raise RuntimeError(f"the restored weights score {restored} on validation, not the best {min(val_losses)}")
    best_epoch = int(np.argmin(val_losses)) + 1
    dims = int(np.prod(data.event_shape))
    record = {
        "protocol": protocol,
        "variant": spec["variant"],
        "model": model_name,
        "conditional": spec["condition"] or ("image" if data.is_conditional else None),
        "config": {**model_kwargs, **train_kwargs, "max_epochs": max_epochs, "patience": patience},
        "seed": seed,
        "epochs": len(val_losses),
        "best_epoch": best_epoch,
        "best_val_nll_nats": round(float(min(val_losses)), 4),
        "val_curve": [round(float(v), 3) for v in val_losses],
        "train_seconds": round(seconds, 1),
        "params": int(model.count_params()),
        "machine": machine(),
        "backend": keras.backend.backend(),
    }
    if evaluate_test:
        x, c = _split(data, "test", spec, scale)
        test_lp = np.concatenate([
            keras.ops.convert_to_numpy(model.log_prob(x[i : i + 500], None if c is None else c[i : i + 500]))
            for i in range(0, len(x), 500)
        ])
        nll = float(-test_lp.mean())
        record["test_nll_nats"] = round(nll, 4)
        record["bits_per_dim"] = round(nll / dims / math.log(2), 4) if data.num_levels is not None else None
    return record


TARGETS = {  # upper bounds on test NLL (nats; bits/dim for the patches protocols), from issues 2 and 7
    ("digits-binary", "FVSBN"): 18.38,
    ("digits-binary", "NADE"): 16.4,
    ("digits-binary", "MADE"): 16.6,
    ("digits-binary", "PixelCNN"): 16.5,
    ("digits-binary", "GatedPixelCNN"): 16.0,  # the best of GatedPixelCNN / PixelCNNPlusPlus
    ("digits-binary", "PixelCNNPlusPlus"): 16.0,
    ("digits-binary", "PixelRNN-row_lstm"): 16.5,
    ("digits-binary", "PixelRNN-diagonal_bilstm"): 16.5,
    ("digits-17", "PixelCNN"): 80.0,
    ("digits-17", "GatedPixelCNN"): 76.0,
    ("digits-17", "PixelCNNPlusPlus"): 76.0,
    ("digits-17", "PixelRNN-row_lstm"): 80.0,
    ("digits-17", "PixelRNN-diagonal_bilstm"): 80.0,
    ("digits-dequantized", "RNADE"): -62.86,
    ("breast-cancer", "RNADE"): 5.61,
    ("patches-rgb", "GatedPixelCNN"): 4.42,
    ("patches-rgb", "PixelCNNPlusPlus"): 4.42,
}
# Conditional variants and their unconditional twin (same config, same images): the conditional NLL
# is reported beside the twin's, and the target is to be below it.
TWINS = {
    ("digits-binary", "GatedPixelCNN-class"): ("digits-binary", "GatedPixelCNN"),
    ("digits-superres", "GatedPixelCNN-superres"): ("digits-17", "GatedPixelCNN"),
    ("patches-colorize", "GatedPixelCNN-colorize"): ("patches-rgb", "GatedPixelCNN"),
}
BITS_PROTOCOLS = ("patches-rgb", "patches-colorize")  # reported (and targeted) in bits/dim


def _metric(r):
    return r["bits_per_dim"] if r["protocol"] in BITS_PROTOCOLS else r["test_nll_nats"]


def summarise(records):
    """Mean and spread (sample std, ddof=1; 0 for one seed) per (protocol, variant)."""
    groups = {}
    for r in records:
        groups.setdefault((r["protocol"], r.get("variant", r["model"])), []).append(r)
    out = []
    for (protocol, variant), rs in groups.items():
        rs = sorted(rs, key=lambda r: r["config"].get("seed", r.get("seed", 0)))
        nll = np.array([r["test_nll_nats"] for r in rs])
        bpd = [r["bits_per_dim"] for r in rs]
        target = TARGETS.get((protocol, variant))
        metric = np.array([_metric(r) for r in rs])
        s = {
            "protocol": protocol,
            "variant": variant,
            "model": rs[0]["model"],
            "conditional": rs[0].get("conditional"),
            "seeds": [r.get("seed", r["config"].get("seed", 0)) for r in rs],
            "test_nll_nats_mean": round(float(nll.mean()), 4),
            "test_nll_nats_std": round(float(nll.std(ddof=1)) if len(rs) > 1 else 0.0, 4),
            "bits_per_dim_mean": None if bpd[0] is None else round(float(np.mean(bpd)), 4),
            "bits_per_dim_std": None if bpd[0] is None else (round(float(np.std(bpd, ddof=1)), 4) if len(rs) > 1
                                                             else 0.0),
            "best_val_nll_nats_mean": round(float(np.mean([r["best_val_nll_nats"] for r in rs])), 4),
            "params": rs[0]["params"],
            "epochs_mean": round(float(np.mean([r["epochs"] for r in rs])), 1),
            "best_epoch_mean": round(float(np.mean([r["best_epoch"] for r in rs])), 1),
            "train_seconds_mean": round(float(np.mean([r["train_seconds"] for r in rs])), 1),
            "target": target,
            "meets_target": None if target is None else bool(metric.mean() <= target),
        }
        out.append(s)
    by_key = {(s["protocol"], s["variant"]): s for s in out}
    for s in out:
        twin = by_key.get(TWINS.get((s["protocol"], s["variant"])))
        if twin is not None:
            metric = "bits_per_dim_mean" if s["protocol"] in BITS_PROTOCOLS else "test_nll_nats_mean"
            s["unconditional"] = {"protocol": twin["protocol"], "variant": twin["variant"], metric: twin[metric],
                                  "seeds": twin["seeds"]}
            s["below_unconditional"] = bool(s[metric] < twin[metric])
    return out


def _order(protocol, variant):
    keys = [(s["protocol"], s["variant"]) for s in RUNS]
    return keys.index((protocol, variant)) if (protocol, variant) in keys else len(keys)


def write_readme_table(summary, records):
    lines = [
        "| protocol | variant | params | test NLL (nats), mean ± std | bits/dim | seeds | target | best baseline "
        "| epochs (best) | train s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summary:
        many = len(s["seeds"]) > 1
        bpd = "" if s["bits_per_dim_mean"] is None else (
            f"{s['bits_per_dim_mean']:.3f}" + (f" ± {s['bits_per_dim_std']:.3f}" if many else ""))
        nll = f"{s['test_nll_nats_mean']:.2f}" + (f" ± {s['test_nll_nats_std']:.2f}" if many else "")
        target = "" if s["target"] is None else f"≤ {s['target']}" + (" ✓" if s["meets_target"] else " ✗")
        unit = " bits/dim" if s["protocol"] in BITS_PROTOCOLS else ""
        baseline = f"{BASELINES[s['protocol']]}{unit}"
        if "unconditional" in s:  # a conditional variant: its target is to beat its unconditional twin
            u = s["unconditional"]
            value = u.get("bits_per_dim_mean", u.get("test_nll_nats_mean"))
            target = f"< {value:.2f}{unit} ({u['protocol']} {u['variant']})" + (
                " ✓" if s["below_unconditional"] else " ✗")
            baseline, unit = "", ""
        lines.append(
            f"| {s['protocol']} | {s['variant']} | {s['params']:,} | {nll} | {bpd} | {len(s['seeds'])} | "
            f"{target}{unit if target else ''} | "
            f"{baseline} | {s['epochs_mean']:.0f} ({s['best_epoch_mean']:.0f}) | "
            f"{s['train_seconds_mean']:.0f} |"
        )
    machines = sorted({f"{r['machine']}, backend {r['backend']}" for r in records})
    lines.append("")
    lines.append("± the sample standard deviation over the seeds (none for one seed). Epochs (best validation "
                 "epoch) and train seconds: means per seed. Measured on: " + "; ".join(machines) + ".")
    table = "\n".join(lines)
    text = open(README).read()
    start, end = "<!-- quality:start -->", "<!-- quality:end -->"
    if start in text and end in text:
        text = text.split(start)[0] + start + "\n" + table + "\n" + end + text.split(end)[1]
        open(README, "w").write(text)


def save(record):
    """Merge one record into the results file as it is now (other runs may have written to it)."""

    def merge(data):
        records = data["records"] if isinstance(data, dict) else data  # the old format: a list of records
        key = (record["protocol"], record["variant"], record["seed"])
        records = [r for r in records if (r["protocol"], r.get("variant", r["model"]), r.get("seed", 0)) != key]
        records.append(record)
        records.sort(key=lambda r: (_order(r["protocol"], r.get("variant", r["model"])), r.get("seed", 0)))
        summary = summarise(records)
        summary.sort(key=lambda s: _order(s["protocol"], s["variant"]))
        return {"summary": summary, "records": records}

    with locked(os.path.join(os.path.dirname(RESULTS), "README.md")):  # README.md.lock beside the results
        data = update(RESULTS, merge, lambda: {"records": []})
        write_readme_table(data["summary"], data["records"])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="*", help="variant names (e.g. PixelRNN-row_lstm, GatedPixelCNN-class)")
    p.add_argument("--model", nargs="*", help="model class names")
    p.add_argument("--protocol", nargs="*", help="protocol names")
    p.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    p.add_argument("--max-epochs", type=int, default=500)
    p.add_argument("--patience", type=int, default=15)
    p.add_argument("--validation-only", action="store_true",
                   help="train and report validation NLL only (a config search); nothing is written")
    args = p.parse_args()
    smoke = args.max_epochs < 20 or args.validation_only
    for spec in RUNS:
        if args.only and spec["variant"] not in args.only:
            continue
        if args.model and spec["model"] not in args.model:
            continue
        if args.protocol and spec["protocol"] not in args.protocol:
            continue
        for seed in args.seeds:
            log = keras.callbacks.LambdaCallback(  # progress on stderr
                on_epoch_end=lambda e, logs, v=spec["variant"], s=seed: print(
                    f"{spec['protocol']} {v} seed {s} epoch {e + 1} val_nll {logs['val_loss']:.3f}",
                    file=sys.stderr, flush=True))
            rec = run(spec, args.max_epochs, args.patience, seed=seed, evaluate_test=not args.validation_only,
                      callbacks=[log])
            target = TARGETS.get((spec["protocol"], spec["variant"]))
            if target is not None and not args.validation_only:
                rec["meets_target"] = _metric(rec) <= target
            print(json.dumps(rec), flush=True)
            if not smoke:
                save(rec)


if __name__ == "__main__":
    main()
