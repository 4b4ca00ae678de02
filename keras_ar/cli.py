"""`keras-ar`: train, evaluate, sample from, complete with and export keras_ar models.

    keras-ar train --model PixelCNN --data digits-binary --set filters=32 --epochs 20 --output m.keras
    keras-ar evaluate m.keras --data digits-binary             # test NLL (nats/example) and bits/dim
    keras-ar sample m.keras -n 16 --seed 0 --output samples.png  # or samples.npy
    keras-ar complete m.keras --data digits-binary --mask top-half -n 8 --output completions.png
    keras-ar export m.keras --output saved_models/digits       # prints saved_models/digits/<version>

`--data` is a benchmark protocol (`digits-binary`, `digits-17`, `digits-dequantized`,
`breast-cancer`, `patches-rgb`: their own train / validation / test splits and class labels;
`digits-superres`, `patches-colorize`: with a condition image per example, which `train`
passes to the model, with `condition_scale` set to the protocol's largest level; `train
--class-conditional` trains on a protocol's labels), a `.npy` file of examples
`[N, ...]`, a folder of PNG / JPEG images (grey or RGB, all the same size) or `tfds:<name>`
(TensorFlow Datasets; needs the network unless the data set is already downloaded).
Integer data are levels (uint8: 256 levels, 0/1 or bool: 2, other integers: max + 1; or
`--num-levels K` to quantize 8-bit data); float data are real-valued. Errors a user can fix
(a missing file, an unknown model, data of the wrong shape) print one line on stderr and exit
with status 2; `--debug` shows the traceback instead.
"""

import argparse
import dataclasses
import json
import math
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

_MASKS = ("top-half", "left-half")


class CliError(Exception):
    """An error the user can fix: printed as one line, exit status 2."""


# ---------------------------------------------------------------------------------------- data
@dataclasses.dataclass
class Data:
    """Examples loaded for the command line: named splits of arrays and the number of levels.

    Args:
        name: str, the `--data` argument.
        splits: dict of split name (`"train"`, `"validation"`, `"test"` or `"all"`) -> array.
        num_levels: int or None, the levels of discrete data (None for real values).
        protocol: bool, whether the data is a BENCHMARKS protocol (fixed splits).
        labels: dict of split name -> int class labels, or None (protocols have them).
        num_classes: int or None, the number of label classes.
        conditions: dict of split name -> condition images, or None (conditional protocols).
        condition_shape: tuple or None, the shape of one condition.
        condition_scale: float or None, the largest level of the condition images.
    """

    name: str
    splits: dict
    num_levels: object = None
    protocol: bool = False
    labels: object = None
    num_classes: object = None
    conditions: object = None
    condition_shape: object = None
    condition_scale: object = None

    @property
    def event_shape(self):
        return tuple(next(iter(self.splits.values())).shape[1:])

    def split(self, name=None):
        """One split; None: `"test"` where there is one, else every example (`"all"`)."""
        values = _pick(self.splits, name)
        if values is None:
            raise CliError(f"--data {self.name} has no {name!r} split; it has: {', '.join(self.splits)}")
        return values

    def side(self, kind, name=None):
        """The labels (`kind="labels"`) or condition images (`"conditions"`) of split `name`
        (as `split`), or None when the data has none."""
        table = getattr(self, kind)
        return None if table is None else _pick(table, name)

    def train_validation(self, validation_split=None):
        """(train, validation or None): the data's own splits, or the last `validation_split` of it."""
        if "train" in self.splits and "validation" in self.splits:
            return self.splits["train"], self.splits["validation"]
        train = self.splits["train"] if "train" in self.splits else self.splits["all"]
        if not validation_split:
            return train, None
        count = int(round(len(train) * validation_split))
        if count < 1 or count >= len(train):
            raise CliError(
                f"--validation-split {validation_split} leaves no validation or no training example "
                f"of the {len(train)} examples of --data {self.name}"
            )
        return train[:-count], train[-count:]


def _pick(table, name):
    """`table[name]` of split name -> array; None: `"test"` where there is one, else `"all"`, which
    is the splits concatenated when the table has no `"all"`. None when the split is missing."""
    if name is None:
        name = "test" if "test" in table else "all"
    if name == "all" and "all" not in table:
        return np.concatenate([table[k] for k in ("train", "validation", "test") if k in table])
    return table.get(name)


def _levels_of(x, name):
    """The number of levels of integer data, None for floats."""
    if x.dtype == bool:
        return 2
    if x.dtype.kind in "iu":
        if x.size and x.min() < 0:
            raise CliError(f"--data {name}: integer data must be levels >= 0; it holds {x.min()}")
        if not x.size or x.max() <= 1:
            return 2
        return 256 if x.dtype == np.uint8 else int(x.max()) + 1
    if x.dtype.kind == "f":
        return None
    raise CliError(f"--data {name}: expected numbers; received dtype {x.dtype}")


def _quantize(splits, num_levels, name):
    from keras_ar.data import quantize

    for key, x in splits.items():
        if x.dtype != np.uint8:
            raise CliError(f"--num-levels quantizes 8-bit (uint8) data; --data {name} holds {x.dtype}")
        splits[key] = quantize(x, num_levels, 255).astype(np.uint8 if num_levels <= 256 else np.int32)
    return splits


def _load_npy(path):
    try:
        x = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise CliError(f"cannot read --data {path}: {_one_line(e)}") from None
    if x.ndim < 2 or len(x) == 0:
        raise CliError(f"--data {path} must hold examples [N, ...] with N >= 1; it has shape {x.shape}")
    return x


def _load_image_folder(folder):
    """`keras_ar.data.load_image_folder` (the one loader), its errors as one-line CLI errors."""
    from keras_ar.data.images import load_image_folder

    try:
        return load_image_folder(folder)
    except ValueError as e:
        raise CliError(f"--data {folder}: {_one_line(e)}") from None


def _network_reachable(*args, **kwargs):
    """`keras_ar.data.network_reachable`: a TCP connection within a timeout (a seam for tests)."""
    from keras_ar.data.tfds_source import network_reachable

    return network_reachable(*args, **kwargs)


def _load_tfds(name):
    from keras_ar.data.tfds_source import check_tfds_available
    from keras_ar.data.tfds_source import tfds_data_dir
    from keras_ar.utils.extras import require

    if not name:
        raise CliError("--data tfds:<name> needs a TFDS name, e.g. tfds:mnist")
    tfds = require("tensorflow_datasets", "tfds", f"--data tfds:{name}")
    data_dir = tfds_data_dir()
    try:
        check_tfds_available(name, data_dir, reachable=_network_reachable)
    except ConnectionError as e:
        raise CliError(str(e)) from None

    try:
        builder = tfds.builder(name, data_dir=data_dir)
        builder.download_and_prepare()
        available = list(builder.info.splits)
        splits = {}
        for split in ("train", "validation", "test"):
            if split in available:
                features = tfds.as_numpy(builder.as_dataset(split=split, batch_size=-1))
                if "image" not in features:
                    raise CliError(
                        f"--data tfds:{name}: expected an 'image' feature; it has: {', '.join(features)}"
                    )
                splits[split] = features["image"]
    except CliError:
        raise
    except Exception as e:  # TFDS raises many types: an unknown name, a failed download, ...
        raise CliError(f"--data tfds:{name}: {_one_line(e)}") from None
    if "train" not in splits:
        raise CliError(f"--data tfds:{name} has no 'train' split; it has: {', '.join(available)}")
    return splits


def load_data(spec, num_levels=None):
    """Load `--data`: a protocol name, a `.npy` file, a folder of images or `tfds:<name>`.

    Args:
        spec: str, the `--data` argument.
        num_levels: int or None, quantize 8-bit data to this many levels.

    Returns:
        A `Data`.

    Example:

    >>> data = load_data("digits-17")
    >>> data.event_shape, data.num_levels, sorted(data.splits)
    ((8, 8, 1), 17, ['test', 'train', 'validation'])
    """
    from keras_ar.datasets import PROTOCOLS
    from keras_ar.datasets import load_protocol

    if spec in PROTOCOLS:
        if num_levels is not None:
            raise CliError(f"--num-levels does not apply to the protocol {spec}: it fixes its own levels")
        p = load_protocol(spec)
        names = ("train", "validation", "test")
        splits = {k: getattr(p, k) for k in names}
        labels = {k: getattr(p, f"{k}_labels") for k in names}
        conditions = {k: getattr(p, f"{k}_condition") for k in names} if p.is_conditional else None
        return Data(
            spec, splits, p.num_levels, protocol=True, labels=labels, num_classes=p.num_classes,
            conditions=conditions, condition_shape=p.condition_shape,
            condition_scale=float(p.num_levels - 1) if p.is_conditional else None,
        )
    if spec.startswith("tfds:"):
        splits = _load_tfds(spec[len("tfds:") :])
    elif os.path.isdir(spec):
        splits = {"all": _load_image_folder(spec)}
    elif spec.lower().endswith(".npy"):
        if not os.path.isfile(spec):
            raise CliError(f"data file not found: {spec}")
        splits = {"all": _load_npy(spec)}
    elif os.path.exists(spec):
        raise CliError(f"--data {spec}: expected a .npy file or a folder of PNG/JPEG images")
    else:
        raise CliError(
            f"--data {spec!r} is neither a protocol ({', '.join(PROTOCOLS)}), an existing .npy file or "
            "folder of images, nor tfds:<name>"
        )
    if num_levels is not None:
        if isinstance(num_levels, bool) or num_levels < 2:
            raise CliError(f"--num-levels must be an integer >= 2. Received: {num_levels}")
        splits = _quantize(splits, num_levels, spec)
    levels = [_levels_of(x, spec) for x in splits.values()]
    if any(lv is None for lv in levels) and not all(lv is None for lv in levels):
        raise CliError(f"--data {spec}: the splits mix integer and float values")
    return Data(spec, splits, num_levels or (None if levels[0] is None else max(levels)))


# ---------------------------------------------------------------------------------------- config
def parse_value(text):
    """A `--set` value: JSON where it parses (`3`, `0.5`, `true`, `[8, 8, 1]`, `null`), else the string.

    Example:

    >>> parse_value("[8, 8, 1]"), parse_value("0.5"), parse_value("categorical")
    ([8, 8, 1], 0.5, 'categorical')
    """
    try:
        return json.loads(text)
    except ValueError:
        return text


def load_config(path=None, assignments=()):
    """Model constructor arguments from a JSON / YAML file and `key=value` strings (later wins).

    Example:

    >>> load_config(None, ["filters=32", "distribution=categorical", "input_shape=[8, 8, 1]"])
    {'filters': 32, 'distribution': 'categorical', 'input_shape': [8, 8, 1]}
    """
    config = {}
    if path is not None:
        if not os.path.isfile(path):
            raise CliError(f"config file not found: {path}")
        lower = path.lower()
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if lower.endswith(".json"):
            try:
                loaded = json.loads(text)
            except ValueError as e:
                raise CliError(f"cannot parse --config {path}: {_one_line(e)}") from None
        elif lower.endswith((".yaml", ".yml")):
            try:
                import yaml
            except ImportError:
                raise CliError(
                    f"--config {path}: YAML configs need PyYAML (pip install pyyaml); or write the config as JSON"
                ) from None
            try:
                loaded = yaml.safe_load(text)
            except yaml.YAMLError as e:
                raise CliError(f"cannot parse --config {path}: {_one_line(e)}") from None
        else:
            raise CliError(f"--config must be a .json or .yaml file. Received: {path}")
        if not isinstance(loaded, dict):
            raise CliError(f"--config {path} must hold a mapping of argument names to values")
        config.update(loaded)
    for item in assignments:
        key, sep, value = item.partition("=")
        if not sep or not key.strip().isidentifier():
            raise CliError(f"--set takes key=value (e.g. --set filters=32). Received: {item!r}")
        config[key.strip()] = parse_value(value)
    return config


def model_classes():
    """The model classes of `keras_ar.models` by name (every `AutoregressiveModel` subclass)."""
    from keras_ar import models

    return {
        name: cls
        for name in models.__all__
        if isinstance(cls := getattr(models, name), type)
        and issubclass(cls, models.AutoregressiveModel)
        and cls is not models.AutoregressiveModel
    }


def _model_class(name):
    classes = model_classes()
    if name in classes:
        return classes[name]
    by_lower = {k.lower(): v for k, v in classes.items()}
    if name.lower() in by_lower:
        return by_lower[name.lower()]
    raise CliError(f"unknown model {name!r}; available: {', '.join(sorted(classes))}")


def infer_config(config, data):
    """Fill `input_shape`, `distribution` and `num_levels` from the data where the config lacks them."""
    config = dict(config)
    config.setdefault("input_shape", list(data.event_shape))
    if data.num_levels is None:
        config.setdefault("distribution", "gaussian_mixture")
    else:
        config.setdefault("distribution", "bernoulli" if data.num_levels == 2 else "categorical")
        if config["distribution"] in ("categorical", "logistic_mixture"):
            config.setdefault("num_levels", data.num_levels)
    return config


# ---------------------------------------------------------------------------------------- models
def _load_model(path):
    import keras

    from keras_ar.models import AutoregressiveModel

    if not os.path.isfile(path):
        raise CliError(f"model file not found: {path}")
    try:
        model = keras.saving.load_model(path)
    except Exception as e:  # keras raises ValueError, OSError, zipfile errors, ...
        raise CliError(f"cannot load model {path}: {_one_line(e)}") from None
    if not isinstance(model, AutoregressiveModel):
        raise CliError(f"{path} holds a {type(model).__name__}, not a keras_ar model")
    return model


def _check_image_model(model, output):
    shape = model.event_shape
    if len(shape) != 3 or shape[-1] not in (1, 3):
        raise CliError(
            f"a PNG needs an image model (input_shape (height, width, 1 or 3)); this model's is "
            f"{shape}: write --output .npy instead. Received: --output {output}"
        )


def _display(x, model):
    """Samples or data as something `image_grid` draws: levels, or reals clipped to [0, 1]."""
    x = np.asarray(x)
    if model.head.num_levels is None:
        return np.clip(x.astype(np.float64), 0.0, 1.0)
    return x


def _check_output(path, suffixes):
    if not path.lower().endswith(suffixes):
        raise CliError(f"--output must end in {' or '.join(suffixes)}. Received: {path}")
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)


def _parse_condition(text):
    if text is None:
        return None
    if text.lower().endswith(".npy"):
        if not os.path.isfile(text):
            raise CliError(f"condition file not found: {text}")
        return np.load(text, allow_pickle=False)
    value = parse_value(text)
    if isinstance(value, str):
        raise CliError(f"--condition takes a JSON number or list, or a .npy file. Received: {text!r}")
    return np.asarray(value)


def _default_condition(model, condition, n):
    if condition is None and model.num_classes:
        return np.arange(n) % model.num_classes  # cycle through the classes
    if condition is None and model.condition_shape:
        raise CliError(
            f"this model is conditioned on inputs of shape {model.condition_shape}: pass --condition FILE.npy "
            f"holding one {model.condition_shape} condition or {n} of them"
        )
    return condition


def _data_condition(model, data, split, count=None, hint="use the protocol it was trained on"):
    """What a conditional model needs from `--data` for `split`: its labels or condition images
    (None for a class-conditional model on data without labels when `count` is given: the
    caller cycles the classes)."""
    if model.num_classes and data.labels is None and count is not None:
        return None
    if model.num_classes:
        kind, what = "labels", f"class labels (num_classes={model.num_classes})"
    elif model.condition_shape:
        kind, what = "conditions", f"condition inputs of shape {model.condition_shape}"
    else:
        return None
    values = data.side(kind, split)
    if values is None:
        raise CliError(
            f"this model is conditioned on {what}, and --data {data.name} has none: {hint}"
        )
    if kind == "conditions" and tuple(values.shape[1:]) != tuple(model.condition_shape):
        raise CliError(
            f"--data {data.name} gives conditions of shape {tuple(values.shape[1:])}; the model takes "
            f"{tuple(model.condition_shape)}"
        )
    return values if count is None else values[:count]


def _make_mask(spec, event_shape, n):
    shape = (n,) + tuple(event_shape)
    mask = np.zeros(shape, bool)
    if spec == "top-half":
        mask[:, : event_shape[0] // 2] = True
    elif spec == "left-half":
        if len(event_shape) != 3:
            raise CliError(f"--mask left-half needs an image model; this model's input_shape is {event_shape}")
        mask[:, :, : event_shape[1] // 2] = True
    elif spec.lower().endswith(".npy"):
        if not os.path.isfile(spec):
            raise CliError(f"mask file not found: {spec}")
        loaded = np.load(spec, allow_pickle=False)
        if loaded.dtype != bool and not (loaded.dtype.kind in "iuf" and np.isin(loaded, (0, 1)).all()):
            raise CliError(f"--mask {spec} must hold booleans or 0/1 values")
        try:
            mask = np.broadcast_to(loaded.astype(bool), shape).copy()
        except ValueError:
            raise CliError(
                f"--mask {spec} must have the model's input_shape {tuple(event_shape)} or {shape}; "
                f"it has {loaded.shape}"
            ) from None
    else:
        raise CliError(f"--mask must be top-half, left-half or a .npy file. Received: {spec!r}")
    return mask


# ---------------------------------------------------------------------------------------- commands
def cmd_train(args):
    import keras

    from keras_ar.callbacks import SampleGrid
    from keras_ar.data import make_dataset

    if not args.output.lower().endswith(".keras"):
        raise CliError(f"--output must end in .keras. Received: {args.output}")
    if args.validation_split is not None and not 0.0 <= args.validation_split < 1.0:
        raise CliError(f"--validation-split must be in [0, 1). Received: {args.validation_split}")
    cls = _model_class(args.model)
    config = load_config(args.config, args.set or ())
    data = load_data(args.data, args.num_levels)
    train, validation = data.train_validation(args.validation_split)
    config = infer_config(config, data)
    kind = None
    if args.class_conditional:
        if data.labels is None:
            raise CliError(
                f"--class-conditional trains on a protocol's class labels; --data {data.name} has none "
                "(a .npy file, image folder or TFDS data set carries no labels here)"
            )
        if data.conditions is not None:
            raise CliError(f"--data {data.name} conditions on images; --class-conditional does not apply")
        kind = "labels"
        config.setdefault("num_classes", data.num_classes)
    elif data.conditions is not None:
        kind = "conditions"
        config.setdefault("condition_shape", list(data.condition_shape))
        config.setdefault("condition_scale", data.condition_scale)
    train_c, validation_c = (None, None) if kind is None else (data.side(kind, "train"), data.side(kind, "validation"))
    keras.utils.set_random_seed(args.seed)
    try:
        model = cls(**config)
    except TypeError as e:
        raise CliError(f"bad config for {cls.__name__}: {_one_line(e)}") from None
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate))
    conditioned = {None: "", "labels": ", conditioned on the class labels",
                   "conditions": f", conditioned on condition images {data.condition_shape}"}[kind]
    print(
        f"{cls.__name__} ({model.count_params():,} parameters, backend {keras.backend.backend()}) on "
        f"{data.name}: {len(train)} training examples, "
        f"{'no' if validation is None else len(validation)} validation examples, "
        f"event shape {data.event_shape}, "
        f"{'real values' if data.num_levels is None else f'{data.num_levels} levels'}"
        f"{conditioned}; "
        f"config {json.dumps(config, sort_keys=True)}",
        flush=True,
    )
    callbacks = []
    validation_ds = None
    if validation is not None:
        validation_ds = make_dataset(validation, validation_c, batch_size=max(args.batch_size, 256))
        callbacks.append(
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=args.patience, restore_best_weights=True)
        )
    if args.samples_dir is not None or args.log_dir is not None:
        # a condition-image model draws its grid for the first 16 validation (else train) conditions
        grid_c = None if kind != "conditions" else (train_c if validation_c is None else validation_c)[:16]
        callbacks.append(
            SampleGrid(
                every_n_epochs=args.sample_every,
                num_samples=16 if grid_c is None else len(grid_c),
                condition=grid_c,
                directory=args.samples_dir or os.path.join(args.log_dir, "samples"),
                seed=args.seed,
                log_dir=args.log_dir,
            )
        )
    verbose = args.verbose if args.verbose is not None else (1 if sys.stdout.isatty() else 2)
    history = model.fit(
        make_dataset(train, train_c, batch_size=args.batch_size, shuffle=True, seed=args.seed),
        validation_data=validation_ds,
        epochs=args.epochs,
        callbacks=callbacks,
        verbose=verbose,
    )
    losses = history.history.get("val_loss")
    if losses:
        best = int(np.argmin(losses))
        print(f"best validation loss {losses[best]:.4f} nats/example at epoch {best + 1} of {len(losses)}")
    parent = os.path.dirname(args.output)
    if parent:
        os.makedirs(parent, exist_ok=True)
    model.save(args.output)
    print(f"saved {args.output}")
    return 0


def cmd_evaluate(args):
    from keras_ar.data import make_dataset

    model = _load_model(args.model_file)
    data = load_data(args.data, args.num_levels)
    x = data.split(args.split)
    split = args.split or ("test" if "test" in data.splits else "all")
    condition = _data_condition(model, data, split)
    results = model.evaluate(make_dataset(x, condition, batch_size=args.batch_size), verbose=0, return_dict=True)
    loss, bpd = float(results["loss"]), float(results["bits_per_dim"])
    print(f"loss: {loss:.4f} nats/example, bits/dim: {bpd:.4f} ({len(x)} examples, {data.name} {split})")
    return 0


def cmd_sample(args):
    import keras

    from keras_ar.utils.images import image_grid
    from keras_ar.utils.images import save_png

    _check_output(args.output, (".png", ".npy"))
    model = _load_model(args.model_file)
    if args.output.lower().endswith(".png"):
        _check_image_model(model, args.output)
    condition = _default_condition(model, _parse_condition(args.condition), args.num_samples)
    samples = keras.ops.convert_to_numpy(
        _sample(model, args, args.num_samples, condition=condition)
    )
    if args.output.lower().endswith(".npy"):
        np.save(args.output, samples)
    else:
        save_png(image_grid(_display(samples, model), model.head.num_levels, cols=args.cols), args.output)
    print(f"wrote {len(samples)} samples to {args.output}")
    return 0


def cmd_complete(args):
    import keras

    from keras_ar.utils.images import image_grid
    from keras_ar.utils.images import save_png

    _check_output(args.output, (".png", ".npy"))
    model = _load_model(args.model_file)
    if args.output.lower().endswith(".png"):
        _check_image_model(model, args.output)
    data = load_data(args.data, args.num_levels)
    originals = data.split(args.split)[: args.num_samples]
    if tuple(originals.shape[1:]) != tuple(model.event_shape):
        raise CliError(
            f"--data {data.name} holds examples of shape {tuple(originals.shape[1:])}; the model takes "
            f"{tuple(model.event_shape)}"
        )
    n = len(originals)
    mask = _make_mask(args.mask, model.event_shape, n)
    condition = _parse_condition(args.condition)
    if condition is None:  # the originals' own labels or condition images
        condition = _data_condition(model, data, args.split, n, hint="use the protocol it was trained on, or "
                                    "pass --condition")
    condition = _default_condition(model, condition, n)
    completions = keras.ops.convert_to_numpy(
        _sample(model, args, n, condition=condition, known=originals, known_mask=mask)
    )
    if args.output.lower().endswith(".npy"):
        np.save(args.output, completions)
    else:
        masked = np.where(mask, originals, 0).astype(originals.dtype)
        rows = np.concatenate([_display(a, model) for a in (originals, masked, completions)])
        save_png(image_grid(rows, model.head.num_levels, cols=n), args.output)
    print(f"wrote {n} completions ({args.mask} known) to {args.output}")
    return 0


def cmd_export(args):
    model = _load_model(args.model_file)
    try:
        from keras_ar.export import export_saved_model
    except ImportError:
        raise CliError("keras_ar.export.export_saved_model is not available in this installation") from None
    output = args.output or os.path.join("saved_models", os.path.splitext(os.path.basename(args.model_file))[0])
    path = export_saved_model(model, output)
    print(path)
    return 0


# ---------------------------------------------------------------------------------------- parser
def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text}")
    return value


_SAMPLERS = "temperature (default), greedy, top-k:K or top-p:P"


def _sampler_spec(text):
    """`--sampler`: `temperature`, `greedy`, `top-k:K` (int K >= 1) or `top-p:P` (0 < P <= 1)."""
    name, _, value = text.partition(":")
    try:
        if name in ("temperature", "greedy") and not value:
            return (name, None)
        if name == "top-k" and int(value) >= 1:
            return (name, int(value))
        if name == "top-p" and 0.0 < float(value) <= 1.0:
            return (name, float(value))
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"expected {_SAMPLERS}, e.g. top-k:5 or top-p:0.9; got {text!r}")


def _sampler(args):
    """The sampler of `--sampler` at `--temperature` (None: temperature sampling, the default)."""
    name, value = args.sampler
    if name == "temperature":
        return None
    from keras_ar.generation import samplers

    if name == "greedy":
        if args.temperature != 1.0:
            raise CliError("--sampler greedy takes the most probable value: drop --temperature")
        return samplers.GreedySampler()
    if name == "top-k":
        return samplers.TopKSampler(k=value, temperature=args.temperature)
    return samplers.TopPSampler(p=value, temperature=args.temperature)


def _sample(model, args, n, **kwargs):
    """`model.sample` with the command line's seed, temperature and sampler."""
    sampler = _sampler(args)
    temperature = args.temperature if sampler is None else 1.0
    try:
        return model.sample(n, seed=args.seed, temperature=temperature, sampler=sampler, **kwargs)
    except ValueError as e:
        if sampler is None or "sampler" not in str(e).lower():
            raise
        raise CliError(f"--sampler {args.sampler[0]}: {e}") from None


def build_parser():
    """The `keras-ar` argument parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    data = argparse.ArgumentParser(add_help=False)
    data.add_argument("--data", required=True, help="protocol name, .npy file, folder of images, or tfds:<name>")
    data.add_argument("--num-levels", type=int, help="quantize 8-bit data to this many levels")
    sampling = argparse.ArgumentParser(add_help=False)
    sampling.add_argument("-n", "--num-samples", type=_positive_int, default=16, help="how many (default 16)")
    sampling.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    sampling.add_argument("--temperature", type=_positive_float, default=1.0, help="(default 1.0)")
    sampling.add_argument(
        "--sampler", type=_sampler_spec, default=("temperature", None), metavar="SAMPLER",
        help=f"how each value is drawn: {_SAMPLERS} (top-k/top-p/greedy: discrete heads of one channel)",
    )
    sampling.add_argument(
        "--condition",
        help="class label(s) or vector(s) as JSON, or a .npy file (default: complete takes the data's own labels or "
        "condition images; class models otherwise cycle through the classes)",
    )
    sampling.add_argument("--cols", type=_positive_int, help="images per row of a PNG grid")

    parser = argparse.ArgumentParser(
        prog="keras-ar", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("train", parents=[common, data], help="train a model and save it as .keras")
    p.add_argument("--model", required=True, help="a class of keras_ar.models, e.g. PixelCNN")
    p.add_argument("--config", help="model constructor arguments as a .json (or .yaml) file")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="one constructor argument (repeatable)")
    p.add_argument("--epochs", type=_positive_int, default=10, help="maximum epochs (default 10)")
    p.add_argument("--batch-size", type=_positive_int, default=64, help="(default 64)")
    p.add_argument(
        "--validation-split", type=float, help="hold out the last fraction (protocols use their own split)"
    )
    p.add_argument("--patience", type=_positive_int, default=10, help="early-stopping patience (default 10)")
    p.add_argument("--learning-rate", type=_positive_float, default=1e-3, help="Adam's (default 1e-3)")
    p.add_argument("--seed", type=int, default=0, help="initialisation and shuffling seed (default 0)")
    p.add_argument(
        "--class-conditional", action="store_true", help="condition on the protocol's class labels (num_classes)"
    )
    p.add_argument("--verbose", type=int, choices=(0, 1, 2), help="Keras verbosity (default 1 on a terminal, else 2)")
    p.add_argument("--samples-dir", help="write a sample grid PNG here every --sample-every epochs")
    p.add_argument("--sample-every", type=_positive_int, default=1, help="(default 1)")
    p.add_argument("--log-dir", help="TensorBoard directory for the sample grids")
    p.add_argument("--output", default="model.keras", help="the .keras file to write (default model.keras)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", parents=[common, data], help="loss (nats/example) and bits/dim on data")
    p.add_argument("model_file", metavar="MODEL.keras")
    p.add_argument("--split", choices=("train", "validation", "test", "all"), help="(default test, else all)")
    p.add_argument("--batch-size", type=_positive_int, default=256, help="(default 256)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("sample", parents=[common, sampling], help="draw samples to a PNG grid or .npy")
    p.add_argument("model_file", metavar="MODEL.keras")
    p.add_argument("--output", required=True, help="out.png (a grid; image models) or out.npy (raw samples)")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser(
        "complete", parents=[common, data, sampling], help="keep part of data examples, sample the rest"
    )
    p.add_argument("model_file", metavar="MODEL.keras")
    p.add_argument("--mask", default="top-half", help="top-half, left-half or a .npy of booleans (True = kept)")
    p.add_argument("--split", choices=("train", "validation", "test", "all"), help="(default test, else all)")
    p.add_argument("--output", required=True, help="out.png (rows: originals, masked, completions) or out.npy")
    p.set_defaults(func=cmd_complete, num_samples=8)

    p = sub.add_parser("export", parents=[common], help="export a SavedModel version for serving")
    p.add_argument("model_file", metavar="MODEL.keras")
    p.add_argument("--output", help="the model's serving directory (default saved_models/<file stem>)")
    p.set_defaults(func=cmd_export)
    return parser


def _one_line(error):
    return " ".join(str(error).split()) or type(error).__name__


def main(argv=None):
    """Run `keras-ar` with `argv` (default `sys.argv[1:]`); return the exit status.

    Example:

    >>> main(["train", "--model", "NoSuchModel", "--data", "digits-binary"])  # doctest: +SKIP
    2
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, or a usage error argparse has printed
        return e.code if isinstance(e.code, int) else 2
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("keras-ar: interrupted", file=sys.stderr)
        return 130
    except (CliError, ValueError, TypeError, OSError, ImportError) as e:  # ImportError: a missing extra
        if args.debug:
            raise
        print(f"keras-ar {args.command}: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except Exception as e:
        if args.debug:
            raise
        print(
            f"keras-ar {args.command}: error: {type(e).__name__}: {_one_line(e)} (--debug shows the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
