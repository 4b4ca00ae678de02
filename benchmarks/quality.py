"""Test NLL of every model on the BENCHMARKS.md protocols, with early stopping on validation.

Writes `benchmarks/results/quality.json` (one record per protocol and model, merged with what
is there) and the table between the `quality` markers of README.md.

    python benchmarks/quality.py                       # every entry of RUNS
    python benchmarks/quality.py --only NADE MADE      # a subset, by model class name
    python benchmarks/quality.py --protocol digits-17  # a subset, by protocol
    python benchmarks/quality.py --max-epochs 3        # a smoke run (results not written)
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
from keras_ar.data import digits_dataset  # noqa: E402
from keras_ar.data import load_protocol  # noqa: E402
from keras_ar.data import make_dataset  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results", "quality.json")
README = os.path.join(os.path.dirname(HERE), "README.md")

# (protocol, model class, constructor kwargs, training kwargs). The constructor gets input_shape
# and, for discrete protocols, num_levels from the protocol.
RUNS = [
    ("digits-binary", "FVSBN", dict(), dict(lr=3e-3, weight_decay=1e-2, batch_size=64)),
    ("digits-binary", "NADE", dict(hidden_units=500, activation="relu", dropout=0.5), dict(lr=2e-3, batch_size=32)),
    ("digits-binary", "MADE", dict(hidden_units=(1000,), num_masks=32, order_agnostic=True),
     dict(lr=1e-3, weight_decay=1e-3, batch_size=32)),
    ("digits-binary", "PixelCNN", dict(filters=96, num_residual_blocks=4, first_kernel_size=15, dropout=0.7,
                                       position_bias=True),
     dict(lr=2e-3, weight_decay=0.1, decay_biases=True, batch_size=32)),
    ("digits-17", "FVSBN", dict(distribution="categorical"), dict(lr=3e-3, weight_decay=1e-2, batch_size=64)),
    ("digits-17", "PixelCNN", dict(distribution="logistic_mixture", num_components=5, filters=64,
                                   num_residual_blocks=3, first_kernel_size=15, dropout=0.5, position_bias=True),
     dict(lr=2e-3, weight_decay=0.1, decay_biases=True, batch_size=32)),
    ("digits-dequantized", "RNADE", dict(num_components=10, hidden_units=100), dict(lr=1e-3, batch_size=32)),
    ("breast-cancer", "RNADE", dict(num_components=3, hidden_units=20, direct_connection=True),
     dict(lr=1e-3, weight_decay=1e-2, batch_size=32)),
]


def machine():
    cpu = ""
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{platform.machine()} {cpu} ({os.cpu_count()} cores), Python {platform.python_version()}"


def run(protocol, model_name, model_kwargs, train_kwargs, max_epochs, patience, seed=0):
    keras.utils.set_random_seed(seed)
    data = load_protocol(protocol)
    kwargs = dict(input_shape=data.event_shape, **model_kwargs)
    if data.num_levels is not None and kwargs.get("distribution", "bernoulli") != "bernoulli":
        kwargs.setdefault("num_levels", data.num_levels)
    model = getattr(keras_ar.models, model_name)(**kwargs)
    optimizer = keras.optimizers.AdamW(
        learning_rate=train_kwargs.get("lr", 1e-3), weight_decay=train_kwargs.get("weight_decay", 0.0)
    )
    if not train_kwargs.get("decay_biases", False):
        optimizer.exclude_from_weight_decay(var_names=["bias"])  # decay weights, not biases
    model.compile(optimizer=optimizer)
    bs = train_kwargs.get("batch_size", 64)
    if data.num_levels is not None:
        train = digits_dataset(data, "train", batch_size=bs, seed=seed)
        val = digits_dataset(data, "validation", batch_size=256)
    else:
        train = make_dataset(data.train, batch_size=bs, shuffle=True, seed=seed)
        val = make_dataset(data.validation, batch_size=256)
    patience = train_kwargs.get("patience", patience)
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    t0 = time.perf_counter()
    history = model.fit(train, validation_data=val, epochs=max_epochs, callbacks=[stop], verbose=0)
    seconds = time.perf_counter() - t0
    val_losses = history.history["val_loss"]
    best_epoch = int(np.argmin(val_losses)) + 1
    test_lp = np.concatenate(
        [keras.ops.convert_to_numpy(model.log_prob(data.test[i : i + 500])) for i in range(0, len(data.test), 500)]
    )
    nll = float(-test_lp.mean())
    dims = int(np.prod(data.event_shape))
    return {
        "protocol": protocol,
        "model": model_name,
        "config": {**model_kwargs, **train_kwargs, "max_epochs": max_epochs, "patience": patience, "seed": seed},
        "epochs": len(val_losses),
        "best_epoch": best_epoch,
        "best_val_nll_nats": float(min(val_losses)),
        "test_nll_nats": round(nll, 4),
        "bits_per_dim": round(nll / dims / math.log(2), 4) if data.num_levels is not None else None,
        "train_seconds": round(seconds, 1),
        "params": int(model.count_params()),
        "machine": machine(),
        "backend": keras.backend.backend(),
    }


TARGETS = {  # from issue 2 (upper bounds on test NLL, nats)
    ("digits-binary", "FVSBN"): 18.38,
    ("digits-binary", "NADE"): 16.4,
    ("digits-binary", "MADE"): 16.6,
    ("digits-binary", "PixelCNN"): 16.5,
    ("digits-17", "PixelCNN"): 80.0,
    ("digits-dequantized", "RNADE"): -62.86,
    ("breast-cancer", "RNADE"): 5.61,
}
BASELINES = {"digits-binary": 18.08, "digits-17": 92.65, "digits-dequantized": -62.86, "breast-cancer": 5.61}


def write_readme_table(records):
    lines = [
        "| protocol | model | test NLL (nats) | bits/dim | target | best baseline | epochs | train s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        target = TARGETS.get((r["protocol"], r["model"]))
        bpd = "" if r["bits_per_dim"] is None else f"{r['bits_per_dim']:.3f}"
        lines.append(
            f"| {r['protocol']} | {r['model']} | {r['test_nll_nats']:.2f} | {bpd} | "
            f"{'' if target is None else f'≤ {target}'} | {BASELINES[r['protocol']]} | "
            f"{r['epochs']} (best {r['best_epoch']}) | {r['train_seconds']:.0f} |"
        )
    machines = sorted({f"{r['machine']}, backend {r['backend']}" for r in records})
    lines.append("")
    lines.append("Measured on: " + "; ".join(machines) + ".")
    table = "\n".join(lines)
    text = open(README).read()
    start, end = "<!-- quality:start -->", "<!-- quality:end -->"
    if start in text and end in text:
        text = text.split(start)[0] + start + "\n" + table + "\n" + end + text.split(end)[1]
        open(README, "w").write(text)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="*", help="model class names")
    p.add_argument("--protocol", nargs="*", help="protocol names")
    p.add_argument("--max-epochs", type=int, default=500)
    p.add_argument("--patience", type=int, default=15)
    args = p.parse_args()
    smoke = args.max_epochs < 20
    existing = json.load(open(RESULTS)) if os.path.exists(RESULTS) else []
    for protocol, name, mkw, tkw in RUNS:
        if (args.only and name not in args.only) or (args.protocol and protocol not in args.protocol):
            continue
        rec = run(protocol, name, mkw, tkw, args.max_epochs, args.patience)
        target = TARGETS.get((protocol, name))
        rec["meets_target"] = None if target is None else rec["test_nll_nats"] <= target
        print(json.dumps(rec), flush=True)
        if not smoke:
            existing = [r for r in existing if (r["protocol"], r["model"]) != (protocol, name)] + [rec]
            order = {(p_, n_): i for i, (p_, n_, _, _) in enumerate(RUNS)}
            existing.sort(key=lambda r: order.get((r["protocol"], r["model"]), 99))
            os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
            json.dump(existing, open(RESULTS, "w"), indent=1)
            write_readme_table(existing)


if __name__ == "__main__":
    main()
