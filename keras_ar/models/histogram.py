"""Histogram: one probability per configuration of a small discrete event space."""

import keras
import numpy as np
from keras import ops

from keras_ar.distributions import Bernoulli
from keras_ar.distributions import Categorical
from keras_ar.models.autoregressive_model import AutoregressiveModel
from keras_ar.utils.checks import check_condition
from keras_ar.utils.checks import check_event
from keras_ar.utils.checks import unpack_inputs
from keras_ar.utils.random import fold_seed
from keras_ar.utils.random import resolve_seed

MAX_ENTRIES = 2**20


@keras.saving.register_keras_serializable(package="keras_ar")
class Histogram(AutoregressiveModel):
    """The counting baseline: a table of log-probabilities over all `L**D` configurations.

    One weight `logits` of shape `[num_classes or 1, L**D]` (zeros: the uniform
    distribution) gives log p(x) = log_softmax(logits)[index(x)], where `index` reads the
    flattened event as base-`L` digits, the first dimension most significant. The
    teacher-forced pass turns the joint into per-dimension heads in left-to-right order:
    the categorical logits of dimension i are the marginals log p(x_<i, x_i = v) (a
    log-sum-exp over the later dimensions), so the head's softmax is p(x_i | x_<i); the
    Bernoulli logit is log p(x_<i, 1) - log p(x_<i, 0). The base class's likelihoods,
    sampler, completion and TFP view therefore work unchanged.

    `count(x)` sets the table to the smoothed counting estimate log(counts + pseudocount)
    in one pass; `fit` also works (gradient descent on the logits). `sample_inverse_cdf`
    draws whole configurations from the joint in one step.

    Args:
        input_shape: tuple of ints. The event shape; `L**D <= 2**20` configurations.
        distribution: `"bernoulli"` (default, L = 2) or `"categorical"` (L = `num_levels`).
        num_levels: int. Levels of a categorical head.
        pseudocount: float > 0. Added to every count by `count` (Laplace smoothing).
        **kwargs: `num_classes` (one table per class) and `name`, as in
            `AutoregressiveModel`. `condition_shape` is not supported.

    Example:

    >>> model = Histogram(input_shape=(2,))
    >>> counts = model.count(np.array([[0, 0], [0, 1], [0, 1], [1, 1]]))
    >>> np.round(np.exp(keras.ops.convert_to_numpy(model.log_prob(np.array([[0, 1]])))), 4)
    array([0.375], dtype=float32)

    Reference:
        Laplace, "Essai philosophique sur les probabilités", 1814 (add-one smoothing);
        the histogram baseline of Uria et al., "Neural Autoregressive Distribution
        Estimation", JMLR 2016.
    """

    def __init__(self, input_shape, distribution="bernoulli", num_levels=None, pseudocount=1.0, **kwargs):
        if kwargs.get("condition_shape") is not None:
            raise ValueError(
                "Histogram keeps one table per class and cannot condition on vectors: use `num_classes`. "
                f"Received: condition_shape={kwargs['condition_shape']}"
            )
        if isinstance(pseudocount, bool) or not isinstance(pseudocount, (int, float)) or not pseudocount > 0:
            raise ValueError(f"`pseudocount` must be a float > 0. Received: pseudocount={pseudocount!r}")
        super().__init__(input_shape, distribution=distribution, num_levels=num_levels, **kwargs)
        if not isinstance(self.head, (Bernoulli, Categorical)):
            raise ValueError(
                f"Histogram needs a `bernoulli` or `categorical` head. Received: distribution={distribution!r}"
            )
        levels = self.head.num_levels
        size = levels**self.num_dims
        if size > MAX_ENTRIES:
            raise ValueError(
                f"Histogram's table would have num_levels**num_dims = {levels}**{self.num_dims} = {size} "
                f"entries; at most 2**20 = {MAX_ENTRIES} are supported. "
                f"Received: input_shape={self.event_shape}, num_levels={levels}"
            )
        # === Table (the weight `logits` is made in `build`) ===
        self.table_size = size
        self.num_tables = self.num_classes or 1
        self.logits = None
        # === Config ===
        self.pseudocount = float(pseudocount)
        self.build()

    def build(self, input_shape=None):
        if self.logits is None:
            self.logits = self.add_weight(
                shape=(self.num_tables, self.table_size), initializer="zeros", name="logits"
            )
        super().build(input_shape)

    def compute_params(self, x, condition=None, training=False):
        levels, dims = self.head.num_levels, self.num_dims
        x = ops.cast(ops.reshape(x, (-1, dims)), "int32")
        # marginals[i][t * L**i + prefix, v] = log p(x_<i = prefix, x_i = v | class t)
        marginals = [None] * dims
        marginal = ops.log_softmax(self.logits, axis=-1)  # [tables, L**D]: log p(x | t)
        for i in reversed(range(dims)):
            marginal = ops.reshape(marginal, (self.num_tables * levels**i, levels))
            marginals[i] = marginal
            marginal = ops.logsumexp(marginal, axis=-1)  # sum out x_i
        if condition is None:
            row = ops.zeros_like(x[:, 0])
        else:
            row = ops.cast(ops.argmax(condition, axis=-1), "int32")  # one-hot class -> table
        params = []
        for i in range(dims):
            joint = ops.take(marginals[i], row, axis=0)  # [batch, L]
            if self.head.num_params == 1:  # Bernoulli: log p(x_<i, 1) - log p(x_<i, 0)
                joint = joint[:, 1:] - joint[:, :1]
            params.append(joint)
            row = row * levels + x[:, i]
        params = ops.stack(params, axis=1)
        return ops.reshape(params, (-1,) + self.event_shape + (self.head.num_params,))

    def count(self, x, condition=None):
        """Set the table to the counting estimate log(counts + pseudocount), per class.

        Args:
            x: array `[batch, *input_shape]` of levels, a tuple `(x, labels)`, a dict with
                keys `"x"` and `"condition"`, or a `tf.data.Dataset` of such batches.
            condition: int array `[batch]` of class labels, when `x` is an array.

        Returns:
            The counts as a NumPy int64 array `[num_classes or 1, L**D]`.
        """
        if hasattr(x, "as_numpy_iterator"):
            if condition is not None:
                raise ValueError("With a dataset, pass no `condition`: yield (x, labels) batches instead.")
            batches = (unpack_inputs(element, None) for element in x.as_numpy_iterator())
        else:
            batches = [unpack_inputs(x, condition)]
        levels = self.head.num_levels
        digits = levels ** np.arange(self.num_dims - 1, -1, -1, dtype="int64")
        counts = np.zeros(self.num_tables * self.table_size, "int64")
        total = 0
        for xb, cb in batches:
            values = check_event(xb, self.event_shape, self.head)
            labels = check_condition(cb, self.num_classes, self.condition_shape, len(values))
            index = values.reshape(len(values), self.num_dims).astype("int64") @ digits
            if labels is not None:
                index = index + labels.astype("int64") * self.table_size
            counts += np.bincount(index, minlength=counts.size)
            total += len(values)
        if total == 0:
            raise ValueError("`x` holds no example: nothing to count. Received: 0 examples")
        counts = counts.reshape(self.num_tables, self.table_size)
        self.logits.assign(np.log(counts + self.pseudocount).astype("float32"))
        return counts

    def sample_inverse_cdf(self, num_samples, condition=None, seed=None):
        """Draw whole configurations from the joint table in one step, by inverse CDF.

        It draws differently from `sample`: the same seed gives other samples. The CDF is a
        float32 cumulative sum, so on tables near 2^20 entries the probability of a very rare
        configuration (~1e-6) is resolved only to a few percent; `sample` has no such limit.
        Returns int32 `[num_samples, *input_shape]`.
        """
        if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples < 1:
            raise ValueError(f"`num_samples` must be a positive int. Received: num_samples={num_samples!r}")
        n = int(num_samples)
        seed = resolve_seed(seed)
        cond = self.generation_condition(condition, n)
        row = ops.zeros((n,), "int32") if cond is None else ops.cast(ops.argmax(cond, axis=-1), "int32")
        u = keras.random.uniform((n,), seed=fold_seed(seed, 0))
        index = ops.zeros((n,), "int32")
        for t in range(self.num_tables):  # one sorted CDF per table; searchsorted needs 1-D
            cdf = ops.cumsum(ops.softmax(self.logits[t]))
            cdf = cdf / cdf[-1]
            # the number of CDF entries below u
            found = ops.cast(ops.searchsorted(cdf, u, side="left"), "int32")
            index = ops.where(ops.equal(row, t), found, index)
        index = ops.minimum(index, self.table_size - 1)
        levels = self.head.num_levels
        digits = [(index // levels ** (self.num_dims - 1 - i)) % levels for i in range(self.num_dims)]
        return ops.reshape(ops.stack(digits, axis=1), (n,) + self.event_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"pseudocount": self.pseudocount})
        return config

