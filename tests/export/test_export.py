"""keras_ar.export: serving layout, atomic versions, and served numbers equal to the model's.

The served checks load the SavedModel in a subprocess that cannot import keras or keras_ar
(`serve_check.py`), run every call of a plan there at once and hand back the outputs and
error messages, which are compared here with the Keras model's own numbers.
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_ar.export import export_archive
from keras_ar.export import export_saved_model
from keras_ar.export import saved_model as saved_model_module
from keras_ar.models import MADE
from keras_ar.models import PixelCNN
from keras_ar.models import PixelCNNAutoEncoder
from keras_ar.models import TransformerAR
from keras_ar.models import WaveNet
from tests import helpers

SMALL = dict(filters=6, num_residual_blocks=1, first_kernel_size=3)
SERVE_CHECK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "serve_check.py")
SIGNATURES = ["complete", "conditional_log_probs", "log_prob", "sample", "serve", "serving_default"]
MODELS = {
    "binary": lambda: PixelCNN(input_shape=(3, 3, 1), **SMALL),
    "labels": lambda: PixelCNN(input_shape=(3, 3, 1), num_classes=3, **SMALL),
    "vector": lambda: PixelCNN(input_shape=(2, 2, 1), condition_shape=(2,), condition_scale=2.0, **SMALL),
    "rgb": lambda: PixelCNN(  # PixelCNN++'s coupled head: whole pixels
        input_shape=(2, 2, 3), distribution="logistic_mixture", num_levels=5, num_components=2, **SMALL
    ),
    "real": lambda: PixelCNN(input_shape=(2, 2, 1), distribution="gaussian_mixture", num_components=2, **SMALL),
    "made": lambda: MADE(input_shape=(5,), distribution="categorical", num_levels=3, hidden_units=[8]),
}


def _model(key):
    model = MODELS[key]()
    helpers.randomize_weights(model, seed=1)  # samples that depend on the weights, not all zeros
    return model


def _tiny():
    return PixelCNN(input_shape=(2, 2, 1), filters=2, num_residual_blocks=0, first_kernel_size=3)


# ---------------------------------------------------------------------- layout and versions
@pytest.mark.tf_only
def test_versions_layout_and_archive(tmp_path, monkeypatch):
    model = _tiny()
    root = tmp_path / "saved_models" / "tiny"
    first = export_saved_model(model, root)
    assert first == str(root / "1")
    assert {"saved_model.pb", "variables"} <= set(os.listdir(first))
    assert export_saved_model(model, root) == str(root / "2")
    assert sorted(os.listdir(root)) == ["1", "2"]  # no temporary directory left behind

    # Versions count from the largest integer directory; other names are not versions.
    os.makedirs(root / "10")
    os.makedirs(root / "latest")
    (root / "11").write_text("a file, not a version")
    calls = []

    def write(model, path, use_cache):  # the real export is tested above; here only the numbering
        calls.append(path)
        os.makedirs(os.path.join(path, "variables"))

    with monkeypatch.context() as patch:
        patch.setattr(saved_model_module, "_write", write)
        assert export_saved_model(model, root) == str(root / "12")
    assert os.path.basename(calls[0]).startswith(".tmp-12-")

    # export_archive writes exactly at its path, with the same signatures (and Keras' `serve`);
    # Keras' own `model.export(path)` writes the same archive.
    import tensorflow as tf

    x = np.array([[[[0], [1]], [[1], [1]]]], "float32")
    path = export_archive(model, tmp_path / "archive")
    assert path == str(tmp_path / "archive") and "saved_model.pb" in os.listdir(path)
    assert model.export(str(tmp_path / "keras_export"), verbose=False) == str(tmp_path / "keras_export")
    for path in (path, str(tmp_path / "keras_export")):
        loaded = tf.saved_model.load(path)
        assert sorted(loaded.signatures) == SIGNATURES
        np.testing.assert_allclose(loaded.serve(x)["log_prob"].numpy(), helpers.to_np(model.log_prob(x)), atol=1e-5)


@pytest.mark.tf_only
def test_failed_export_leaves_no_version(tmp_path, monkeypatch):
    import tensorflow as tf

    model = _tiny()
    root = tmp_path / "tiny"
    export_saved_model(model, root)
    real_save = tf.saved_model.save

    def save_then_fail(obj, export_dir, *args, **kwargs):  # fails after writing every file
        real_save(obj, export_dir, *args, **kwargs)
        assert os.listdir(export_dir)
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(tf.saved_model, "save", save_then_fail)
    with pytest.raises(OSError, match="simulated"):
        export_saved_model(model, root)
    assert os.listdir(root) == ["1"]  # neither a version 2 nor a temporary directory


def test_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="AutoregressiveModel"):
        export_saved_model(keras.Sequential([keras.layers.Dense(1)]), tmp_path / "m")
    version = tmp_path / "m" / "1"
    version.mkdir(parents=True)
    (version / "saved_model.pb").write_bytes(b"")
    with pytest.raises(ValueError, match="model's directory"):
        export_saved_model(_tiny(), version)


# ---------------------------------------------------------------------- served numbers
class _Plan:
    """Calls to run in the TF-only process, with what each must give (an array or an error)."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.models, self.arrays, self.calls = {}, {}, []
        self.expected, self.errors = {}, {}
        self.samples = {}  # name -> the model's own samples, whether or not they are asserted

    def call(self, name, model, signature, output=None, expect=None, exact=False, error=None, **inputs):
        """`exact`: equal to the last bit (sampled levels); else within 1e-5."""
        keys = {}
        for arg, value in inputs.items():
            keys[arg] = f"{name}__{arg}"
            self.arrays[keys[arg]] = value
        self.calls.append(dict(name=name, model=model, signature=signature, inputs=keys, output=output))
        if expect is not None:
            self.expected[name] = (np.asarray(expect), exact)
        if error is not None:
            self.errors[name] = error

    def run(self):
        inputs = str(self.tmp_path / "inputs.npz")
        np.savez(inputs, **self.arrays)
        plan_file, out_file = str(self.tmp_path / "plan.json"), str(self.tmp_path / "out.npz")
        with open(plan_file, "w") as f:
            json.dump(dict(models=self.models, inputs=inputs, calls=self.calls), f)
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="-1")
        proc = subprocess.run(
            [sys.executable, SERVE_CHECK, plan_file, out_file],
            capture_output=True, text=True, env=env, cwd=str(self.tmp_path),
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        report = json.loads(proc.stdout.strip().splitlines()[-1])
        return dict(np.load(out_file)), report

    def check(self, results, report):
        assert report["blocked"] == ["keras", "keras_ar", "tf_keras", "tensorflow_probability"]
        for key in self.models:
            assert report["signatures"][key] == SIGNATURES
        for name, (expect, exact) in self.expected.items():
            assert name not in report["errors"], f"{name}: {report['errors'].get(name)}"
            got = results[name]
            assert got.shape == expect.shape, (name, got.shape, expect.shape)
            assert got.dtype == expect.dtype, (name, got.dtype, expect.dtype)
            if exact:
                np.testing.assert_array_equal(got, expect, err_msg=name)
            else:
                np.testing.assert_allclose(got, expect, atol=1e-5, rtol=1e-5, err_msg=name)
        for name, pattern in self.errors.items():
            assert name in report["errors"], f"{name} was accepted; it must fail with {pattern!r}"
            assert pattern in report["errors"][name], f"{name}: {report['errors'][name]}"


def _values(model, rng, n):
    if model.head.is_discrete:
        return rng.integers(0, model.head.num_levels, size=(n,) + model.event_shape).astype("float32")
    return rng.normal(size=(n,) + model.event_shape).astype("float32")


def _conditions(model, rng, n):
    if model.num_classes:
        return rng.integers(0, model.num_classes, size=(n,)).astype("int32")
    if model.condition_shape:
        return rng.normal(size=(n,) + model.condition_shape).astype("float32")
    return None


def _mask(model, rng, n):
    shape = (n,) + model.event_shape
    if model.head.event_size > 1:  # whole pixels
        return np.repeat(rng.random(shape[:-1] + (1,)) < 0.5, model.head.event_size, axis=-1)
    return rng.random(shape) < 0.5


def _plan_model(plan, key, model, strict=True):
    """Every signature of `model` against the model, plus bad inputs; `strict=False`: likelihoods only."""
    rng = np.random.default_rng(sum(map(ord, key)))
    i32, f32 = np.int32, np.float32
    with_c = {}
    x, c = _values(model, rng, 4), _conditions(model, rng, 4)
    if c is not None:
        with_c = dict(condition=c)
    lp = helpers.to_np(model.log_prob(x, condition=c))
    bits = (-lp / (model.num_dims * np.log(2.0))).astype("float32")
    plan.call(f"{key}.log_prob", key, "log_prob", "log_prob", lp, x=x, **with_c)
    plan.call(f"{key}.bits", key, "log_prob", "bits_per_dim", bits, x=x, **with_c)
    plan.call(f"{key}.default", key, "serving_default", "log_prob", lp, x=x, **with_c)
    clp = helpers.to_np(model.conditional_log_probs(x, condition=c))
    plan.call(f"{key}.clp", key, "conditional_log_probs", "conditional_log_probs", clp, x=x, **with_c)

    # sampled levels are equal to the last bit; real values within float rounding (the served graph
    # has a dynamic batch size, so TensorFlow may pick other kernels than for model.sample's shapes)
    exact = model.head.is_discrete
    n, c3 = 3, _conditions(model, rng, 3)
    sample_c = {} if c3 is None else dict(condition=c3)
    args = dict(num_samples=i32(n), seed=i32(7), temperature=f32(1.0))
    expect = helpers.to_np(model.sample(n, condition=c3, seed=7))
    plan.call(f"{key}.sample", key, "sample", "samples", expect if strict else None, exact, **args, **sample_c)
    plan.samples[f"{key}.sample"] = expect
    if not strict:
        return
    # the largest int32 seed wraps to 0, as model.sample maps an int seed s to s % (2**31 - 1)
    expect = helpers.to_np(model.sample(n, condition=c3, seed=2**31 - 1, temperature=0.7))
    plan.call(
        f"{key}.sample_wrap", key, "sample", "samples", expect, exact,
        num_samples=i32(n), seed=i32(2**31 - 1), temperature=f32(0.7), **sample_c,
    )
    if c3 is not None:  # one condition, repeated
        expect = helpers.to_np(model.sample(n, condition=c3[0], seed=7))
        plan.call(f"{key}.sample_one_condition", key, "sample", "samples", expect, exact, **args,
                  condition=c3[:1])
    fresh = dict(num_samples=i32(4), seed=i32(-1), temperature=f32(1.0), **({} if c3 is None else
                                                                             dict(condition=c3[:1])))
    plan.call(f"{key}.fresh1", key, "sample", "samples", **fresh)
    plan.call(f"{key}.fresh2", key, "sample", "samples", **fresh)

    known, mask = _values(model, rng, n), _mask(model, rng, n)
    expect = helpers.to_np(model.sample(n, condition=c3, known=known, known_mask=mask, seed=11))
    completion = dict(known_mask=mask.astype("float32"), seed=i32(11), temperature=f32(1.0), **sample_c)
    plan.call(f"{key}.complete", key, "complete", "samples", expect, exact, known=known, **completion)
    # values where known_mask is 0 are never read: not even NaN there matters
    plan.call(f"{key}.complete_nan", key, "complete", "samples", expect, exact,
              known=np.where(mask, known, np.nan).astype("float32"), **completion)

    # bad inputs: an error naming the input, never a NaN
    plan.call(f"{key}.bad_nan", key, "log_prob", error="`x` contains NaN or inf", x=np.full_like(x, np.nan),
              **with_c)
    plan.call(f"{key}.bad_rank", key, "log_prob", error="`x` must have shape (batch, ", x=x[..., 0], **with_c)
    plan.call(f"{key}.bad_n", key, "sample", error="`num_samples` must be an int >= 1",
              **dict(args, num_samples=i32(0)), **sample_c)
    for t in (0.0, -1.0, np.nan):
        plan.call(f"{key}.bad_t{t}", key, "sample", error="`temperature` must be a finite float > 0",
                  **dict(args, temperature=f32(t)), **sample_c)
    plan.call(f"{key}.bad_shapes", key, "complete", error="`known` and `known_mask` must have the same shape",
              known=known, **dict(completion, known_mask=completion["known_mask"][:2]))
    plan.call(f"{key}.bad_mask", key, "complete", error="`known_mask` must hold 0.0 (sample) or 1.0 (keep)",
              known=known, **dict(completion, known_mask=np.full_like(known, 0.5)))
    if model.head.is_discrete:
        top = model.head.num_levels - 1
        plan.call(f"{key}.bad_level", key, "log_prob", error=f"`x` values must lie in 0..{top}",
                  x=np.full_like(x, top + 1), **with_c)
        plan.call(f"{key}.bad_int", key, "log_prob", error=f"`x` must hold integer levels 0..{top}",
                  x=np.full_like(x, 0.5), **with_c)
        plan.call(f"{key}.bad_known", key, "complete", error=f"`known` values must lie in 0..{top}",
                  known=np.full_like(known, -1.0), **dict(completion, known_mask=np.ones_like(known)))
    if model.head.event_size > 1:
        part = np.zeros_like(known)
        part[..., 0] = 1.0
        plan.call(f"{key}.bad_pixel", key, "complete", error="`known_mask` must keep or drop whole pixels",
                  known=known, **dict(completion, known_mask=part))
    if model.num_classes:
        plan.call(f"{key}.bad_label", key, "log_prob", error=f"labels must lie in 0..{model.num_classes - 1}",
                  x=x, condition=np.full_like(c, model.num_classes))
        plan.call(f"{key}.bad_batch", key, "log_prob", error="`condition` must hold one condition per example",
                  x=x, condition=c[:2])
        plan.call(f"{key}.bad_sample_batch", key, "sample", error="one condition per example",
                  **args, condition=c[:2])
    if model.condition_shape:
        plan.call(f"{key}.bad_vector", key, "sample", error="`condition` contains NaN or inf",
                  **args, condition=np.full_like(c3, np.nan))


def _served_round_trip(keys, tmp_path):
    plan = _Plan(tmp_path)
    for key in keys:
        model = _model(key)
        plan.models[key] = export_saved_model(model, tmp_path / key)
        _plan_model(plan, key, model)
    results, report = plan.run()
    plan.check(results, report)
    for key in keys:
        assert not np.array_equal(results[f"{key}.fresh1"], results[f"{key}.fresh2"]), "seed -1 repeated itself"
    return results, report


@pytest.mark.tf_only
def test_served_equals_model_without_keras(tmp_path):
    _served_round_trip(["binary"], tmp_path)


@pytest.mark.tf_only
@pytest.mark.slow
def test_served_equals_model_without_keras_conditional_and_coupled(tmp_path):
    _served_round_trip(["labels", "vector", "rgb", "real", "made"], tmp_path)


@pytest.mark.tf_only
@pytest.mark.slow
def test_saved_model_cli_lists_signatures(tmp_path):
    path = export_saved_model(_model("labels"), tmp_path / "labels")
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="-1")
    out = subprocess.run([cli, "show", "--all", "--dir", path], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    for name in SIGNATURES:
        assert f"signature_def['{name}']" in out.stdout
    for tensor in ("inputs['known_mask']", "inputs['num_samples']", "inputs['condition']",
                   "outputs['bits_per_dim']", "outputs['samples']"):
        assert tensor in out.stdout


@pytest.mark.tf_only
@pytest.mark.slow
def test_autoencoder_serves_encode_and_decode_without_keras(tmp_path):
    """An autoencoder has no prior: its export has `encode` and `decode` instead of `sample` and
    `complete`; served codes, reconstruction likelihoods and decoded images equal the model's."""
    model = PixelCNNAutoEncoder(input_shape=(3, 3, 1), code_size=2, encoder_filters=(2,), filters=4, num_blocks=1,
                                first_kernel_size=3)
    helpers.randomize_weights(model, seed=1)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, size=(3, 3, 3, 1)).astype("float32")
    code = rng.normal(size=(3, 2)).astype("float32")
    plan = _Plan(tmp_path)
    plan.models["ae"] = export_saved_model(model, tmp_path / "ae")
    plan.call("lp", "ae", "log_prob", "log_prob", expect=helpers.to_np(model.log_prob(x)), x=x)
    plan.call("enc", "ae", "encode", "code", expect=helpers.to_np(model.encode(x)), x=x)
    plan.call("dec", "ae", "decode", "samples", expect=helpers.to_np(model.decode(code, seed=5)), exact=True,
              code=code, seed=np.int32(5), temperature=np.float32(1.0))
    plan.call("bad", "ae", "encode", "code", error="values must lie in 0..1", x=x + 2)
    results, report = plan.run()
    assert report["signatures"]["ae"] == ["conditional_log_probs", "decode", "encode", "log_prob", "serve",
                                          "serving_default"]
    plan.models = {}  # the signature list is checked above
    plan.check(results, report)


# ---------------------------------------------------------------------- streaming (sequence models)
STREAM_CHECK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stream_check.py")
WAVENET = dict(residual_channels=4, dilation_channels=4, skip_channels=4, num_layers_per_stack=2, num_stacks=1)
STREAMED = {
    "labels": lambda: WaveNet(input_shape=(4,), num_levels=5, num_classes=3, **WAVENET),
    "local": lambda: WaveNet(input_shape=(4, 2), distribution="gaussian_mixture", num_components=2,
                             condition_shape=(2, 3), condition_scale=4.0, local_conditioning="transposed_conv",
                             **WAVENET),  # the frames are divided by 4 in the served step too
    "transformer": lambda: TransformerAR(input_shape=(4,), num_levels=5, num_classes=3, hidden_dim=8, num_layers=1,
                                         num_heads=2, intermediate_dim=8, position_embedding="sinusoidal",
                                         max_length=12),  # a key/value cache of 12 steps: three calls
}


@pytest.mark.skipif(keras.backend.backend() == "torch", reason="torch's twin draws TensorFlow's numbers for a seed")
@pytest.mark.parametrize("key", ["labels", pytest.param("local", marks=pytest.mark.slow),
                                 pytest.param("transformer", marks=pytest.mark.slow)])
def test_streamed_generation_equals_model_without_keras(key, tmp_path):
    """`generate_init`, then `generate_step` three times feeding the state back (4 steps per call, the
    input length): the 12 steps are `model.sample(n, num_steps=12, seed=s)` (and `model.generate`)."""
    model = STREAMED[key]()
    helpers.randomize_weights(model, seed=1)
    path = export_saved_model(model, tmp_path / key)
    rng, n, calls = np.random.default_rng(0), 2, 3
    inputs = dict(num_samples=np.int32(n), seed=np.int32(7), num_calls=np.int32(calls), temperature=np.float32(0.8))
    cond = None
    if model.num_classes:
        cond = inputs["condition"] = np.array([2, 0], "int32")
    hop = getattr(model, "hop", None)
    if hop:
        cond = inputs["frames"] = rng.normal(size=(n, calls * 2, 3)).astype("float32")
    np.savez(tmp_path / "in.npz", **inputs)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="-1")
    proc = subprocess.run(
        [sys.executable, STREAM_CHECK, path, str(tmp_path / "in.npz"), str(tmp_path / "out.npz")],
        capture_output=True, text=True, env=env, cwd=str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["blocked"] == ["keras", "keras_ar", "tf_keras", "tensorflow_probability"]
    assert {"x_prev", "index", "seed", "temperature"} <= set(report["step_inputs"])
    assert ("condition" in report["step_inputs"]) == bool(hop)
    assert ("condition" in report["init_inputs"]) == bool(model.num_classes)
    served = np.load(tmp_path / "out.npz")["samples"]
    expected = helpers.to_np(model.sample(n, condition=cond, num_steps=12, seed=7, temperature=0.8))
    assert served.dtype == expected.dtype and served.shape == expected.shape
    if model.head.is_discrete:
        np.testing.assert_array_equal(served, expected)
    else:
        np.testing.assert_allclose(served, expected, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------- other backends
@pytest.mark.tf_only
@pytest.mark.slow
def test_twin_process_exports_and_reports_errors(tmp_path):
    """The path torch takes, run from TensorFlow: save, export in a subprocess, load."""
    import tensorflow as tf

    from keras_ar.export import _twin

    model = _model("labels")
    path = str(tmp_path / "twin")
    _twin.export_in_twin(model, path, use_cache=True)
    loaded = tf.saved_model.load(path)
    x = _values(model, np.random.default_rng(0), 4)
    c = np.array([0, 1, 2, 0], "int32")
    np.testing.assert_allclose(
        loaded.log_prob(x=x, condition=c)["log_prob"].numpy(), helpers.to_np(model.log_prob(x, condition=c)),
        atol=1e-5,
    )
    s = loaded.sample(num_samples=3, seed=5, temperature=1.0, condition=c[:3])["samples"].numpy()
    np.testing.assert_array_equal(s, helpers.to_np(model.sample(3, condition=c[:3], seed=5)))

    (tmp_path / "a_file").write_text("")
    with pytest.raises(RuntimeError, match="TensorFlow twin process"):
        _twin.export_in_twin(model, str(tmp_path / "a_file" / "x"), use_cache=True)


def test_export_on_every_backend(tmp_path):
    """Fast, on every backend: TensorFlow traces in process, JAX converts in process with jax2tf
    (served samples are `model.sample`'s: the JAX random numbers travel in the SavedModel), torch
    exports through its TensorFlow twin (log-likelihoods are the model's; a seed draws TensorFlow's
    numbers there, so samples are not compared)."""
    plan = _Plan(tmp_path)
    model = _model("labels")
    root = tmp_path / "labels"
    plan.models["labels"] = export_saved_model(model, root)
    assert sorted(os.listdir(root)) == ["1"]
    _plan_model(plan, "labels", model, strict=keras.backend.backend() != "torch")
    results, report = plan.run()
    plan.check(results, report)


def test_twin_refuses_main_classes_and_times_out(tmp_path, monkeypatch):
    """The twin path (torch's): a class from `__main__` gets a clear error before any process runs,
    and a twin that runs past its timeout is stopped with an error that says so."""
    from keras_ar.export import _twin

    class Local(PixelCNN):
        pass

    Local.__module__ = "__main__"
    model = Local(input_shape=(2, 2, 1), filters=2, num_residual_blocks=0, first_kernel_size=3)
    with pytest.raises(ValueError, match="defined in `__main__`"):
        _twin.export_in_twin(model, str(tmp_path / "m"))
    with pytest.raises(RuntimeError, match="did not finish in 0.01 s"):
        _twin.export_in_twin(_tiny(), str(tmp_path / "m"), timeout=0.01)


@pytest.mark.tf_only
def test_stream_state_names_are_stable(tmp_path):
    """The streamed cache's tensors are `cache_0` ... `cache_{k-1}` whatever the layers are called."""
    import tensorflow as tf

    model = STREAMED["labels"]()
    path = export_archive(model, tmp_path / "w")
    step = tf.saved_model.load(path).signatures["generate_step"]
    names = sorted(step.structured_input_signature[1])
    cache = [n for n in names if n.startswith("cache_")]
    assert cache == sorted(f"cache_{i}" for i in range(len(cache))) and cache
    assert set(names) - set(cache) == {"x_prev", "index", "seed", "temperature"}
    assert not any("conv" in n for n in names)
