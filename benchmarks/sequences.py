"""Test NLL of the sequence models on the sequence protocols, with early stopping on validation.

Protocols (`protocols.py`, data from `keras_ar.datasets`, defined in the README): `co2` and `sunspots` (the `timeseries` protocol,
nats per value, beside statsmodels' AutoReg fitted on the same split), `text` (bits per character)
and `speech` (bits per sample). Every variant is trained once per seed; after every epoch the
validation split is scored in full, the weights of the best validation epoch are restored
(patience as given; the `-long` budgets also halve the learning rate after every epoch without a new
best) and the test split is scored with them. Nothing is chosen by the test split.

Scoring: every value of a split is scored exactly once (for `speech` validation, every value of a
fixed quarter of the windows: every 4th), given up to `context` values before it
(`keras_ar.data.scoring_windows`, from earlier splits too); for `speech` each utterance from its
first sample, with silence before it. The metric is `-sum(mask * conditional_log_probs) / sum(mask)`.

Writes `benchmarks/results/sequences.json` (records per protocol, variant and seed, and a summary:
mean and spread over seeds), merged with what is there, and the table between the `sequences`
markers of README.md.

    python benchmarks/sequences.py                         # every variant, seeds 0 1 2 (speech, text: 0)
    python benchmarks/sequences.py --protocol sunspots     # a subset, by protocol
    python benchmarks/sequences.py --only WaveNet-speaker  # a subset, by variant name
    python benchmarks/sequences.py --max-epochs 1 --steps-per-epoch 2 --dry   # a smoke run (nothing written)
    python benchmarks/sequences.py --only WaveNet-speaker --threads 1 --save-dir /tmp/models  # keep the model
"""

import argparse
import json
import math
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
import keras_ar  # noqa: E402
from keras_ar import data as kd  # noqa: E402
import protocols as bp  # noqa: E402  (benchmarks/protocols.py)
from _results import locked  # noqa: E402
from _results import update  # noqa: E402
from quality import machine  # noqa: E402

RESULTS = os.path.join(HERE, "results", "sequences.json")


def V(protocol, model, model_kwargs, train_kwargs, variant=None, condition=None, seeds=(0, 1, 2)):
    """One variant; `condition`: None, "speaker" (global) or "mel" (local log-mel frames and speaker)."""
    return dict(protocol=protocol, model=model, variant=variant or model, model_kwargs=model_kwargs,
                train_kwargs=train_kwargs, condition=condition, seeds=tuple(seeds))


# Time series: windows of `length` (stride 1) for training, scoring with `context` values before
# each segment of `length - context`. Gaussian-mixture heads on the standardised values.
_TS = dict(distribution="gaussian_mixture", num_components=3)
_TS_TRAIN = dict(lr=1e-3, weight_decay=1e-4, batch_size=32, max_epochs=200, patience=15)
_WN_TS = dict(residual_channels=32, dilation_channels=32, skip_channels=64, num_layers_per_stack=5, num_stacks=1)
# Text: windows of 128 characters, categorical over the vocabulary.
_TEXT_TRAIN = dict(lr=2e-3, weight_decay=1e-4, batch_size=32, max_epochs=8, patience=2, length=128, context=0)
# and a longer budget (both were still improving at 8 epochs): up to 30, halving the step on a plateau
_TEXT_LONG = dict(_TEXT_TRAIN, max_epochs=30, patience=3, plateau_factor=0.5)
# Speech: segments after a context of 512 samples (the WaveNets' receptive field, 513); 8 mel frames of
# 256 samples per 2048-sample element. Capped (this CPU): 150 steps of 8 elements per epoch.
_WN_SPEECH = dict(residual_channels=32, dilation_channels=32, skip_channels=64, num_layers_per_stack=9, num_stacks=1)
_SPEECH_TRAIN = dict(lr=2e-3, batch_size=8, steps_per_epoch=150, max_epochs=8, patience=2, context=512,
                     segment=1536, hop=256, n_mels=20)
# The longer budget for the conditioning comparison: up to 20 epochs, the learning rate halved after every
# epoch that does not improve on the best validation NLL, stopped after 3 of them in a row.
_SPEECH_LONG = dict(_SPEECH_TRAIN, max_epochs=20, patience=3, plateau_factor=0.5)

RUNS = []
for _name, _length, _context in (("sunspots", 24, 12), ("co2", 64, 32)):
    _tr = dict(_TS_TRAIN, length=_length, context=_context)
    RUNS += [
        V(_name, "FiniteMemoryAR", dict(order=8, hidden_units=(64, 64), **_TS), _tr),
        V(_name, "FiniteMemoryAR", dict(order=8, hidden_units=(64, 64), direct_connection=True, **_TS), _tr,
          variant="FiniteMemoryAR-direct"),
        V(_name, "RecurrentAR", dict(cell="gru", units=64, num_layers=1, **_TS), _tr),
        V(_name, "WaveNet", dict(**_WN_TS, **_TS), _tr),
        V(_name, "TransformerAR", dict(hidden_dim=32, num_layers=2, num_heads=2, intermediate_dim=64,
                                       position_embedding="sinusoidal", **_TS), _tr),
    ]
# co2 as scaled weekly differences (`difference_timeseries`: a change of variables, the NLL stays in nats per
# value of the standardised series): the test years lie above every train value, where the networks on the
# levels extrapolate badly. Windows of 128 weeks scored after 64 of context, so a year (52 weeks) is in view.
_DIFF = dict(_TS_TRAIN, length=128, context=64, difference=True)
RUNS += [
    V("co2", "FiniteMemoryAR", dict(order=56, hidden_units=(64, 64), direct_connection=True, **_TS), _DIFF,
      variant="FiniteMemoryAR-diff"),
    V("co2", "RecurrentAR", dict(cell="gru", units=64, num_layers=1, **_TS), _DIFF, variant="RecurrentAR-diff"),
    V("co2", "WaveNet", dict(_WN_TS, num_layers_per_stack=6, **_TS), _DIFF, variant="WaveNet-diff"),
    V("co2", "TransformerAR", dict(hidden_dim=32, num_layers=2, num_heads=2, intermediate_dim=64,
                                   position_embedding="sinusoidal", **_TS), _DIFF, variant="TransformerAR-diff"),
]
RUNS += [
    V("text", "RecurrentAR", dict(cell="lstm", units=256, num_layers=1), _TEXT_TRAIN, seeds=(0,)),
    V("text", "TransformerAR", dict(hidden_dim=128, num_layers=3, num_heads=4, intermediate_dim=256, dropout=0.1),
      _TEXT_TRAIN, seeds=(0,)),
    V("text", "RecurrentAR", dict(cell="lstm", units=256, num_layers=1), _TEXT_LONG, variant="RecurrentAR-long",
      seeds=(0,)),
    V("text", "TransformerAR", dict(hidden_dim=128, num_layers=3, num_heads=4, intermediate_dim=256, dropout=0.1),
      _TEXT_LONG, variant="TransformerAR-long", seeds=(0,)),
    V("speech", "WaveNet", _WN_SPEECH, _SPEECH_TRAIN, seeds=(0,)),
    V("speech", "WaveNet", dict(distribution="logistic_mixture", num_components=5, **_WN_SPEECH), _SPEECH_TRAIN,
      variant="WaveNet-logistic", seeds=(0,)),
    V("speech", "WaveNet", _WN_SPEECH, _SPEECH_TRAIN, variant="WaveNet-speaker", condition="speaker", seeds=(0,)),
    V("speech", "WaveNet", _WN_SPEECH, _SPEECH_TRAIN, variant="WaveNet-mel", condition="mel", seeds=(0,)),
    # the log-mel frames (log(max(mel, 1e-5)): -11.5 to about 4, mean -5.6) divided by 4 inside the model
    V("speech", "WaveNet", dict(_WN_SPEECH, condition_scale=4.0), _SPEECH_TRAIN, variant="WaveNet-mel-scaled",
      condition="mel", seeds=(0,)),
    V("speech", "RecurrentAR", dict(cell="gru", units=128, num_layers=1), _SPEECH_TRAIN, seeds=(0,)),
    # the same three at the longer budget: none, the speaker (global), log-mel frames and the speaker (local)
    V("speech", "WaveNet", _WN_SPEECH, _SPEECH_LONG, variant="WaveNet-long", seeds=(0,)),
    V("speech", "WaveNet", _WN_SPEECH, _SPEECH_LONG, variant="WaveNet-speaker-long", condition="speaker",
      seeds=(0,)),
    V("speech", "WaveNet", dict(_WN_SPEECH, condition_scale=4.0), _SPEECH_LONG, variant="WaveNet-mel-scaled-long",
      condition="mel", seeds=(0,)),
    # attention over 2,048 positions costs ~7 s per step of 8 here: windows of 768 (512 of context, then 256
    # scored), 16 per step
    V("speech", "TransformerAR", dict(hidden_dim=64, num_layers=2, num_heads=4, intermediate_dim=128,
                                      position_embedding="sinusoidal"),
      dict(_SPEECH_TRAIN, segment=256, batch_size=16), seeds=(0,)),
    # the logistic mixture diverged at 2e-3 (validation rising after epoch 3): half the step, the longer budget
    V("speech", "WaveNet", dict(distribution="logistic_mixture", num_components=5, **_WN_SPEECH),
      dict(_SPEECH_LONG, lr=1e-3), variant="WaveNet-logistic-long", seeds=(0,)),
]
SEQUENCE_PROTOCOLS = ("sunspots", "co2", "text", "speech")


# ---------------------------------------------------------------------- data per protocol
class Task:
    """Training data, scoring windows, the model's input shape and condition, per protocol."""

    def __init__(self, spec, seed):
        self.spec, self.seed = spec, seed
        self.protocol, tk = spec["protocol"], spec["train_kwargs"]
        if self.protocol in ("co2", "sunspots"):
            self.data = bp.load_timeseries(self.protocol)
            if tk.get("difference"):  # model the scaled differences; `unit` adds the Jacobian term back
                self.data = bp.difference_timeseries(self.data)
            self.length = tk["length"]
        elif self.protocol == "text":
            self.data = bp.load_text()
            self.length = tk["length"]
        else:
            self.data = bp.load_speech()
            self.length = tk["context"] + tk["segment"]

    def model_kwargs(self):
        kwargs = dict(input_shape=(self.length,), **self.spec["model_kwargs"])
        if self.data.num_levels is not None:
            kwargs.setdefault("num_levels", self.data.num_levels)
        if self.spec["condition"] == "speaker":
            kwargs["num_classes"] = self.data.num_classes
        elif self.spec["condition"] == "mel":
            tk = self.spec["train_kwargs"]
            kwargs.update(condition_shape=(self.length // tk["hop"], tk["n_mels"] + self.data.num_classes),
                          local_conditioning="repeat")
        return kwargs

    def train_dataset(self):
        tk = self.spec["train_kwargs"]
        if self.protocol == "speech":
            mel = self.spec["condition"] == "mel"
            return kd.speech_dataset(
                "train", tk["segment"], tk["batch_size"], receptive_field=tk["context"],
                hop_length=tk["hop"] if mel else None, n_mels=tk["n_mels"] if mel else None,
                speaker=self.spec["condition"] is not None, seed=self.seed, data=self.data,
            )
        if self.protocol == "text":
            x = bp.text_windows(self.data, "train", self.length, stride=self.length)
        else:
            x = bp.timeseries_windows(self.data, "train", self.length, stride=1)
        return kd.make_dataset(x, batch_size=tk["batch_size"], shuffle=True, seed=self.seed)

    def scoring(self, split):
        """`(windows, mask, condition or None)` that score every value of `split` once."""
        tk = self.spec["train_kwargs"]
        if self.protocol == "text":
            return (*bp.text_scoring_windows(self.data, split, self.length - tk["context"], tk["context"]), None)
        if self.protocol != "speech":
            return (*bp.timeseries_scoring_windows(self.data, split, self.length - tk["context"], tk["context"]),
                    None)
        context, segment, hop = tk["context"], tk["segment"], tk["hop"]
        silence = kd.silence_code()
        windows, masks, conds = [], [], []
        for codes, label in zip(self.data.split(split), getattr(self.data, f"{split}_labels")):
            w, m = kd.scoring_windows(codes.astype(np.int32), segment, context, start=0, pad_value=silence)
            windows.append(w)
            masks.append(m)
            if self.spec["condition"] == "speaker":
                conds.append(np.full(len(w), label, np.int32))
            elif self.spec["condition"] == "mel":  # frames of the utterance padded as the windows are
                values = kd.mu_law_decode(codes)
                padded = np.concatenate([np.zeros(context, np.float32), values,
                                         np.zeros(len(w) * segment - len(codes), np.float32)])
                mel = kd.log_mel_frames(padded, 16000, hop, tk["n_mels"])
                frames = self.length // hop
                per = np.stack([mel[k * segment // hop : k * segment // hop + frames] for k in range(len(w))])
                speaker = np.broadcast_to(np.eye(self.data.num_classes, dtype=np.float32)[label],
                                          per.shape[:2] + (self.data.num_classes,))
                conds.append(np.concatenate([per, speaker], -1))
        cond = np.concatenate(conds) if conds else None
        return np.concatenate(windows), np.concatenate(masks), cond

    def unit(self, nats_per_value):
        """The protocol's metric from nats per value."""
        if self.protocol in ("text", "speech"):
            return nats_per_value / math.log(2)
        return nats_per_value + self.data.info.get("nll_offset", 0.0)


def score(model, windows, mask, cond, batch=64):
    total = 0.0
    for i in range(0, len(windows), batch):
        c = None if cond is None else cond[i : i + batch]
        lp = keras.ops.convert_to_numpy(model.conditional_log_probs(windows[i : i + batch], condition=c))
        total += float((lp.reshape(mask[i : i + batch].shape) * mask[i : i + batch]).sum())
    return -total / float(mask.sum())


def run(spec, seed, max_epochs=None, steps_per_epoch=None, save_dir=None):
    keras.utils.set_random_seed(seed)
    task = Task(spec, seed)
    tk = dict(spec["train_kwargs"])
    if steps_per_epoch:
        tk["steps_per_epoch"] = steps_per_epoch
    model = getattr(keras_ar.models, spec["model"])(**task.model_kwargs())
    optimizer = keras.optimizers.AdamW(learning_rate=tk.get("lr", 1e-3), weight_decay=tk.get("weight_decay", 0.0))
    optimizer.exclude_from_weight_decay(var_names=["bias"])
    model.compile(optimizer=optimizer)
    train = task.train_dataset()
    val, test = task.scoring("validation"), task.scoring("test")
    if task.protocol == "speech":  # validation on a fixed quarter of its windows (every 4th): this CPU
        val = tuple(None if v is None else v[::4] for v in val)
    epochs = min(max_epochs or tk["max_epochs"], tk["max_epochs"])
    curve, best, best_weights, waited, t0 = [], math.inf, None, 0, time.perf_counter()
    fit_kwargs = dict(steps_per_epoch=tk["steps_per_epoch"]) if "steps_per_epoch" in tk else {}
    for epoch in range(epochs):
        model.fit(train, epochs=1, verbose=0, **fit_kwargs)
        v = score(model, *val)
        curve.append(round(task.unit(v), 4))
        print(f"  {spec['variant']} seed {seed} epoch {epoch + 1}: validation {curve[-1]}", file=sys.stderr,
              flush=True)
        if v < best:
            best, best_weights, waited = v, model.get_weights(), 0
        else:
            waited += 1
            if tk.get("plateau_factor"):  # a plateau: a smaller step from here on
                lr = model.optimizer.learning_rate
                lr.assign(float(keras.ops.convert_to_numpy(lr)) * tk["plateau_factor"])
            if waited >= tk["patience"]:
                break
    seconds = time.perf_counter() - t0
    model.set_weights(best_weights)
    test_nll = score(model, *test)
    if save_dir:  # the best validation epoch's model, e.g. for `speech_voices.py`
        os.makedirs(save_dir, exist_ok=True)
        model.save(os.path.join(save_dir, f"{spec['protocol']}-{spec['variant']}-seed{seed}.keras"))
    return {
        "protocol": spec["protocol"], "variant": spec["variant"], "model": spec["model"],
        "conditional": spec["condition"], "config": {**spec["model_kwargs"], **tk, "max_epochs": epochs},
        "seed": seed, "epochs": len(curve), "best_epoch": int(np.argmin(curve)) + 1, "val_curve": curve,
        "best_validation": round(task.unit(best), 4), "test": round(task.unit(test_nll), 4),
        "metric": task.data.metric, "train_seconds": round(seconds, 1), "params": int(model.count_params()),
        "machine": machine(), "backend": keras.backend.backend(),
    }


def anchors():
    """statsmodels' AutoReg on each series (order chosen on validation), nats per value."""
    out = {}
    for name in ("sunspots", "co2"):
        out[name] = bp.autoreg_baseline(name)
    out["co2-diff"] = bp.autoreg_baseline(bp.difference_timeseries("co2"))  # AR of the differences, for "-diff"
    return out


def summarise(records):
    groups = {}
    for r in records:
        groups.setdefault((r["protocol"], r["variant"]), []).append(r)
    summary = []
    for (protocol, variant), rs in sorted(groups.items()):
        tests = np.array([r["test"] for r in rs])
        summary.append({
            "protocol": protocol, "variant": variant, "metric": rs[0]["metric"], "seeds": [r["seed"] for r in rs],
            "test_mean": round(float(tests.mean()), 4),
            "test_std": round(float(tests.std(ddof=1)), 4) if len(tests) > 1 else None,
            "params": rs[0]["params"], "backend": rs[0]["backend"],
        })
    return summary


README = os.path.join(os.path.dirname(HERE), "README.md")


def write_readme_table(results):
    """The table between the `sequences` markers of README.md: summary rows beside the AutoReg anchor."""
    anchors = results.get("anchors", {})
    lines = ["| protocol | variant | params | test, mean ± std | unit | seeds | classical anchor (AutoReg) |",
             "|---|---|---|---|---|---|---|"]
    for s in results.get("summary", []):
        value = f"{s['test_mean']:.3f}" + (f" ± {s['test_std']:.3f}" if s["test_std"] is not None else "")
        anchor = ""
        keys = [s["protocol"]] + ([s["protocol"] + "-diff"] if s["variant"].endswith("-diff") else [])
        cells = []
        for key in (k for k in keys if k in anchors):
            a = anchors[key]
            cells.append(("differences: " if key.endswith("-diff") else "") + f"{a['test_nll']:.3f} (order "
                         f"{a['order']})" + (" ✓ beaten" if s["test_mean"] < a["test_nll"] else " ✗ not beaten"))
        anchor = "; ".join(cells)
        lines.append(f"| {s['protocol']} | {s['variant']} | {s['params']:,} | {value} | {s['metric']} | "
                     f"{len(s['seeds'])} | {anchor} |")
    lines += ["", f"Measured on: {results.get('machine', '')}, backend {keras.backend.backend()}."]
    text = open(README).read()
    start, end = "<!-- sequences:start -->", "<!-- sequences:end -->"
    if start in text and end in text:
        text = text.split(start)[0] + start + "\n" + "\n".join(lines) + "\n" + end + text.split(end)[1]
        with open(README, "w") as f:
            f.write(text)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--protocol", nargs="*", default=list(SEQUENCE_PROTOCOLS))
    p.add_argument("--only", nargs="*", default=None, help="variant names")
    p.add_argument("--seeds", type=int, nargs="*", default=None, help="override the variants' seeds")
    p.add_argument("--max-epochs", type=int, default=None)
    p.add_argument("--steps-per-epoch", type=int, default=None, help="override (speech), for smoke runs")
    p.add_argument("--dry", action="store_true", help="write nothing")
    p.add_argument("--save-dir", default=None, help="save each trained model (best validation epoch) here")
    p.add_argument("--threads", type=int, default=None, help="TensorFlow intra-op threads (runs side by side)")
    a = p.parse_args()
    if a.threads and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(a.threads)
        tf.config.threading.set_inter_op_parallelism_threads(a.threads)
    fresh = lambda: {"records": [], "anchors": {}}  # noqa: E731
    if any(spec["protocol"] in ("sunspots", "co2") and spec["protocol"] in a.protocol
           and (not a.only or spec["variant"] in a.only) for spec in RUNS):
        anchors_now = anchors()
        print(json.dumps({"anchors": anchors_now}), flush=True)
        if not a.dry:
            update(RESULTS, lambda results: {**results, "anchors": anchors_now}, fresh)
    for spec in RUNS:
        if spec["protocol"] not in a.protocol or (a.only and spec["variant"] not in a.only):
            continue
        for seed in a.seeds if a.seeds is not None else spec["seeds"]:
            record = run(spec, seed, a.max_epochs, a.steps_per_epoch, a.save_dir)
            print(json.dumps({k: record[k] for k in ("protocol", "variant", "seed", "test", "best_validation",
                                                     "best_epoch", "epochs", "train_seconds", "params")}),
                  flush=True)
            if a.dry:
                continue
            key = (record["protocol"], record["variant"], record["seed"])

            def merge(results, record=record, key=key):  # the file as it is now: other runs may have written
                results["records"] = [r for r in results["records"]
                                      if (r["protocol"], r["variant"], r["seed"]) != key] + [record]
                results["summary"] = summarise(results["records"])
                results["machine"] = machine()
                return results

            with locked(os.path.join(os.path.dirname(RESULTS), "README.md")):  # README.md.lock beside the results
                write_readme_table(update(RESULTS, merge, fresh))

if __name__ == "__main__":
    main()
