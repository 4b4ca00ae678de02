"""MaskedDense: a dense layer whose kernel is multiplied by a MADE mask in the forward pass."""

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="keras_ar")
class MaskedDense(keras.layers.Layer):
    """Dense layer with autoregressive connectivity given by degrees (MADE).

    Unit k may see input d iff `output_degrees[k] >= input_degrees[d]`, or
    `output_degrees[k] > input_degrees[d]` when `strict=True` (an output layer: output
    dimension i sees only inputs before it). Several parameters per input are made by
    repeating an output degree (see `keras_ar.layers.degrees.output_degrees`). The mask is
    built from the degrees and multiplied into the kernel in every forward pass, so the
    layer is autoregressive from its first call, whatever its weights.

    Degrees may also be 2-D, `[num_masks, n]`: one connectivity per row, chosen per call
    with `mask_index` (MADE's connectivity- and order-agnostic training).

    Args:
        units: int. Output size; must equal the length of `output_degrees`.
        input_degrees: list of ints (or list of lists). Degree of each input.
        output_degrees: list of ints (or list of lists). Degree of each unit.
        strict: bool. Use `>` instead of `>=` (for layers that produce conditionals).
        condition_size: int. If > 0, `call` takes a `condition` vector of this size, wired
            to every unit through an unmasked kernel (a global condition sees no dimension).
        activation: activation name or callable.
        use_bias: bool.
        kernel_initializer, bias_initializer: initializers.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        inputs: float tensor `[batch, len(input_degrees)]`.
        condition: float tensor `[batch, condition_size]` or None.
        mask_index: int or scalar int tensor, the row of 2-D degrees to use. Default 0.

    Example:

    >>> layer = MaskedDense(3, input_degrees=[1, 2, 3], output_degrees=[1, 2, 3], strict=True)
    >>> tuple(layer(keras.ops.ones((2, 3))).shape)
    (2, 3)

    Reference:
        Germain et al., "MADE: Masked Autoencoder for Distribution Estimation", ICML 2015.
    """

    def __init__(
        self,
        units,
        input_degrees,
        output_degrees,
        strict=False,
        condition_size=0,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        in_deg = np.atleast_2d(np.asarray(input_degrees, dtype="int64"))
        out_deg = np.atleast_2d(np.asarray(output_degrees, dtype="int64"))
        if in_deg.ndim != 2 or out_deg.ndim != 2 or in_deg.shape[0] != out_deg.shape[0]:
            raise ValueError(
                "`input_degrees` and `output_degrees` must be 1-D lists, or 2-D with the same number of rows. "
                f"Received shapes {in_deg.shape} and {out_deg.shape}"
            )
        if out_deg.shape[1] != units:
            raise ValueError(
                f"`units` must equal len(output_degrees)={out_deg.shape[1]}. Received: units={units}"
            )
        if condition_size < 0:
            raise ValueError(f"`condition_size` must be >= 0. Received: condition_size={condition_size}")
        self.units = int(units)
        self.input_degrees = np.asarray(input_degrees).tolist()
        self.output_degrees = np.asarray(output_degrees).tolist()
        self.strict = bool(strict)
        self.condition_size = int(condition_size)
        self.activation = keras.activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        compare = np.greater if strict else np.greater_equal
        # masks[m, d, k] = 1 iff unit k may see input d under connectivity m
        self.masks = compare(out_deg[:, None, :], in_deg[:, :, None]).astype("float32")
        self.num_masks = self.masks.shape[0]

    def build(self, inputs_shape, condition_shape=None):
        input_shape = inputs_shape
        if input_shape[-1] != self.masks.shape[1]:
            raise ValueError(
                f"Input size must be len(input_degrees)={self.masks.shape[1]}. Received: input_shape={input_shape}"
            )
        self.kernel = self.add_weight(
            name="kernel", shape=(self.masks.shape[1], self.units), initializer=self.kernel_initializer
        )
        self.bias = (
            self.add_weight(name="bias", shape=(self.units,), initializer=self.bias_initializer)
            if self.use_bias
            else None
        )
        self.condition_kernel = (
            self.add_weight(
                name="condition_kernel",
                shape=(self.condition_size, self.units),
                initializer=self.kernel_initializer,
            )
            if self.condition_size
            else None
        )

    def mask(self, mask_index=0):
        masks = ops.cast(self.masks, self.kernel.dtype)
        if self.num_masks == 1:
            return masks[0]
        return ops.take(masks, mask_index, axis=0)

    def call(self, inputs, condition=None, mask_index=0):
        y = ops.matmul(inputs, self.kernel * self.mask(mask_index))
        if self.use_bias:
            y = y + self.bias
        if self.condition_kernel is not None:
            if condition is None:
                raise ValueError(
                    f"{self.name} was built with condition_size={self.condition_size}: pass `condition`."
                )
            y = y + ops.matmul(condition, self.condition_kernel)
        return self.activation(y)

    def compute_output_shape(self, inputs_shape, condition_shape=None):
        return tuple(inputs_shape[:-1]) + (self.units,)

    @classmethod
    def direct_connection(cls, input_degrees, output_degrees, name="direct"):
        """A strict, bias-free, zero-initialised layer: the linear input -> output term of MADE and NADE."""
        units = np.asarray(output_degrees).shape[-1]
        return cls(
            units,
            input_degrees=input_degrees,
            output_degrees=output_degrees,
            strict=True,
            use_bias=False,
            kernel_initializer="zeros",
            name=name,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "input_degrees": self.input_degrees,
                "output_degrees": self.output_degrees,
                "strict": self.strict,
                "condition_size": self.condition_size,
                "activation": keras.activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
