"""The contract shared by every model, exercised through FVSBN (the smallest model)."""

import math

import numpy as np
import pytest

from keras_ar.models import FVSBN
from tests import helpers


def _data(n=48, d=4, seed=0):
    return np.random.default_rng(seed).integers(0, 2, size=(n, d)).astype("int32")


def test_log_prob_is_sum_of_conditionals_and_loss_is_nats_per_example():
    model = FVSBN(input_shape=(4,))
    helpers.randomize_weights(model)
    x = _data()
    lp = helpers.to_np(model.log_prob(x))
    clp = helpers.to_np(model.conditional_log_probs(x))
    assert lp.shape == (48,) and clp.shape == (48, 4)
    np.testing.assert_allclose(lp, clp.sum(-1), rtol=1e-6)
    res = model.evaluate(x, batch_size=48, verbose=0, return_dict=True)
    np.testing.assert_allclose(res["loss"], -lp.mean(), rtol=1e-5)
    np.testing.assert_allclose(res["bits_per_dim"], -lp.mean() / (4 * math.log(2)), rtol=1e-5)


def test_fit_accepts_tuples_dicts_and_arrays_with_conditions():
    tf = pytest.importorskip("tensorflow")

    x, c = _data(), np.arange(48) % 3
    model = FVSBN(input_shape=(4,), num_classes=3)
    for data in (
        tf.data.Dataset.from_tensor_slices((x, c)).batch(16),
        tf.data.Dataset.from_tensor_slices({"x": x, "condition": c}).batch(16),
    ):
        history = model.fit(data, epochs=1, verbose=0, validation_data=data)
        assert np.isfinite(history.history["val_loss"][0])
    model.fit(x, c, epochs=1, batch_size=16, verbose=0, validation_data=(x, c))
    model.fit({"x": x, "condition": c}, epochs=1, batch_size=16, verbose=0)


def test_empty_and_bad_datasets_raise_value_error():
    tf = pytest.importorskip("tensorflow")

    model = FVSBN(input_shape=(4,))
    with pytest.raises(ValueError, match="empty"):
        model.fit(tf.data.Dataset.from_tensor_slices(np.zeros((0, 4), "int32")).batch(4))
    with pytest.raises(ValueError, match="empty"):
        model.fit(tf.data.Dataset.from_tensor_slices(np.zeros((8, 4), "int32")).filter(lambda x: False).batch(4))
    with pytest.raises(ValueError, match="0..1"):
        model.fit(tf.data.Dataset.from_tensor_slices(np.full((8, 4), 3)).batch(4))
    with pytest.raises(ValueError, match="shape"):
        model.fit(tf.data.Dataset.from_tensor_slices(np.zeros((8, 5), "int32")).batch(4))


def test_input_checks_name_what_was_expected_and_received():
    model = FVSBN(input_shape=(4,), num_classes=3)
    x = _data(4)
    cases = [
        (dict(x=np.zeros((4, 5)), condition=np.zeros(4, int)), r"shape \(batch, 4\).*\(4, 5\)"),
        (dict(x=x, condition=np.array([0, 1, 2, 3])), "labels must lie in 0..2"),
        (dict(x=x, condition=np.zeros((4, 2), int)), "condition"),
        (dict(x=x, condition=None), "conditional"),
        (dict(x=np.array(["a"] * 16).reshape(4, 4), condition=np.zeros(4, int)), "dtype"),
        (dict(x=np.full((4, 4), np.inf), condition=np.zeros(4, int)), "NaN or inf"),
    ]
    for kwargs, pattern in cases:
        with pytest.raises(ValueError, match=pattern):
            model.log_prob(**kwargs)
    with pytest.raises(ValueError, match="takes no `condition`"):
        FVSBN(input_shape=(4,)).log_prob(x, condition=np.zeros(4, int))
    with pytest.raises(ValueError, match="float"):
        FVSBN(input_shape=(2,), distribution="gaussian_mixture").log_prob(np.zeros((2, 2), "int32"))
    with pytest.raises(ValueError, match="input_shape"):
        FVSBN(input_shape=(0,))
    with pytest.raises(ValueError, match="loss"):
        FVSBN(input_shape=(2,)).compile(loss="mse")


def test_sample_arguments_are_checked():
    model = FVSBN(input_shape=(4,))
    for kwargs, pattern in [
        (dict(num_samples=0), "num_samples"),
        (dict(num_samples=2, temperature=0.0), "temperature"),
        (dict(num_samples=2, known=np.zeros(4)), "both"),
        (dict(num_samples=2, known=np.zeros(3), known_mask=np.ones(3, bool)), "shape"),
        (dict(num_samples=2, known=np.full(4, 5), known_mask=np.ones(4, bool)), "known"),
        (dict(num_samples=2, condition=np.zeros(2)), "takes no"),
    ]:
        with pytest.raises(ValueError, match=pattern):
            model.sample(**kwargs)


def test_completion_keeps_known_values_and_is_reproducible():
    model = FVSBN(input_shape=(6,))
    helpers.randomize_weights(model, scale=2.0)
    known = np.array([1, 0, 1, 0, 1, 0])
    mask = np.array([True, True, True, False, False, False])
    a = helpers.to_np(model.sample(50, known=known, known_mask=mask, seed=4))
    b = helpers.to_np(model.sample(50, known=known, known_mask=mask, seed=4))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a[:, :3], np.broadcast_to(known[:3], (50, 3)))
    assert len(np.unique(a[:, 3:], axis=0)) > 1
    assert a.dtype == np.int32


def test_temperature_sharpens():
    model = FVSBN(input_shape=(3,))
    model.regression.bias.assign(np.array([1.0, -1.0, 0.5], "float32"))
    cold = helpers.to_np(model.sample(4000, seed=0, temperature=0.3))
    hot = helpers.to_np(model.sample(4000, seed=0, temperature=1.0))
    assert abs(cold.mean(0) - [1, 0, 1]).max() < abs(hot.mean(0) - [1, 0, 1]).max()


def test_conditional_normalised_and_samples_follow_the_condition():
    model = FVSBN(input_shape=(4,), num_classes=2)
    helpers.randomize_weights(model, scale=1.5)
    for c in (0, 1):
        helpers.assert_normalized(model, condition=c)
        helpers.assert_sample_frequencies(model, condition=c, num_samples=20000)


def test_validation_data_and_predict_keep_the_condition():
    x, c = _data(), np.arange(48) % 3
    model = FVSBN(input_shape=(4,), num_classes=3)
    for val in ({"x": x, "condition": c}, [x, c], (x, c)):
        history = model.fit((x, c), epochs=1, batch_size=16, verbose=0, validation_data=val)
        assert np.isfinite(history.history["val_loss"][0])
    params = model.predict((x, c), batch_size=16, verbose=0)
    np.testing.assert_allclose(params, helpers.to_np(model(x, condition=c)), atol=1e-6)


def _batches(x, size=16):
    return [x[i : i + size] for i in range(0, len(x), size)]


def _third_batch_bad(value=2, dtype="int32"):
    x = _data(48).astype(dtype)
    x[40, 1] = value  # in the 3rd batch of 16
    return x


def test_a_bad_value_in_any_dataset_batch_raises_naming_value_batch_and_fix():
    tf = pytest.importorskip("tensorflow")

    model = FVSBN(input_shape=(4,))
    ds = tf.data.Dataset.from_tensor_slices(_third_batch_bad()).batch(16)
    with pytest.raises(ValueError, match=r"Received a value of 2 in batch 3 .*binarize") as info:
        model.fit(ds, epochs=1, verbose=0)
    assert "<keras_ar>" not in str(info.value) and "\\" not in str(info.value)
    with pytest.raises(ValueError, match="in batch 3"):
        model.evaluate(ds, verbose=0)
    good = tf.data.Dataset.from_tensor_slices(_data(48)).batch(16)
    with pytest.raises(ValueError, match="batch 3 .* of `validation_data`"):
        model.fit(good, epochs=1, verbose=0, validation_data=ds)
    assert np.isfinite(model.evaluate(good, verbose=0)[0])  # the model is still whole (JAX detaches weights)
    # NaN in a later batch of a real-valued model; a label out of range in a conditional one
    real = FVSBN(input_shape=(4,), distribution="gaussian_mixture")
    x = np.random.default_rng(0).normal(size=(48, 4)).astype("float32")
    x[20, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or inf.* in batch 2"):
        real.fit(tf.data.Dataset.from_tensor_slices(x).batch(16), epochs=1, verbose=0)
    labels = np.arange(48) % 3
    labels[47] = 7
    conditional = FVSBN(input_shape=(4,), num_classes=3)
    with pytest.raises(ValueError, match="labels must lie in 0..2. Received a label of 7 in batch 3"):
        conditional.fit(tf.data.Dataset.from_tensor_slices((_data(48), labels)).batch(16), epochs=1, verbose=0)


def test_value_errors_name_the_fix():
    bernoulli = FVSBN(input_shape=(4,))
    with pytest.raises(ValueError, match=r"Received a value of 255\..*binarize\(x, threshold=128\)"):
        bernoulli.fit(np.full((4, 4), 255, np.uint8), verbose=0)
    with pytest.raises(ValueError, match=r"non-integer.*binarize\(x, threshold=0.5\)"):
        bernoulli.log_prob(np.full((4, 4), 0.25))
    categorical = FVSBN(input_shape=(4,), distribution="categorical", num_levels=17)
    with pytest.raises(ValueError, match=r"non-integer.*quantize\(x, num_levels=17, max_value=1.0\)"):
        categorical.log_prob(np.full((4, 4), 0.5, "float32"))
    with pytest.raises(ValueError, match=r"0..16.*Received a value of 255.*`num_levels=`.*quantize"):
        categorical.log_prob(np.full((4, 4), 255, np.uint8))
    with pytest.raises(ValueError, match="dequantize"):
        FVSBN(input_shape=(4,), distribution="gaussian_mixture").log_prob(np.zeros((2, 4), "int32"))


def test_generators_and_py_datasets_are_checked_on_every_batch():
    import keras

    x, c = _data(48), np.arange(48) % 3
    model = FVSBN(input_shape=(4,), num_classes=3)

    def pairs():
        yield from zip(_batches(x), _batches(c))

    def dicts():
        for xb, cb in zip(_batches(x), _batches(c)):
            yield {"x": xb, "condition": cb}

    for gen in (pairs(), dicts()):
        history = model.fit(gen, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])
    assert np.isfinite(model.evaluate(pairs(), verbose=0)[0])
    assert model.predict(pairs(), verbose=0).shape == (48, 4, 1)

    class Batches(keras.utils.PyDataset):
        def __init__(self, x, c=None, **kwargs):
            super().__init__(**kwargs)
            self.x, self.c = x, c

        def __len__(self):
            return 3

        def __getitem__(self, i):
            xb = self.x[16 * i : 16 * (i + 1)]
            return xb if self.c is None else (xb, self.c[16 * i : 16 * (i + 1)])

    history = model.fit(Batches(x, c), epochs=2, verbose=0, validation_data=Batches(x, c))
    assert np.isfinite(history.history["val_loss"][-1])
    plain = FVSBN(input_shape=(4,))
    assert np.isfinite(plain.fit(Batches(x), epochs=1, verbose=0).history["loss"][0])
    plain.fit((b for b in _batches(x)), epochs=1, verbose=0)  # a generator of plain arrays

    bad = _third_batch_bad()
    with pytest.raises(ValueError, match=r"Received a value of 2 in batch 3 \(counting from 1\) of `x`"):
        plain.fit((b for b in _batches(bad)), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"Received a value of 2 in `x\[2\]`"):
        plain.fit(Batches(bad), epochs=1, verbose=0, shuffle=False)
    with pytest.raises(ValueError, match="in batch 1 .*binarize"):  # the first batch fails before training
        plain.fit((b for b in [np.full((2, 4), 9)]), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="empty generator"):
        plain.fit((b for b in []), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="pass no `y`"):
        plain.fit((b for b in _batches(x)), c)


def test_unbatched_datasets_are_batched_with_a_warning():
    tf = pytest.importorskip("tensorflow")

    model = FVSBN(input_shape=(4,))
    ds = tf.data.Dataset.from_tensor_slices(_data(48))
    with pytest.warns(UserWarning, match=r"single examples.*`x.batch\(16\)`"):
        history = model.fit(ds, epochs=1, verbose=0, batch_size=16)
    assert np.isfinite(history.history["loss"][0])
    with pytest.warns(UserWarning, match=r"x.batch\(32\)"):
        model.evaluate(ds, verbose=0)
    bad = tf.data.Dataset.from_tensor_slices(_third_batch_bad())
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="Received a value of 2 in batch 3"):
        model.fit(bad, epochs=1, verbose=0, batch_size=16)
    # an array with no batch axis says so
    with pytest.raises(ValueError, match="without a batch axis"):
        model.log_prob(np.zeros(4, "int32"))


def test_condition_and_compile_arguments_are_checked():
    with pytest.raises(ValueError, match="takes no `condition`"):
        FVSBN(input_shape=(4,))(np.zeros((2, 4), "float32"), condition=np.zeros(2))
    with pytest.raises(ValueError, match="condition_shape"):
        FVSBN(input_shape=(4,), condition_shape=(0,))
    with pytest.raises(ValueError, match="num_classes"):
        FVSBN(input_shape=(4,), num_classes=1.5)
    with pytest.raises(ValueError, match="metrics"):
        FVSBN(input_shape=(4,)).compile(metrics=["accuracy"])


def test_numpy_scalars_accepted_and_sampler_cache_does_not_keep_models_alive():
    import gc
    import weakref

    model = FVSBN(input_shape=(4,))
    model.sample(np.int64(2), seed=np.int64(1), temperature=np.float32(0.5))
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None
