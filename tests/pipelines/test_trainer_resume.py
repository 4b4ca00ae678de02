"""The Trainer module's `BackupAndRestore`: a run killed mid-epoch, started again, ends with the
weights of a run that was never killed (same machine, same shapes; dropout included)."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

pytestmark = [pytest.mark.tf_only, pytest.mark.slow]  # three trainings in fresh processes: ~40 s

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EPOCHS = 4
BATCH = 16
KILL_AT_BATCH = 7  # 3 batches per epoch: epochs 1 and 2 done, killed inside epoch 3

CHILD = r"""
import os, signal, sys
import keras
from pipelines.fn_args import FnArgs
from pipelines.modules import keras_ar_trainer

data, work, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
if kill_at:
    seen = [0]
    original = keras.callbacks.BackupAndRestore.on_train_batch_end

    def on_train_batch_end(self, batch, logs=None):  # the process dies as a killed job would
        original(self, batch, logs)
        seen[0] += 1
        if seen[0] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    keras.callbacks.BackupAndRestore.on_train_batch_end = on_train_batch_end
fn_args = FnArgs(
    working_dir=work, model_run_dir=work, serving_model_dir=os.path.join(work, "serving"),
    train_files=[os.path.join(data, "train", "*.tfrecord")], eval_files=[os.path.join(data, "eval", "*.tfrecord")],
    transform_output=data,
    custom_config={"model": "PixelCNN", "epochs": %(epochs)d, "batch_size": %(batch)d, "learning_rate": 0.01,
                   "model_args": {"filters": 4, "num_residual_blocks": 1, "first_kernel_size": 3, "dropout": 0.3}},
)
keras_ar_trainer.run_fn(fn_args)
""" % {"epochs": EPOCHS, "batch": BATCH}


def _train(data, work, kill_at=0):
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="-1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
    return subprocess.run([sys.executable, "-c", CHILD, str(data), str(work), str(kill_at)],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)


def _weights(work):
    import keras

    import keras_ar  # noqa: F401  (registers the model classes)

    return keras.saving.load_model(os.path.join(work, "model.keras"), compile=False).get_weights()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    import tensorflow as tf

    from pipelines import examples

    root = tmp_path_factory.mktemp("resume")
    data = root / "data"
    rng = np.random.default_rng(0)
    for split, n in (("train", 48), ("eval", 16)):  # 48 / 16 = 3 batches per epoch
        os.makedirs(data / split)
        with tf.io.TFRecordWriter(str(data / split / "data-00000-of-00001.tfrecord")) as w:
            for i in range(n):
                w.write(examples.encode(f"{split}/{i}", (rng.random((4, 4, 1)) < 0.4).astype("float32")))
    with open(data / "transform.json", "w") as f:
        json.dump({"op": "identity", "shape": [4, 4, 1], "distribution": "bernoulli", "num_levels": 2}, f)

    whole = _train(data, root / "whole")
    assert whole.returncode == 0, whole.stderr[-3000:]
    killed = _train(data, root / "resumed", kill_at=KILL_AT_BATCH)
    with open(root / "resumed" / "backup" / "training_metadata.json") as f:
        backed_up_epoch = json.load(f)["epoch"]
    resumed = _train(data, root / "resumed")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    return root, killed, backed_up_epoch


def test_killed_run_left_a_backup_of_epoch_two(runs):
    _, killed, backed_up_epoch = runs
    assert killed.returncode == -signal.SIGKILL
    assert backed_up_epoch == 2


def test_resumed_run_trained_only_the_remaining_epochs(runs):
    root, _, _ = runs
    with open(root / "whole" / "history.json") as f:
        whole = json.load(f)
    with open(root / "resumed" / "history.json") as f:
        resumed = json.load(f)
    assert len(whole["loss"]) == EPOCHS and len(resumed["loss"]) == EPOCHS - 2
    # epochs 3 and 4 of both runs: same batches, same masks, same weights -> the same losses
    np.testing.assert_allclose(resumed["loss"], whole["loss"][2:], rtol=1e-5)
    assert not os.path.exists(root / "resumed" / "backup")  # removed once the run finished


def test_resumed_weights_equal_uninterrupted_weights(runs):
    root, _, _ = runs
    whole, resumed = _weights(root / "whole"), _weights(root / "resumed")
    assert len(whole) == len(resumed)
    for a, b in zip(whole, resumed):
        assert a.shape == b.shape
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
