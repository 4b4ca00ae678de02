"""Keras callbacks for autoregressive models: sample grids written while training."""

import numbers
import os
import warnings

import keras
import numpy as np

from keras_ar.utils.images import image_grid
from keras_ar.utils.images import save_png


class SampleGrid(keras.callbacks.Callback):
    """Every few epochs, draw samples from the model and write them as a PNG grid.

    At the end of every `every_n_epochs`-th epoch the callback calls
    `self.model.sample(num_samples, seed=seed, condition=condition)` and writes
    `directory/samples_epoch_{epoch:04d}.png`, with `epoch` counted from 1 as in Keras'
    progress bars and `ModelCheckpoint` file names. The seed is the same every time, so the
    grids show how the same draws change as the model learns. RGB images stay in colour;
    discrete levels are scaled to 0..255; the samples of a real-valued head are clipped to
    [0, 1] for display. With `log_dir` the grid is also written as a TensorBoard image
    summary (tag `"samples"`, step = epoch) through `tf.summary` when TensorFlow is
    importable (on any backend; the `tensorboard` package itself is not needed to write);
    without TensorFlow the PNGs are still written.

    Args:
        every_n_epochs: int >= 1. Sample after every this many epochs.
        num_samples: int >= 1. Samples per grid.
        directory: str. Where the PNGs go (made if missing).
        seed: int. The sampling seed.
        condition: the `condition` of `model.sample` for a conditional model. None for a
            class-conditional model cycles through the classes (`arange(num_samples) %
            num_classes`).
        log_dir: str or None. A TensorBoard log directory for image summaries.
        cols: int or None. Images per row of the grid (None: a square grid).
        temperature: float > 0. The sampling temperature.

    Example:

    >>> import tempfile
    >>> model = keras_ar.models.PixelCNN(input_shape=(4, 4, 1), filters=4, num_residual_blocks=0)
    >>> out = tempfile.mkdtemp()
    >>> history = model.fit(np.zeros((8, 4, 4, 1), "int32"), epochs=2, verbose=0,
    ...                     callbacks=[SampleGrid(every_n_epochs=2, num_samples=4, directory=out)])
    >>> sorted(os.listdir(out))
    ['samples_epoch_0002.png']
    """

    def __init__(
        self,
        every_n_epochs=1,
        num_samples=16,
        directory="samples",
        seed=0,
        condition=None,
        log_dir=None,
        cols=None,
        temperature=1.0,
    ):
        super().__init__()
        for value, name in ((every_n_epochs, "every_n_epochs"), (num_samples, "num_samples")):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"`{name}` must be an int >= 1. Received: {name}={value!r}")
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise ValueError(f"`seed` must be an int. Received: seed={seed!r}")
        if not isinstance(directory, (str, os.PathLike)):
            raise ValueError(f"`directory` must be a path. Received: directory={directory!r}")
        self.every_n_epochs = int(every_n_epochs)
        self.num_samples = int(num_samples)
        self.directory = os.fspath(directory)
        self.seed = int(seed)
        self.condition = condition
        self.log_dir = None if log_dir is None else os.fspath(log_dir)
        self.cols = cols
        self.temperature = temperature
        self.written = []  # the PNG paths written, in order
        self._writer = None

    def _check_model(self):
        shape = tuple(getattr(self.model, "event_shape", ()))
        if not hasattr(self.model, "sample") or len(shape) != 3 or shape[-1] not in (1, 3):
            raise ValueError(
                "SampleGrid draws image models: the model needs `sample()` and an input_shape "
                f"(height, width, 1 or 3). Received: {type(self.model).__name__} with input_shape={shape}"
            )

    def on_train_begin(self, logs=None):
        self._check_model()
        os.makedirs(self.directory, exist_ok=True)
        if self.log_dir is not None and self._writer is None:
            try:
                import tensorflow as tf
            except ImportError:
                warnings.warn(
                    "SampleGrid: `log_dir` was given but TensorFlow (tf.summary) is not importable; "
                    "writing PNGs only.",
                    stacklevel=2,
                )
            else:
                self._writer = tf.summary.create_file_writer(self.log_dir)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs == 0:
            self.write(epoch + 1)

    def _condition(self):
        if self.condition is None and getattr(self.model, "num_classes", None):
            return np.arange(self.num_samples) % self.model.num_classes
        return self.condition

    def write(self, epoch):
        """Sample now and write the grid for `epoch` (counted from 1); return the PNG path."""
        self._check_model()
        samples = keras.ops.convert_to_numpy(
            self.model.sample(
                self.num_samples, seed=self.seed, condition=self._condition(), temperature=self.temperature
            )
        )
        head = self.model.head
        if head.num_levels is None:
            samples = np.clip(samples, 0.0, 1.0)
        grid = image_grid(samples, num_levels=head.num_levels, cols=self.cols)
        path = save_png(grid, os.path.join(self.directory, f"samples_epoch_{epoch:04d}.png"))
        self.written.append(path)
        if self._writer is not None:
            with self._writer.as_default():
                _image_summary("samples", grid, step=epoch)
            self._writer.flush()
        return path


def _image_summary(tag, grid, step):
    """Write one uint8 image as a TensorBoard image summary.

    `tf.summary.image` lives in the `tensorboard` package; without it the same record (the
    images plugin's `[width, height, png]` string tensor) is written with TensorFlow's own
    `tf.summary.write`, which TensorBoard reads alike.
    """
    import tensorflow as tf

    image = grid[None, ..., None] if grid.ndim == 2 else grid[None]
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        from tensorflow.core.framework import summary_pb2

        metadata = summary_pb2.SummaryMetadata()
        metadata.plugin_data.plugin_name = "images"
        height, width = grid.shape[:2]
        tensor = tf.stack([tf.as_string(width), tf.as_string(height), tf.io.encode_png(image[0])])
        return tf.summary.write(tag, tensor, step=step, metadata=metadata)
    return tf.summary.image(tag, image, step=step)
