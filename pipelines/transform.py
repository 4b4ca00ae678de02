"""The transforms of the Transform component, as plain functions: the Beam job and serving apply
the same code with the same numbers (the `TransformGraph` artifact's `transform.json`)."""

import numpy as np

OPS = ("binarize", "quantize", "standardize", "identity")


def make_spec(op, statistics, threshold=None, num_levels=None):
    """The transform as JSON: the op, its parameters (fixed from the train statistics), the shapes
    and the head a model of the output needs (`distribution`, `num_levels`)."""
    shape = statistics["shape"]
    if op == "binarize":
        t = float(threshold) if threshold is not None else (statistics["min"] + statistics["max"]) / 2.0
        return {"op": op, "threshold": t, "shape": shape, "distribution": "bernoulli", "num_levels": 2}
    if op == "quantize":
        return {
            "op": op, "low": statistics["min"], "high": statistics["max"], "num_levels": int(num_levels),
            "shape": shape, "distribution": "categorical",
        }
    if op == "standardize":
        return {
            "op": op, "mean": statistics["channel_mean"], "std": [max(s, 1e-6) for s in statistics["channel_std"]],
            "shape": shape, "distribution": "gaussian_mixture", "num_levels": None,
        }
    return {"op": "identity", "shape": shape, "distribution": None, "num_levels": None}


def apply(spec, x):
    """Apply a transform spec to one example (float32 array of `spec["shape"]`)."""
    x = np.asarray(x, "float32")
    op = spec["op"]
    if op == "binarize":
        return (x >= spec["threshold"]).astype("float32")
    if op == "quantize":
        k = spec["num_levels"]
        scaled = (x - spec["low"]) / max(spec["high"] - spec["low"], 1e-12)
        return np.clip(np.floor(scaled * k), 0, k - 1).astype("float32")
    if op == "standardize":
        return ((x - np.asarray(spec["mean"], "float32")) / np.asarray(spec["std"], "float32")).astype("float32")
    return x
