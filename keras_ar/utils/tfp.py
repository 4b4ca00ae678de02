"""TFP's distributions for the active Keras backend, imported lazily."""

import keras


def tfp_distributions():
    """`tfd` of the TFP substrate that matches the Keras backend.

    TensorFlow: `tensorflow_probability.distributions`; JAX:
    `tensorflow_probability.substrates.jax.distributions` (needs a JAX version that
    the installed TFP supports; TFP 0.25 works with jax < 0.7). Other backends have no
    TFP substrate that takes their tensors.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        from tensorflow_probability import distributions
    elif backend == "jax":
        from tensorflow_probability.substrates.jax import distributions
    else:
        raise NotImplementedError(
            f"TFP distributions need the TensorFlow or JAX backend. Received: backend={backend!r}"
        )
    return distributions
