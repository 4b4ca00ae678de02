"""A Trainer module for any keras_ar model: `run_fn(fn_args)`, TFX's Trainer contract.

`fn_args.custom_config`:
- `model`: str, a class of `keras_ar.models` (`"PixelCNN"`, `"GatedPixelCNN"`, `"WaveNet"`, ...).
- `model_args`: dict, its constructor arguments beyond `input_shape`; `distribution` and
  `num_levels` default to what the Transform's output needs (`transform.json`).
- `epochs` (default 5), `batch_size` (64), `learning_rate` (1e-3), `seed` (0).
- `distribution`: `None` (one device), `"mirrored"` (`tf.distribute.MirroredStrategy` over
  the visible devices, TensorFlow) or `"data_parallel"` (`keras.distribution.DataParallel`,
  JAX).

The model trains with `model.fit` and the callbacks `ModelCheckpoint` (weights per epoch),
`BackupAndRestore` (a killed run resumes from its last finished epoch to the weights an
uninterrupted run reaches: each epoch's shuffle is seeded by its number, and the seed generators'
states are backed up with the weights) and `TensorBoard`, all under
`fn_args.model_run_dir`, and is exported with `keras_ar.export.export_archive` to
`fn_args.serving_model_dir`.
"""

import contextlib
import importlib.util
import json
import os
import warnings

import keras

from pipelines import examples
from pipelines.errors import PipelineError


def check_custom_config(custom_config):
    """A one-line `PipelineError` for an unknown model or a bad value, before anything runs."""
    import keras_ar

    name = custom_config.get("model", "PixelCNN")
    known = sorted(
        n for n in dir(keras_ar.models)
        if isinstance(getattr(keras_ar.models, n), type)
        and issubclass(getattr(keras_ar.models, n), keras_ar.models.AutoregressiveModel)
        and n != "AutoregressiveModel"
    )
    if name not in known:
        raise PipelineError(f"Trainer: unknown model {name!r} in custom_config.model; use one of {known}")
    if custom_config.get("distribution") not in (None, "mirrored", "data_parallel"):
        raise PipelineError(
            f"Trainer: unknown distribution {custom_config.get('distribution')!r}; "
            "use null, 'mirrored' (TensorFlow) or 'data_parallel' (JAX)"
        )
    for key in ("epochs", "batch_size"):
        value = custom_config.get(key, 1)
        if not isinstance(value, int) or value < 1:
            raise PipelineError(f"Trainer: custom_config.{key} must be an int >= 1, got {value!r}")


def _scope(distribution):
    if distribution == "mirrored":
        import tensorflow as tf

        return tf.distribute.MirroredStrategy().scope()
    if distribution == "data_parallel":
        return keras.distribution.DataParallel().scope()
    return contextlib.nullcontext()


def run_fn(fn_args):
    """Train a keras_ar model on the transformed examples and export it for serving."""
    import tensorflow as tf

    import keras_ar
    from keras_ar.export import export_archive

    config = dict(fn_args.custom_config or {})
    check_custom_config(config)
    with open(os.path.join(fn_args.transform_output, "transform.json")) as f:
        spec = json.load(f)
    model_args = dict(config.get("model_args") or {})
    if spec.get("distribution"):
        model_args.setdefault("distribution", spec["distribution"])
        if spec["distribution"] == "categorical":
            model_args.setdefault("num_levels", spec["num_levels"])
    batch_size = int(config.get("batch_size", 64))
    seed = int(config.get("seed", 0))
    keras.utils.set_random_seed(seed)

    train_files = sorted(f for p in fn_args.train_files for f in tf.io.gfile.glob(p))
    eval_files = sorted(f for p in fn_args.eval_files for f in tf.io.gfile.glob(p))
    counts = [sum(1 for _ in tf.data.TFRecordDataset(files)) for files in (train_files, eval_files)]
    epochs = int(config.get("epochs", 5))
    backup_dir = os.path.join(fn_args.model_run_dir, "backup")
    steps_per_epoch = fn_args.train_steps or -(-counts[0] // batch_size)
    train = _train_dataset(
        train_files, spec["shape"], batch_size, seed, counts[0], _resume_epoch(backup_dir), epochs, steps_per_epoch
    )
    val = examples.dataset(eval_files, spec["shape"], batch_size, count=counts[1])
    if fn_args.eval_steps:
        val = val.repeat()

    with _scope(config.get("distribution")):
        model_class = getattr(keras_ar.models, config.get("model", "PixelCNN"))
        try:
            model = model_class(input_shape=tuple(spec["shape"]), **model_args)
        except (TypeError, ValueError) as e:
            raise PipelineError(f"Trainer: {model_class.__name__}(**model_args) failed: {e}; fix custom_config.model_args") from None
        model.compile(optimizer=keras.optimizers.Adam(float(config.get("learning_rate", 1e-3))))

    run_dir = fn_args.model_run_dir
    callbacks = [
        SeededBackupAndRestore(backup_dir, double_checkpoint=True),
        keras.callbacks.ModelCheckpoint(os.path.join(run_dir, "checkpoints", "epoch-{epoch:03d}.weights.h5"), save_weights_only=True),
    ]
    if importlib.util.find_spec("tensorboard") is not None:  # the `pipelines` extra installs it
        callbacks.append(keras.callbacks.TensorBoard(os.path.join(run_dir, "logs"), profile_batch=0))
    else:
        warnings.warn("tensorboard is not installed: no TensorBoard logs (pip install 'keras-ar[pipelines]')")
    os.makedirs(os.path.join(run_dir, "checkpoints"), exist_ok=True)
    history = model.fit(
        train,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        validation_data=val,
        validation_steps=fn_args.eval_steps,
        callbacks=callbacks,
        verbose=int(config.get("verbose", 0)),
    )
    with open(os.path.join(run_dir, "history.json"), "w") as f:
        json.dump({k: [float(v) for v in vs] for k, vs in history.history.items()}, f, indent=1)
    model.save(os.path.join(run_dir, "model.keras"))
    export_archive(model, fn_args.serving_model_dir)
    return model


def _train_dataset(files, shape, batch_size, seed, count, start_epoch, epochs, steps_per_epoch):
    """Batches of epochs `start_epoch..epochs-1`, epoch e shuffled with seed `(seed, e)`.

    The order of an epoch depends on its number alone, not on how many epochs this process has
    run: a run resumed at epoch k (`BackupAndRestore`) sees the batches the uninterrupted run saw.
    """
    import functools

    def epoch_data(epoch):  # tf.data takes a shuffle seed as a Python int only: one dataset per epoch
        ds = examples.dataset(files, shape, batch_size, shuffle=True, seed=seed * 100003 + epoch, count=count,
                              reshuffle=False)
        return ds.repeat().take(steps_per_epoch)

    # chained: the next epoch's reader (and shuffle buffer) starts when the previous one ends
    return functools.reduce(lambda a, b: a.concatenate(b), [epoch_data(e) for e in range(start_epoch, max(epochs, start_epoch + 1))])


def _resume_epoch(backup_dir):
    """The epoch `BackupAndRestore` resumes from (0 without a backup): its `training_metadata.json`."""
    for name in ("training_metadata.json", "training_metadata.json.bkp"):
        try:
            with open(os.path.join(backup_dir, name)) as f:
                return int(json.load(f)["epoch"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return 0


class SeededBackupAndRestore(keras.callbacks.BackupAndRestore):
    """`keras.callbacks.BackupAndRestore` that also backs up the model's seed generators.

    Keras' weight files hold no `SeedGenerator` state, so a resumed run would draw its dropout
    masks (MADE's masks, NADE's orders) from the start of the stream again. This callback writes
    the states beside the backup at each epoch's end, tagged with the epoch, and restores them
    when the backup it resumes from is of that epoch.
    """

    def _seed_path(self):
        return os.path.join(self.backup_dir, "seed_states.json")

    def _generators(self):
        return [g for layer in self.model._flatten_layers() for g in getattr(layer, "_seed_generators", ())]

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        try:
            with open(self._seed_path()) as f:
                saved = json.load(f)
        except (OSError, ValueError):
            return
        generators = self._generators()
        if saved.get("epoch") != _resume_epoch(self.backup_dir) or len(saved.get("states", ())) != len(generators):
            warnings.warn("the seed states in the backup do not match its weights: dropout masks restart their stream")
            return
        for generator, state in zip(generators, saved["states"]):
            generator.state.assign(keras.ops.convert_to_tensor(state, dtype=generator.state.dtype))

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        states = [keras.ops.convert_to_numpy(g.state.value).tolist() for g in self._generators()]
        tmp = self._seed_path() + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"epoch": epoch + 1, "states": states}, f)
        os.replace(tmp, self._seed_path())


__all__ = ["SeededBackupAndRestore", "check_custom_config", "run_fn"]
