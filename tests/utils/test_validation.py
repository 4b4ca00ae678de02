"""One validation path: the masks and messages of `keras_ar.utils.validation` are what the eager
check, the `tf.data` check, the served signatures and the model's own guard all use."""

import numpy as np
import pytest
from keras import ops

from keras_ar.distributions import Categorical
from keras_ar.models import FVSBN
from keras_ar.utils import validation
from keras_ar.utils.checks import batch_where

NAN, INF = float("nan"), float("inf")
# float values of a 5-level head: good, good, good, above, below, fraction, NaN, inf
VALUES = np.array([0.0, 4.0, 2.0, 5.0, -1.0, 0.5, NAN, INF], "float32")
EXPECTED = {
    "nonfinite": [0, 0, 0, 0, 0, 0, 1, 1],
    "fraction": [0, 0, 0, 0, 0, 1, 1, 0],  # NaN is no integer; inf is, and is reported as non-finite first
    "range": [0, 0, 0, 1, 1, 0, 0, 1],
}


def _model():
    return FVSBN(input_shape=(3,), distribution="categorical", num_levels=5, num_classes=3)


def _namespaces():
    tf = pytest.importorskip("tensorflow")
    return {"numpy": (validation.NUMPY, np.asarray), "keras": (validation.KERAS, ops.convert_to_numpy),
            "tensorflow": (validation.tf_namespace(), lambda t: t.numpy()), "_tf": tf}


def test_the_masks_are_the_same_in_numpy_keras_and_tensorflow():
    spaces = _namespaces()
    tf = spaces.pop("_tf")
    for label, (xp, to_np) in spaces.items():
        x = tf.constant(VALUES) if label == "tensorflow" else (VALUES if label == "numpy" else ops.array(VALUES))
        problems = validation.support_problems(x, 5, xp)
        assert [p for p, _ in problems] == ["nonfinite", "fraction", "range"], label
        for problem, bad in problems:
            np.testing.assert_array_equal(to_np(bad), np.array(EXPECTED[problem], bool), err_msg=f"{label} {problem}")
        levels = np.array([0, 4, 5, -1], "int32")  # integers: only the range can be wrong
        x = tf.constant(levels) if label == "tensorflow" else (levels if label == "numpy" else ops.array(levels))
        problems = validation.support_problems(x, 5, xp)
        assert [p for p, _ in problems] == ["range"]
        np.testing.assert_array_equal(to_np(problems[0][1]), [False, False, True, True])
        labels = np.array([0.0, 2.0, 3.0, 1.5, NAN], "float32")
        x = tf.constant(labels) if label == "tensorflow" else (labels if label == "numpy" else ops.array(labels))
        masks = dict((p, to_np(b)) for p, b in validation.condition_problems(x, 3, xp))
        np.testing.assert_array_equal(masks["fraction"], [False, False, False, True, True])
        np.testing.assert_array_equal(masks["range"], [False, False, True, False, False])


def test_the_model_guard_uses_the_same_masks():
    head = Categorical(num_levels=5)
    params = np.zeros((len(VALUES), 5), "float32")
    log_prob = ops.convert_to_numpy(head.log_prob(params, VALUES))
    any_bad = np.any([EXPECTED[p] for p in EXPECTED], axis=0)
    np.testing.assert_array_equal(np.isnan(log_prob), any_bad)
    np.testing.assert_allclose(log_prob[~any_bad], np.log(0.2), rtol=1e-5)


def test_eager_and_streamed_input_raise_the_heads_message(monkeypatch):
    """The head's `value_message` is the only text: replaced, every path says the replacement."""
    tf = pytest.importorskip("tensorflow")

    def message(self, problem, name="x", value="{}", where=""):
        return f"SHARED {type(self).__name__}[{problem}] `{name}` got {value}{where}."

    monkeypatch.setattr(Categorical, "value_message", message)
    model = _model()
    labels = np.zeros(8, "int32")
    for value, problem in [(7, "range"), (0.5, "fraction"), (NAN, "nonfinite")]:
        x = np.zeros((8, 3), "float32" if isinstance(value, float) else "int32")
        x[5, 1] = value  # the 2nd batch of 4
        shown = "0.5" if value == 0.5 else ("nan" if problem == "nonfinite" else "7")
        with pytest.raises(ValueError) as eager:
            model.log_prob(x, condition=labels)
        assert str(eager.value) == f"SHARED Categorical[{problem}] `x` got {shown}."
        ds = tf.data.Dataset.from_tensor_slices((x, labels)).batch(4)
        with pytest.raises(ValueError) as streamed:
            model.fit(ds, epochs=1, verbose=0)
        assert str(streamed.value) == f"SHARED Categorical[{problem}] `x` got {shown}{batch_where('x', 1)}."
        batches = ((x[i : i + 4], labels[i : i + 4]) for i in (0, 4))
        with pytest.raises(ValueError) as generated:
            model.fit(batches, epochs=1, verbose=0)
        assert str(generated.value) == str(streamed.value)
    # a condition: one message function for the eager and the streamed label
    bad = labels.copy()
    bad[6] = 3
    with pytest.raises(ValueError) as eager:
        model.log_prob(np.zeros((8, 3), "int32"), condition=bad)
    assert str(eager.value) == validation.condition_message("range", 3, value=3)
    with pytest.raises(ValueError) as streamed:
        model.fit(tf.data.Dataset.from_tensor_slices((np.zeros((8, 3), "int32"), bad)).batch(4), epochs=1, verbose=0)
    assert str(streamed.value) == validation.condition_message("range", 3, value=3, where=batch_where("x", 1))


@pytest.mark.tf_only
@pytest.mark.slow
def test_served_signatures_raise_the_eager_message(tmp_path):
    """A bad value given to the served `log_prob` fails with the very text the eager check raises."""
    import tensorflow as tf

    from keras_ar.export import export_archive

    model = _model()
    serve = tf.saved_model.load(export_archive(model, tmp_path / "m")).signatures["log_prob"]
    labels = np.zeros(2, "int32")
    good = np.zeros((2, 3), "int32")
    cases = [
        (np.array([[0, 7, 0], [0, 0, 0]]), labels),  # range
        (np.array([[0, 0.5, 0], [0, 0, 0]]), labels),  # fraction
        (np.array([[0, NAN, 0], [0, 0, 0]]), labels),  # nonfinite
        (good, np.array([0, 3])),  # a label out of range
    ]
    for x, c in cases:
        eager_x = x.astype("int32") if np.all(np.isfinite(x) & (x == np.round(x))) else x.astype("float32")
        with pytest.raises(ValueError) as eager:
            model.log_prob(eager_x, condition=c)
        with pytest.raises(tf.errors.InvalidArgumentError) as served:
            serve(x=tf.constant(x, tf.float32), condition=tf.constant(c, tf.int32))
        assert str(eager.value) in _unescaped(served.value)
    # the shape: the same message, the received shape as TensorFlow prints it
    with pytest.raises(ValueError, match=r"^`x` must have shape \(batch, 3\)\. Received: x\.shape=\(2, 4\)\.$"):
        model.log_prob(np.zeros((2, 4), "int32"), condition=labels)
    with pytest.raises(tf.errors.InvalidArgumentError) as served:
        serve(x=tf.zeros((2, 4)), condition=tf.constant(labels))
    assert "`x` must have shape (batch, 3). Received: x.shape=[2 4]." in _unescaped(served.value)


def _unescaped(error):
    """The text of a TensorFlow error as written (TF escapes the quotes of an assertion's message)."""
    return str(error).replace("\\'", "'").replace('\\"', '"')
