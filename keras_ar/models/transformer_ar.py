"""TransformerAR: a causal self-attention decoder over a sequence, with a key/value cache for sampling."""

import math
import numbers

import keras
import numpy as np
from keras import ops

from keras_ar.models._sequence import SequenceModel
from keras_ar.utils.checks import check_int

_POSITIONS = ("learned", "sinusoidal")
_MASKED = -1e9  # the score of a position a query may not see: exp(-1e9 - max) is exactly 0 in float32


@keras.saving.register_keras_serializable(package="keras_ar")
class TransformerAR(SequenceModel):
    """A decoder-only Transformer: pre-LayerNorm blocks of causal self-attention and an MLP.

    The sequence `[batch, length]` (or `[batch, length, channels]`) becomes input features
    (one-hot levels for a categorical head, else the values, discrete levels mapped to
    [-1, 1]) and a Dense token embedding of width `hidden_dim`, shifted right by one step so
    that position t sees x_<t only (a learned start vector at t = 0). Position embeddings
    (`"learned"`, a table of `max_length` rows, or `"sinusoidal"`, any length) and the
    condition's term are added, then `num_layers` blocks
    `h += Dense(attention(LayerNorm(h)))`, `h += MLP(LayerNorm(h))` (MLP: Dense to
    `intermediate_dim`, GELU, Dense to `hidden_dim`; dropout on the embeddings and on both
    residual branches), a last LayerNorm and a Dense to the head parameters. The attention is
    written with `keras.ops` (one Dense for queries, keys and values, `num_heads` heads of
    `hidden_dim // num_heads`, scores `q.k / sqrt(head_dim)`, the future masked), so the
    teacher-forced pass and the cached step share every weight and every formula. With
    several channels the time steps come in order and the channels of a step in turn:
    channel c also sees channels < c of its own step, through a masked term added to the last
    hidden layer before a ReLU and the output Dense (as `WaveNet` does).

    Conditioning (the `condition` argument of every method) is global: `num_classes=K`
    (integer labels, one-hot) or a vector `condition_shape` (any rank, flattened), projected
    by a Dense (no bias) to `hidden_dim` and added to the token embedding of every position
    (the start position included), the same at every time step.

    Generation is cached: every layer keeps its keys and values `[batch, steps, heads,
    head_dim]` for the length of the generation; a step computes the new position only,
    writes its key and value at t and attends over positions <= t (a mask over the buffer),
    so a step costs O(steps) attention, not a full pass. A known prefix fills the cache in
    one teacher-forced pass. `sample(n, num_steps=...)` generates any number of steps
    (at most `max_length` with learned positions); cached and naive (one full pass per step,
    `use_cache=False`) draw the same samples for the same seed.

    Args:
        input_shape: tuple `(length,)` (flattened images, characters, audio codes) or
            `(length, channels)`.
        distribution: `"categorical"` (default), `"logistic_mixture"`, `"gaussian_mixture"`
            or `"bernoulli"`.
        num_levels: int. Levels of a categorical or logistic mixture head. Defaults to 256.
        num_components: int. Components of a mixture head.
        hidden_dim: int. Width of the residual stream. Defaults to 128.
        num_layers: int. Transformer blocks. Defaults to 4.
        num_heads: int. Attention heads; must divide `hidden_dim`. Defaults to 4.
        intermediate_dim: int. Width of each block's MLP. Defaults to 512.
        dropout: float in [0, 1). Dropout rate while training. Defaults to 0.
        position_embedding: `"learned"` (default) or `"sinusoidal"` (Vaswani et al.).
        max_length: int >= `length`, or None (`length`). The longest sequence learned
            positions cover (`sample(num_steps=...)` up to it); with sinusoidal positions only
            the default length of a cache made by `init_cache`.
        **kwargs: `num_classes`, `condition_shape`, `name`, as in `AutoregressiveModel`.

    Example:

    >>> model = TransformerAR(input_shape=(8,), num_levels=4, hidden_dim=8, num_layers=1, num_heads=2,
    ...                       intermediate_dim=16, position_embedding="sinusoidal")
    >>> tuple(model.log_prob(np.zeros((2, 8), "int32")).shape)
    (2,)
    >>> tuple(model.sample(2, num_steps=12, seed=0).shape)
    (2, 12)

    Reference:
        Vaswani et al., "Attention Is All You Need", 2017;
        Parmar et al., "Image Transformer", 2018.
    """

    _state_key = "layers"

    def __init__(
        self,
        input_shape,
        distribution="categorical",
        num_levels=None,
        num_components=None,
        hidden_dim=128,
        num_layers=4,
        num_heads=4,
        intermediate_dim=512,
        dropout=0.0,
        position_embedding="learned",
        max_length=None,
        **kwargs,
    ):
        super().__init__(
            input_shape, distribution=distribution, num_levels=num_levels, num_components=num_components, **kwargs
        )
        for value, name in (
            (hidden_dim, "hidden_dim"),
            (num_layers, "num_layers"),
            (num_heads, "num_heads"),
            (intermediate_dim, "intermediate_dim"),
        ):
            check_int(value, name, 1)
        if hidden_dim % num_heads:
            raise ValueError(
                f"`hidden_dim` must be a multiple of `num_heads`. Received: hidden_dim={hidden_dim}, "
                f"num_heads={num_heads}"
            )
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0 <= dropout < 1:
            raise ValueError(f"`dropout` must be a float in [0, 1). Received: dropout={dropout!r}")
        if position_embedding not in _POSITIONS:
            raise ValueError(
                f"`position_embedding` must be one of {_POSITIONS}. Received: position_embedding={position_embedding!r}"
            )
        length = self.event_shape[0]
        if max_length is not None and (
            isinstance(max_length, bool) or not isinstance(max_length, numbers.Integral) or max_length < length
        ):
            raise ValueError(
                f"`max_length` must be None or an int >= the sequence length {length}. "
                f"Received: max_length={max_length!r}"
            )

        # === Layers ===
        self.head_dim = hidden_dim // num_heads
        self.token_embedding = keras.layers.Dense(hidden_dim, name="token_embedding")
        self.condition_projection = (
            keras.layers.Dense(hidden_dim, use_bias=False, name="condition_projection") if self.condition_size else None
        )
        self.attention_norms = [keras.layers.LayerNormalization(epsilon=1e-5, name=f"attention_norm{i}")
                                for i in range(num_layers)]
        self.qkv = [keras.layers.Dense(3 * hidden_dim, name=f"qkv{i}") for i in range(num_layers)]
        self.attention_outputs = [keras.layers.Dense(hidden_dim, name=f"attention_output{i}")
                                  for i in range(num_layers)]
        self.mlp_norms = [keras.layers.LayerNormalization(epsilon=1e-5, name=f"mlp_norm{i}")
                          for i in range(num_layers)]
        self.mlp_hidden = [keras.layers.Dense(intermediate_dim, activation="gelu", name=f"mlp_hidden{i}")
                           for i in range(num_layers)]
        self.mlp_outputs = [keras.layers.Dense(hidden_dim, name=f"mlp_output{i}") for i in range(num_layers)]
        self.final_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="final_norm")
        self.dropout_layer = keras.layers.Dropout(dropout, name="dropout")
        self.output_layer = keras.layers.Dense(self.head.num_params, name="output")

        # === Config ===
        self.hidden_dim = hidden_dim
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.position_embedding = position_embedding
        self.max_length = length if max_length is None else int(max_length)
        self._hidden_width = hidden_dim  # the last hidden layer
        self.build()

    def build(self, input_shape=None):
        if not hasattr(self, "start_vector"):
            h = self.hidden_dim
            self.start_vector = self.add_weight(name="start_vector", shape=(h,), initializer="zeros")
            if self.position_embedding == "learned":
                self.position_table = self.add_weight(
                    name="position_table", shape=(self.max_length, h),
                    initializer=keras.initializers.RandomNormal(stddev=0.02),
                )
        super().build(input_shape)  # then the channel weights

    # ------------------------------------------------------------------ the network, written once
    def compute_params(self, x, condition=None, training=False):
        self._check_length(x.shape[1], "length")
        features = self._features(x)  # [b, T, C, f]
        bias = None if condition is None else self.condition_projection(condition)
        h = self._embed(features, bias, training)
        hidden = self._network(h, lambda i, k, v: (k, v, _causal_mask(x.shape[1])), training)
        return self._output(hidden, features)

    def _embed(self, features, bias, training=False):
        """Input features `[b, T, C, f]` -> the first hidden layer `[b, T, hidden_dim]`: token
        embeddings shifted right (the start vector at t = 0), positions and the condition `bias`."""
        length = features.shape[1]
        tokens = self.token_embedding(self._flat(features))
        start = ops.zeros_like(tokens[:, :1]) + self.start_vector
        h = ops.concatenate([start, tokens[:, :-1]], axis=1) + self._positions(ops.arange(length, dtype="int32"))
        if bias is not None:
            h = h + ops.expand_dims(bias, 1)
        return self.dropout_layer(h, training=training)

    def _positions(self, positions):
        """Position embeddings of int32 `positions` `[...]` -> `[..., hidden_dim]`."""
        if self.position_embedding == "learned":
            return ops.take(self.position_table, positions, axis=0)
        i = np.arange(self.hidden_dim)
        inverse = (1.0 / 10000.0 ** (2 * (i // 2) / self.hidden_dim)).astype("float32")
        angles = ops.expand_dims(ops.cast(positions, "float32"), -1) * inverse
        return ops.where(i % 2 == 0, ops.sin(angles), ops.cos(angles))

    def _network(self, h, attention, training=False):
        """The blocks and the last LayerNorm, `[b, T, hidden_dim]` -> `[b, T, hidden_dim]`.
        `attention(layer, keys, values) -> (keys, values, mask)` gives what the queries of layer
        `layer` attend over (`[b, S, heads, head_dim]`, mask `[1, 1, T, S]` of bools): the keys
        and values of the same positions (teacher-forced), or the cached ones (a step)."""
        length, heads, width = h.shape[1], self.num_heads, self.head_dim
        for i in range(self.num_layers):
            qkv = self.qkv[i](self.attention_norms[i](h))
            q, k, v = (ops.reshape(qkv[..., j * self.hidden_dim:(j + 1) * self.hidden_dim], (-1, length, heads, width))
                       for j in range(3))
            k, v, mask = attention(i, k, v)
            scores = ops.einsum("bqhd,bkhd->bhqk", q, k) * (1.0 / math.sqrt(width))
            weights = ops.softmax(ops.where(mask, scores, _MASKED), axis=-1)
            out = ops.reshape(ops.einsum("bhqk,bkhd->bqhd", weights, v), (-1, length, self.hidden_dim))
            h = h + self.dropout_layer(self.attention_outputs[i](out), training=training)
            mlp = self.mlp_outputs[i](self.mlp_hidden[i](self.mlp_norms[i](h)))
            h = h + self.dropout_layer(mlp, training=training)
        return self.final_norm(h)

    def _check_length(self, length, name):
        if self.position_embedding == "learned" and length > self.max_length:
            raise ValueError(
                f"{type(self).__name__} has learned positions for {self.max_length} steps (`max_length`): pass a "
                f"larger `max_length` when you build it, or `position_embedding='sinusoidal'` for any length. "
                f"Received: {name}={length}"
            )

    # ------------------------------------------------------------------ cached sampling
    def sample_capacity(self, num_steps):
        """As `SequenceModel.sample_capacity`, at most `max_length` with learned positions (which
        cover `num_steps <= max_length` only)."""
        self._check_length(num_steps, "num_steps")
        capacity = super().sample_capacity(num_steps)
        return min(capacity, self.max_length) if self.position_embedding == "learned" else capacity

    @property
    def stream_capacity(self):  # `generate`'s key/value cache is sized `max_length`
        return self.max_length

    @property
    def stream_capacity_hint(self):
        return "construct the model with a larger `max_length` to stream longer"

    def init_cache(self, batch_size, condition=None, seed=None, num_steps=None):
        """Zero keys and values `[batch, num_steps, heads, head_dim]` of every layer, the projected
        condition and, with several channels, the current step's values and hidden layer.

        `num_steps`: the time steps of the generation (the engine passes the length it
        generates); None: `max_length`.
        """
        steps = num_steps or self.max_length
        self._check_length(steps, "num_steps")
        zeros = ops.zeros((batch_size, steps, self.num_heads, self.head_dim), "float32")
        cache = {"layers": [{"key": zeros, "value": zeros} for _ in range(self.num_layers)]}
        if condition is not None:
            cache["condition_bias"] = self.condition_projection(condition)
        return {**cache, **self._frame_cache(batch_size)}

    def fill_cache(self, cache, x, num_known):
        """One teacher-forced pass over `x` (`[batch, steps(, channels)]`, at most the cache's
        length): the keys and values of every position into the cache. Those from the first
        position not yet computed on are rubbish, masked until a step overwrites them."""
        recorded = []

        def attention(i, k, v):
            recorded.append((k, v))
            return k, v, _causal_mask(x.shape[1])

        hidden = self._network(self._embed(self._features(x), cache.get("condition_bias")), attention)
        zero = ops.zeros((), "int32")
        start = ops.stack([zero] * 4)
        layers = [
            {"key": ops.slice_update(old["key"], start, k), "value": ops.slice_update(old["value"], start, v)}
            for old, (k, v) in zip(cache["layers"], recorded)
        ]
        return self._fill_frame({**cache, "layers": layers}, x, num_known, lambda last: ops.take(hidden, last, axis=1))

    def _advance(self, cache, inputs, t):
        """The new time step through every layer, its key and value written at t, attention over
        positions <= t: `(hidden, the key/value caches)`."""
        tokens = self.token_embedding(inputs)
        h = ops.where(t > 0, tokens, ops.zeros_like(tokens) + self.start_vector) + self._positions(t)
        if "condition_bias" in cache:
            h = h + cache["condition_bias"]
        layers = list(cache["layers"])
        steps = layers[0]["key"].shape[1]
        mask = ops.reshape(ops.arange(steps, dtype="int32") <= t, (1, 1, 1, steps))
        zero = ops.zeros((), "int32")
        at = ops.stack([zero, t, zero, zero])

        def attention(i, k, v):
            layers[i] = {"key": ops.slice_update(layers[i]["key"], at, k),
                         "value": ops.slice_update(layers[i]["value"], at, v)}
            return layers[i]["key"], layers[i]["value"], mask

        return self._network(ops.expand_dims(h, 1), attention)[:, 0], layers

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "hidden_dim": self.hidden_dim,
                "num_layers": self.num_layers,
                "num_heads": self.num_heads,
                "intermediate_dim": self.intermediate_dim,
                "dropout": self.dropout,
                "position_embedding": self.position_embedding,
                "max_length": self.max_length,
            }
        )
        return config


def _causal_mask(length):
    """`[1, 1, length, length]` bools: query t sees keys <= t."""
    return np.tril(np.ones((length, length), bool))[None, None]
