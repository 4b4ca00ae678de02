"""ExampleGen: raw data -> sharded TFRecords with a train/eval split (a Beam job)."""

import functools
import hashlib
import os

import apache_beam as beam
import numpy as np

from pipelines import artifacts
from pipelines import beam_utils
from pipelines import examples
from pipelines.components.base import Component
from pipelines.errors import PipelineError

SOURCES = ("digits", "npy", "images", "tfrecord", "wav", "text", "co2", "sunspots")
PATH_SOURCES = ("npy", "images", "tfrecord", "wav", "text")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


class ExampleGen(Component):
    """Read a source into `Examples`: `<uri>/train/*.tfrecord` and `<uri>/eval/*.tfrecord`.

    Sources (`source`):
    - `"digits"`: scikit-learn's bundled 8x8 digits, raw levels 0..16, shape (8, 8, 1), labels.
    - `"npy"`: `path` to a `.npy` array `[N, ...]`; `labels_path` an optional `[N]` int array.
    - `"images"`: `path` to a folder of images (PNG, JPEG, ...), all of one size; images in
      sub-folders get the sub-folder's index (sorted names) as their label.
    - `"tfrecord"`: `path`, a glob of TFRecord files in this package's format (`pipelines.examples`).
    - `"wav"`: `path` to a folder of PCM `.wav` files (8, 16 or 32 bit), cut into windows of
      `window` samples (`stride` apart), shape (window, channels), values in [-1, 1]; files in
      sub-folders get the sub-folder's index as their label. Split by file (the windows of one
      recording never land in both splits).
    - `"text"`: `path` to a text file or a folder of `.txt` files, as UTF-8 bytes cut into windows
      of `window` bytes (`stride` apart), shape (window, 1), values 0..255 (a categorical model
      with `num_levels: 256`). Split in position: the last `eval_percent`% of each file is eval
      (a window across the cut is dropped, so overlapping windows leak nothing).
    - `"co2"`, `"sunspots"`: statsmodels' bundled series, cut into windows of `window` steps
      (`stride` apart), shape (window, 1); split in time (the last `eval_percent`% is eval).

    Other sources are split by a hash of each example's id: the same example always lands in
    the same split, whatever else is added. Config: `source`, `path`, `labels_path`,
    `eval_percent` (default 20), `num_shards` (per split, default 2), `window`, `stride`, `beam`.

    Example:

    ```yaml
    ExampleGen: {source: images, path: data/faces, eval_percent: 10, num_shards: 8}
    ```
    """

    OUTPUTS = {"examples": artifacts.EXAMPLES}
    DEFAULTS = {
        "source": "digits", "path": None, "labels_path": None, "eval_percent": 20, "num_shards": 2,
        "window": 64, "stride": 16, "beam": None,
    }

    def check_config(self, c):
        if c["source"] not in SOURCES:
            raise PipelineError(f"ExampleGen: unknown source {c['source']!r}; set `source` to one of {list(SOURCES)}")
        if c["source"] in PATH_SOURCES and not c["path"]:
            raise PipelineError(f"ExampleGen: source {c['source']!r} needs `path`; set ExampleGen.path in the config")
        if not (isinstance(c["eval_percent"], int) and 0 < c["eval_percent"] < 100):
            raise PipelineError(f"ExampleGen: `eval_percent` must be an int in 1..99, got {c['eval_percent']!r}")
        if not (isinstance(c["num_shards"], int) and c["num_shards"] >= 1):
            raise PipelineError(f"ExampleGen: `num_shards` must be an int >= 1, got {c['num_shards']!r}")
        for key in ("window", "stride"):
            if not (isinstance(c[key], int) and c[key] >= 1):
                raise PipelineError(f"ExampleGen: `{key}` must be an int >= 1, got {c[key]!r}; fix ExampleGen.{key}")

    def code_files(self):
        return super().code_files() + [examples.__file__]

    def extra_fingerprint(self, input_dict):
        """The source's own content: a folder's or file's hash (the bundled sets are fixed)."""
        path = self.exec_properties["path"]
        if self.exec_properties["source"] == "tfrecord":
            import glob

            return artifacts.hash_files(sorted(glob.glob(path)))
        if path:
            _check_exists(path)
            labels = self.exec_properties["labels_path"]
            return artifacts.hash_files([path] + ([labels] if labels else []))
        return None

    def Do(self, input_dict, output_dict, exec_properties):  # noqa: N802
        c = exec_properties
        out = output_dict["examples"]
        eval_percent = c["eval_percent"]
        pipeline = beam_utils.make_pipeline(c["beam"])
        if c["source"] == "tfrecord":
            import glob

            files = sorted(glob.glob(c["path"]))
            if not files:
                raise PipelineError(f"ExampleGen: no file matches path {c['path']!r}; fix ExampleGen.path")
            records = (
                pipeline
                | "ListFiles" >> beam.Create(files)
                | "ReadRecords" >> beam.FlatMap(examples.read_file)
                | "Validate" >> beam.Map(_validated_record)
            )
            keyed = records | "SplitByHash" >> beam.Map(lambda r: (_hash_split(examples.decode(r)[0], eval_percent), r))
        else:
            items, load = _source(c)
            keyed = (
                pipeline
                | "ListExamples" >> beam.Create(items)
                | "Load" >> beam.Map(load)
                | "Encode" >> beam.Map(lambda e: (e[0], examples.encode(*e[1:])))
            )
        for split in examples.SPLITS:
            (
                keyed
                | f"Select-{split}" >> beam.Filter(lambda kv, s=split: kv[0] == s)
                | f"Count-{split}" >> beam.Map(_count, split)
                | f"Write-{split}" >> beam.io.WriteToTFRecord(
                    examples.write_path(out.uri, split), file_name_suffix=".tfrecord", num_shards=c["num_shards"]
                )
            )
        result = beam_utils.run(pipeline, "ExampleGen")
        counts = _counts(result) or {s: _count_records(out.uri, s) for s in examples.SPLITS}
        for split in examples.SPLITS:
            if counts.get(split, 0) == 0:
                raise PipelineError(
                    f"ExampleGen: the {split} split is empty ({counts.get('train', 0)} train, "
                    f"{counts.get('eval', 0)} eval examples); add data or change ExampleGen.eval_percent"
                )
        out.properties.update(split_names=list(examples.SPLITS), counts=counts, source=c["source"])


def _count(kv, split):
    beam.metrics.Metrics.counter("ExampleGen", split).inc()
    return kv[1]


def _counts(result):
    counts = {}
    try:
        for counter in result.metrics().query()["counters"]:
            if counter.key.metric.namespace == "ExampleGen":
                counts[counter.key.metric.name] = counts.get(counter.key.metric.name, 0) + counter.committed
    except Exception:  # a runner without metrics: count the records
        return None
    return counts


def _count_records(uri, split):
    import glob

    return sum(1 for f in glob.glob(examples.split_pattern(uri, split)) for _ in examples.read_file(f))


def _hash_split(example_id, eval_percent):
    bucket = int(hashlib.md5(str(example_id).encode()).hexdigest(), 16) % 100
    return "eval" if bucket < eval_percent else "train"


def _validated_record(record):
    try:
        examples.decode(record)
    except Exception:
        raise PipelineError(
            "ExampleGen: a record is not a keras_ar pipelines Example (features id, x, shape, label); "
            "write it with pipelines.examples.encode"
        ) from None
    return record


def _check_exists(path):
    if not os.path.exists(path):
        raise PipelineError(f"ExampleGen: input path {path!r} does not exist; fix ExampleGen.path in the config")


def _source(c):
    """`(items, load)`: small descriptions of the examples, and a function making `(split, id, x, label)`."""
    eval_percent = c["eval_percent"]
    source = c["source"]
    if source == "digits":
        from keras_ar.datasets import digits

        images, labels = digits.load_raw()  # the bundled 8x8 digits, levels 0..16
        images = images.astype("float32")[..., None]
        items = [(f"digits/{i}", images[i], int(labels[i])) for i in range(len(images))]
        return items, lambda it: (_hash_split(it[0], eval_percent), it[0], it[1], it[2])
    if source in ("co2", "sunspots"):
        from keras_ar.datasets.timeseries import raw_series

        values = raw_series(source).astype("float32")
        window, stride = int(c["window"]), int(c["stride"])
        cut = int(len(values) * (100 - eval_percent) / 100)
        items = []
        for start in range(0, len(values) - window + 1, stride):
            if start + window <= cut:
                split = "train"
            elif start >= cut:
                split = "eval"
            else:
                continue  # a window across the cut would leak eval values into training
            items.append((f"{source}/{start}", values[start:start + window, None], -1, split))
        return items, lambda it: (it[3], it[0], it[1], it[2])
    path = c["path"]
    _check_exists(path)
    if source == "npy":
        try:
            array = np.load(path, allow_pickle=False)
        except Exception as e:
            raise PipelineError(f"ExampleGen: cannot read {path!r} as a .npy array ({type(e).__name__}); fix ExampleGen.path") from None
        if array.ndim < 2 or not np.issubdtype(array.dtype, np.number) or not np.all(np.isfinite(array)):
            raise PipelineError(
                f"ExampleGen: {path!r} must hold a finite numeric array [N, ...] with N examples; "
                f"got dtype {array.dtype} and shape {array.shape}"
            )
        labels = np.full(len(array), -1)
        if c["labels_path"]:
            _check_exists(c["labels_path"])
            labels = np.load(c["labels_path"]).astype("int64").reshape(-1)
            if len(labels) != len(array):
                raise PipelineError(f"ExampleGen: {c['labels_path']!r} has {len(labels)} labels for {len(array)} examples; give one label per example")
        name = os.path.basename(path)
        items = [(f"{name}/{i}", array[i], int(labels[i])) for i in range(len(array))]
        return items, lambda it: (_hash_split(it[0], eval_percent), it[0], it[1], it[2])
    if source == "wav":
        return _wav_source(path, c)
    if source == "text":
        return _text_source(path, c)
    # images
    if not os.path.isdir(path):
        raise PipelineError(f"ExampleGen: {path!r} is not a folder; set ExampleGen.path to a folder of images")
    files = sorted(
        os.path.join(root, f) for root, _, names in os.walk(path) for f in names if f.lower().endswith(IMAGE_EXTENSIONS)
    )
    if not files:
        raise PipelineError(f"ExampleGen: no image ({', '.join(IMAGE_EXTENSIONS)}) under {path!r}; fix ExampleGen.path")
    classes = sorted({os.path.dirname(os.path.relpath(f, path)) for f in files})
    labelled = classes != [""]
    shape = _image(files[0]).shape
    items = [
        (os.path.relpath(f, path), f, classes.index(os.path.dirname(os.path.relpath(f, path))) if labelled else -1)
        for f in files
    ]

    def load(item):
        image = _image(item[1])
        if image.shape != shape:
            raise PipelineError(
                f"ExampleGen: image {item[1]} has shape {image.shape}, the folder's first image {shape}; "
                "resize the images to one shape"
            )
        return _hash_split(item[0], eval_percent), item[0], image, item[2]

    return items, load


def _image(path):
    from PIL import Image

    try:
        with Image.open(path) as image:
            mode = "L" if image.mode in ("1", "L", "P", "I", "I;16") else "RGB"
            array = np.asarray(image.convert(mode))
    except Exception as e:
        raise PipelineError(f"ExampleGen: cannot read image {path} ({type(e).__name__}); remove or replace it") from None
    return array[..., None] if array.ndim == 2 else array


def _windows(length, window, stride):
    return range(0, length - window + 1, stride)


def _wav_source(path, c):
    if not os.path.isdir(path):
        raise PipelineError(f"ExampleGen: {path!r} is not a folder; set ExampleGen.path to a folder of .wav files")
    files = sorted(os.path.join(root, f) for root, _, names in os.walk(path) for f in names if f.lower().endswith(".wav"))
    if not files:
        raise PipelineError(f"ExampleGen: no .wav file under {path!r}; fix ExampleGen.path")
    classes = sorted({os.path.dirname(os.path.relpath(f, path)) for f in files})
    labelled = classes != [""]
    window, stride, eval_percent = int(c["window"]), int(c["stride"]), c["eval_percent"]
    items = []
    for f in files:  # the items are the windows; each load reads its file (cheap next to the encoding)
        name = os.path.relpath(f, path)
        label = classes.index(os.path.dirname(name)) if labelled else -1
        split = _hash_split(name, eval_percent)
        items += [(f"{name}/{start}", f, start, label, split) for start in _windows(_wav_frames(f), window, stride)]
    if not items:
        raise PipelineError(
            f"ExampleGen: no .wav file under {path!r} has {window} samples; lower ExampleGen.window"
        )

    def load(item):
        example_id, f, start, label, split = item
        return split, example_id, _read_wav(f)[start:start + window], label

    return items, load


def _wav_frames(path):
    import wave

    try:
        with wave.open(path, "rb") as w:
            return w.getnframes()
    except (wave.Error, EOFError, OSError) as e:
        raise PipelineError(f"ExampleGen: cannot read {path} as a PCM .wav file ({e}); convert it to PCM WAV or remove it") from None


@functools.lru_cache(maxsize=4)  # the windows of one file are loaded one after another
def _read_wav(path):
    """`[frames, channels]` float32 in [-1, 1] from an 8, 16 or 32 bit PCM WAV file."""
    import wave

    with wave.open(path, "rb") as w:
        width, channels, frames = w.getsampwidth(), w.getnchannels(), w.readframes(w.getnframes())
    if width == 1:
        values = (np.frombuffer(frames, np.uint8).astype("float32") - 128.0) / 128.0
    elif width in (2, 4):
        dtype = np.int16 if width == 2 else np.int32
        values = np.frombuffer(frames, f"<i{width}").astype("float32") / float(np.iinfo(dtype).max + 1)
    else:
        raise PipelineError(f"ExampleGen: {path} has {8 * width}-bit samples; convert it to 8, 16 or 32 bit PCM")
    return values.reshape(-1, channels)


def _text_source(path, c):
    if os.path.isdir(path):
        files = sorted(os.path.join(root, f) for root, _, names in os.walk(path) for f in names if f.lower().endswith(".txt"))
        if not files:
            raise PipelineError(f"ExampleGen: no .txt file under {path!r}; fix ExampleGen.path")
    else:
        files = [path]
    window, stride, eval_percent = int(c["window"]), int(c["stride"]), c["eval_percent"]
    items = []
    for f in files:
        try:
            with open(f, "rb") as fh:
                data = np.frombuffer(fh.read(), np.uint8)
        except OSError as e:
            raise PipelineError(f"ExampleGen: cannot read {f} ({type(e).__name__}); fix ExampleGen.path") from None
        name = os.path.relpath(f, path) if os.path.isdir(path) else os.path.basename(f)
        cut = int(len(data) * (100 - eval_percent) / 100)
        for start in _windows(len(data), window, stride):
            if start + window <= cut:
                split = "train"
            elif start >= cut:
                split = "eval"
            else:
                continue
            items.append((f"{name}/{start}", data[start:start + window, None].astype("float32"), -1, split))
    if not items:
        raise PipelineError(f"ExampleGen: no text under {path!r} is {window} bytes long; lower ExampleGen.window")
    return items, lambda it: (it[3], it[0], it[1], it[2])
