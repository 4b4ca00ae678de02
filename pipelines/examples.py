"""The one record format of every `Examples` artifact, and readers for it.

Each example is a `tf.train.Example` with
- `id`: bytes, the example's name (a file name, `digits/17`, `co2/window-3`);
- `x`: float list, the values flattened (pixels, audio samples, series values);
- `shape`: int64 list, the shape of `x`;
- `label`: int64, a class label or -1.

Splits are directories `<uri>/<split>/` of shards `data-00000-of-00002.tfrecord`.
"""

import glob
import os

import numpy as np

from pipelines.errors import PipelineError

SPLITS = ("train", "eval")


def encode(example_id, x, label=-1):
    """Serialize one example (`x` any numeric array) to `tf.train.Example` bytes."""
    import tensorflow as tf

    x = np.asarray(x)
    feature = {
        "id": tf.train.Feature(bytes_list=tf.train.BytesList(value=[str(example_id).encode()])),
        "x": tf.train.Feature(float_list=tf.train.FloatList(value=x.astype("float32").reshape(-1))),
        "shape": tf.train.Feature(int64_list=tf.train.Int64List(value=list(x.shape))),
        "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(label)])),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def decode(serialized):
    """`(id, x float32 array of its shape, label)` from `tf.train.Example` bytes."""
    import tensorflow as tf

    example = tf.train.Example.FromString(serialized)
    f = example.features.feature
    x = np.asarray(f["x"].float_list.value, "float32").reshape(list(f["shape"].int64_list.value))
    return f["id"].bytes_list.value[0].decode(), x, int(f["label"].int64_list.value[0])


def split_files(uri, split):
    """The shards of one split, sorted; a `PipelineError` when there are none."""
    files = sorted(glob.glob(os.path.join(uri, split, "*.tfrecord")))
    if not files:
        raise PipelineError(
            f"the Examples artifact at {uri} has no '{split}' split (no {split}/*.tfrecord); rerun ExampleGen"
        )
    return files


def split_pattern(uri, split):
    return os.path.join(uri, split, "*.tfrecord")


def write_path(uri, split):
    return os.path.join(uri, split, "data")


def dataset(files, shape, batch_size, shuffle=False, seed=0, with_label=False, count=None, reshuffle=True):
    """A `tf.data.Dataset` of `x` batches (float32 `[batch, *shape]`) from TFRecord shards.

    `count`, the number of records when known, gives the dataset its cardinality (Keras then
    knows the epoch's length). `reshuffle=False` gives every pass over the dataset the order of
    `seed` alone (a Keras fit that peeks at the data first would otherwise train on the second order).
    """
    import tensorflow as tf

    shape = tuple(int(s) for s in shape)
    size = int(np.prod(shape))
    spec = {
        "x": tf.io.FixedLenFeature([size], tf.float32),
        "label": tf.io.FixedLenFeature([1], tf.int64),
    }

    def parse(record):
        features = tf.io.parse_single_example(record, spec)
        x = tf.reshape(features["x"], shape)
        return (x, features["label"][0]) if with_label else x

    ds = tf.data.TFRecordDataset(list(files))
    if count is not None:
        ds = ds.apply(tf.data.experimental.assert_cardinality(int(count)))
    if shuffle:
        ds = ds.shuffle(4096, seed=seed, reshuffle_each_iteration=reshuffle)
    return ds.map(parse, num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size).prefetch(tf.data.AUTOTUNE)


def read_file(path):
    """Every record of one TFRecord file; a `PipelineError` naming the file if it is corrupt."""
    import tensorflow as tf

    try:
        for record in tf.data.TFRecordDataset(path):
            yield record.numpy()
    except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as e:
        detail = str(e).strip().splitlines()[0][:120]
        raise PipelineError(
            f"{path} is not a readable TFRecord file ({detail}); replace or remove it"
        ) from None
