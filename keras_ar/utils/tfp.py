"""TFP's distributions for the active Keras backend, imported lazily."""

import functools
import inspect

import keras


def tfp_distributions():
    """`tfd` of the TFP substrate that matches the Keras backend.

    - TensorFlow: `tensorflow_probability.distributions`.
    - JAX: `tensorflow_probability.substrates.jax.distributions`. It needs a JAX release that
      the installed TFP supports: TFP 0.25 loads only with jax < 0.7 (it uses
      `jax.interpreters.xla.pytype_aval_mappings`, removed in jax 0.7), `tfp-nightly` with the
      current jax. Where it cannot load, this raises an `ImportError` that names the cause and
      both fixes; the models themselves (`log_prob`, `sample`, `fit`) work on any jax.
    - PyTorch: TFP has no torch substrate, so this is TFP's NumPy substrate
      (`tensorflow_probability.substrates.numpy.distributions`) behind a thin wrapper whose
      distribution constructors convert backend tensors among their arguments to NumPy with
      `keras.ops.convert_to_numpy` (detached from autograd and copied to the host). The
      distributions it builds are ordinary NumPy-substrate TFP objects: their methods take
      NumPy arrays (or anything `np.asarray` accepts, such as a detached CPU tensor) and return
      NumPy arrays, and no gradient flows through them to the model's weights. The wrapper's
      distribution names are constructor functions (the class is their `__wrapped__`); every
      other attribute (`Distribution`, `kl_divergence`, ...) is the NumPy substrate's own.

    Example (on TensorFlow, PyTorch, and JAX where TFP's JAX substrate loads, a standard normal's
    log-density at 0; on JAX where it cannot, the `ImportError` and its fix):

    >>> try:
    ...     tfd = tfp_distributions()
    ... except ImportError as error:  # TFP 0.25 on the JAX backend with jax >= 0.7
    ...     print("pip install 'jax[cpu]<0.7'" in str(error) and "pip install tfp-nightly" in str(error))
    ... else:
    ...     normal = tfd.Normal(loc=keras.ops.zeros((2,)), scale=1.0)
    ...     log_prob = keras.ops.convert_to_numpy(normal.log_prob(np.zeros(2, "float32")))
    ...     print([round(float(v), 4) for v in log_prob] == [-0.9189, -0.9189])
    True
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        from tensorflow_probability import distributions
    elif backend == "jax":
        distributions = _jax_distributions()
    elif backend == "torch":
        return _numpy_distributions()
    else:
        raise NotImplementedError(
            "TFP distributions need the TensorFlow, JAX or PyTorch backend. "
            f"Received: backend={backend!r}"
        )
    return distributions


def _jax_distributions():
    try:
        from tensorflow_probability.substrates.jax import distributions
    except (ImportError, AttributeError) as e:  # TFP 0.25 on jax >= 0.7 fails with AttributeError
        raise ImportError(_jax_substrate_message(e)) from e
    return distributions


def _jax_substrate_message(error):
    """The message of the `ImportError` raised where TFP's JAX substrate cannot load."""
    import jax

    try:
        from importlib.metadata import version

        tfp_version = version("tensorflow-probability")
    except Exception:  # tfp-nightly, or no distribution metadata
        tfp_version = "the installed version"
    return (
        f"The TFP view (`model.distribution()`, `head.to_tfp()`) on the JAX backend needs TFP's JAX "
        f"substrate, which tensorflow-probability {tfp_version} cannot load with jax {jax.__version__} "
        f"({type(error).__name__}: {error}; TFP 0.25 supports jax < 0.7 only). Either install a JAX that "
        "this TFP supports: `pip install 'jax[cpu]<0.7'`, or replace TFP by its nightly build, which "
        "supports the current jax: `pip uninstall -y tensorflow-probability && pip install tfp-nightly`. "
        "Everything else in keras_ar (log_prob, sample, fit) works on this jax; the TFP view also works "
        "on the TensorFlow backend."
    )


def to_numpy_args(value):
    """`value` with backend tensors (at the top level or in a list, tuple or dict) as NumPy arrays."""
    if isinstance(value, (list, tuple)):
        return type(value)(to_numpy_args(v) for v in value)
    if isinstance(value, dict):
        return {k: to_numpy_args(v) for k, v in value.items()}
    if keras.ops.is_tensor(value):
        return keras.ops.convert_to_numpy(value)
    return value


class _NumpyDistributions:
    """`tensorflow_probability.substrates.numpy.distributions` whose constructors take backend tensors."""

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        attr = getattr(self._module, name)
        if inspect.isclass(attr) and issubclass(attr, self._module.Distribution):
            attr = _converting(attr)
            setattr(self, name, attr)  # cached: later lookups skip __getattr__
        return attr

    def __dir__(self):
        return dir(self._module)

    def __repr__(self):
        return f"<keras_ar NumPy-substrate wrapper of {self._module.__name__}>"


def _converting(cls):
    @functools.wraps(cls)
    def make(*args, **kwargs):
        return cls(*to_numpy_args(args), **to_numpy_args(kwargs))

    return make


@functools.cache
def _numpy_distributions():
    from tensorflow_probability.substrates.numpy import distributions

    return _NumpyDistributions(distributions)
