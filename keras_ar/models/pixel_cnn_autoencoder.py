"""PixelCNN auto-encoder: a convolutional encoder whose code conditions a Gated PixelCNN decoder."""

import numbers

import keras
from keras import ops

from keras_ar.models.gated_pixel_cnn import GatedPixelCNN
from keras_ar.models.image_model import ImageModel
from keras_ar.utils.checks import check_condition
from keras_ar.utils.checks import check_int
from keras_ar.utils.checks import static_shape
from keras_ar.utils.compile import clear_compiled


@keras.saving.register_keras_serializable(package="keras_ar")
class PixelCNNAutoEncoder(ImageModel):
    """An encoder to a code m, and a Gated PixelCNN decoder p(x | m), trained end to end.

    The encoder maps an image (levels scaled to [-1, 1], as the decoder sees them) through
    one 3x3 stride-2 ReLU convolution per entry of `encoder_filters` and a dense layer to a
    code vector m of `code_size`. The decoder, `self.decoder`, is a `GatedPixelCNN` with
    `condition_shape=(code_size,)`: m enters every gated block as `V^T m`, added to the
    pre-activations of both stacks. `fit(x)` trains on images alone and maximises
    log p(x | encode(x)): the gradients reach the encoder through the code.

    `log_prob(x)` is therefore the RECONSTRUCTION likelihood log p(x | m = encode(x)), a
    conditional density: it is normalised over x for every FIXED code, not as a density of
    x on its own (the code is a function of the x it scores, so summed over all images it
    is not 1). Likewise `conditional_log_probs(x)` is log p(x_i | x_<i, encode(x)), causal in
    x only with the code held fixed (`log_prob(x, code=m)` scores x under a given code).
    There is no prior over codes, so `sample(n)` raises: draw images with `decode(code)`.

    `decode` samples through the generation engine with the decoder's cached step (the
    vertical stacks once per row, the horizontal stacks at the pixel only); it draws the
    same images as `decode(code, use_cache=False)` for the same seed.

    Args:
        input_shape: `(height, width, channels)`, channels 1 or 3.
        code_size: int >= 1. Size of the code vector m. Defaults to 32.
        encoder_filters: tuple of ints. Channels of the encoder's stride-2 convolutions,
            one convolution each (empty: the dense layer reads the image). Defaults to
            `(32, 64)`.
        filters: int. Channels of the decoder's stacks (a multiple of 3 for RGB with a
            per-channel head). Defaults to 48: a lighter decoder than `GatedPixelCNN`'s
            default leans more on the code; 48 works on every shape from `(1, 2, 1)` to
            `(32, 32, 3)` with every head.
        num_blocks: int >= 1. Gated blocks of the decoder. Defaults to 4.
        kernel_size: odd int >= 3. Kernel of the decoder's mask-B blocks. Defaults to 3.
        first_kernel_size: odd int >= 3. Kernel of the decoder's first block. Defaults to 5.
        skip_filters: int or None. Channels of the decoder's skip outputs; None for `filters`.
        output_hidden_units: int or None. Width of the decoder's 1x1 ReLU output layer;
            None for `skip_filters`.
        dropout: float in [0, 1). Dropout in the decoder's gated units while training.
        position_bias: bool. Learned per-position terms in the decoder's blocks. Defaults
            to True: the code enters every pixel as the same `V^T m`, and the per-position
            terms let the decoder put what the code says in its place (on the digits, the
            reconstructions are much closer to their images with them).
        **kwargs: `distribution` (`"bernoulli"` by default), `num_levels`, `num_components`,
            `name`, as in `ImageModel` (no condition: the code is the condition).

    Call arguments:
        inputs: images `x` `[batch, *input_shape]`; the result is the decoder's head
            parameters given `encode(x)`.
        training: bool.

    Example:

    >>> ae = PixelCNNAutoEncoder(input_shape=(4, 4, 1), code_size=4, encoder_filters=(8,),
    ...                          filters=6, num_blocks=2, first_kernel_size=3)
    >>> x = np.zeros((2, 4, 4, 1), "int32")
    >>> code = ae.encode(x)
    >>> tuple(code.shape)
    (2, 4)
    >>> tuple(ae.decode(code, seed=0).shape)
    (2, 4, 4, 1)
    >>> tuple(ae.log_prob(x).shape)  # log p(x | encode(x)), the reconstruction likelihood
    (2,)

    Reference:
        van den Oord et al., "Conditional Image Generation with PixelCNN Decoders",
        NeurIPS 2016 (section 3.4, PixelCNN auto-encoders).
    """

    has_prior = False  # images come from codes: `decode`; export has `encode` / `decode`, no `sample`

    def __init__(
        self,
        input_shape,
        code_size=32,
        encoder_filters=(32, 64),
        filters=48,
        num_blocks=4,
        kernel_size=3,
        first_kernel_size=5,
        skip_filters=None,
        output_hidden_units=None,
        dropout=0.0,
        position_bias=True,
        **kwargs,
    ):
        for name in ("num_classes", "condition_shape", "condition_scale"):
            value = kwargs.pop(name, None)
            if value is not None:
                raise ValueError(
                    f"PixelCNNAutoEncoder is conditioned on its own code, not on `{name}`: for labels or "
                    f"condition images use GatedPixelCNN(..., {name}=...). Received: {name}={value!r}"
                )
        super().__init__(input_shape, **kwargs)
        code_size = check_int(code_size, "code_size", 1)
        if not isinstance(encoder_filters, (tuple, list)) or any(
            isinstance(f, bool) or not isinstance(f, numbers.Integral) or f < 1 for f in encoder_filters
        ):
            raise ValueError(
                "`encoder_filters` must be a tuple of ints >= 1, one stride-2 convolution each "
                f"(e.g. (32, 64)). Received: encoder_filters={encoder_filters!r}"
            )
        encoder_filters = tuple(int(f) for f in encoder_filters)
        decoder_arguments = self.keep_arguments(locals())  # the config; all but the first two shape the decoder
        for name in ("code_size", "encoder_filters"):
            decoder_arguments.pop(name)

        # === Layers ===
        self.decoder = GatedPixelCNN(
            self.event_shape,
            distribution=self.distribution_id,
            num_levels=self.num_levels,
            num_components=self.num_components,
            condition_shape=(code_size,),
            name="decoder",
            **decoder_arguments,
        )
        self.encoder_convs = [
            keras.layers.Conv2D(f, 3, strides=2, padding="same", activation="relu", name=f"encoder_conv{i}")
            for i, f in enumerate(encoder_filters)
        ]
        self.code_dense = keras.layers.Dense(code_size, name="code_dense")
        self.build()

    # ------------------------------------------------------------------ the two halves
    def compute_params(self, x, condition=None, training=False):
        return self.decoder.compute_params(x, self._encode(x, training), training=training)

    def _encode(self, x, training=False):
        """float32 images `[b, *input_shape]` -> codes `[b, code_size]`."""
        h = self.scale_inputs(x)
        for conv in self.encoder_convs:
            h = conv(h, training=training)
        return self.code_dense(ops.reshape(h, (ops.shape(h)[0], -1)), training=training)

    def encode(self, x):
        """The codes of images `x` `[batch, *input_shape]`: float32 `[batch, code_size]`."""
        x, _ = self._checked(x, None)
        return self._encode(x)

    def decode(self, code, seed=None, temperature=1.0, use_cache=True):
        """Draw one image per code from p(x | code), through the generation engine.

        Args:
            code: float array `[batch, code_size]`, e.g. from `encode`.
            seed: int or None. The same seed gives the same images, cached or not.
            temperature: float > 0. Divides the logits of every conditional.
            use_cache: bool. The decoder's cached step (default), or one full pass per step.

        Returns:
            `[batch, *input_shape]`: int32 levels for discrete heads, float32 otherwise.
        """
        code = self._checked_code(code)
        return self.decoder.sample(
            int(code.shape[0]), condition=code, seed=seed, temperature=temperature, use_cache=use_cache
        )

    def reconstruct(self, x, seed=None, temperature=1.0, use_cache=True):
        """`decode(encode(x))`: one image drawn from p(x | encode(x)) per image of `x`."""
        return self.decode(self.encode(x), seed=seed, temperature=temperature, use_cache=use_cache)

    # ------------------------------------------------------------------ likelihoods and sampling
    def log_prob(self, x, condition=None, code=None):
        """The reconstruction log-likelihood log p(x | encode(x)) in nats, shape `[batch]`.

        A conditional density, not a normalised density of x on its own: for a fixed code m,
        exp(log p(x | m)) sums to 1 over all images x, but the code here is computed from
        the very x it scores. Pass `code` (`[batch, code_size]`) to score x under given codes
        instead, log p(x | code).
        """
        if code is None:
            return super().log_prob(x, condition)
        x, condition = self._checked(x, condition)
        return self.decoder.log_prob(x, condition=self._checked_code(code, batch_size=int(x.shape[0])))

    def conditional_log_probs(self, x, condition=None, code=None):
        """log p(x_i | x_<i, m) per dimension `[batch, *input_shape]`, m = `encode(x)` or `code`."""
        if code is None:
            return super().conditional_log_probs(x, condition)
        x, condition = self._checked(x, condition)
        return self.decoder.conditional_log_probs(x, condition=self._checked_code(code, batch_size=int(x.shape[0])))

    def sample(self, *args, **kwargs):
        """Not available (raises a `ValueError`): the model has no prior over codes. Use `decode(code)`."""
        raise ValueError(_NO_PRIOR)

    def serving_functions(self, use_cache=True):
        """What `keras_ar.export` serves (see `AutoregressiveModel.serving_functions`): `log_prob`
        and `conditional_log_probs` (given `encode(x)`), `encode` (`x` -> `code`) and `decode`
        (`code`, `seed`, `temperature` -> `samples`, as `decode(code, seed=seed)`); no `sample`
        or `complete`, as there is no prior over codes."""
        functions = super().serving_functions(use_cache)
        decoder = self.decoder

        def encode(x):
            return {"code": self._encode(x)}

        def decode(code, seed, temperature):
            zeros = ops.zeros((ops.shape(code)[0],) + tuple(self.event_shape), "float32")
            return decoder.serving_functions(use_cache)["complete"][0](zeros, zeros, seed, temperature, code)

        code = keras.InputSpec(shape=(None, self.code_size), dtype="float32", name="code")
        return {
            "log_prob": functions["log_prob"],
            "conditional_log_probs": functions["conditional_log_probs"],
            "encode": (encode, ["x"]),
            "decode": (decode, [code, "seed", "temperature"]),
        }

    def _checked_code(self, code, batch_size=None):
        if code is None:
            raise ValueError(f"`code` must be given: floats of shape (batch, {self.code_size}). Received: code=None")
        shape = static_shape(code)
        if len(shape) == 1 and shape[0] == self.code_size:
            raise ValueError(
                f"`code` must have shape (batch, {self.code_size}): add a batch axis (`code[None]`) to a single "
                f"code. Received: code.shape={shape}"
            )
        values = check_condition(code, None, (self.code_size,), batch_size, name="code")
        return ops.convert_to_tensor(code if values is None else values.astype("float32"), "float32")

    # ------------------------------------------------------------------ Keras plumbing
    def compile(self, optimizer="adam", loss=None, metrics=None, **kwargs):
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)
        clear_compiled(self.decoder)

    def get_config(self):
        config = super().get_config()  # every constructor argument (see `ImageModel.get_config`)
        for name in ("num_classes", "condition_shape", "condition_scale"):
            config.pop(name)
        return config


_NO_PRIOR = (
    "PixelCNNAutoEncoder models images given a code, p(x | code), with no prior over codes: "
    "`sample(n)` has nothing to draw the codes from. Use `decode(code)` (e.g. "
    "`decode(encode(x))`, or `reconstruct(x)`) to draw images."
)
