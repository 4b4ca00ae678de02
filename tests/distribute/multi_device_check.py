"""Train the same keras_ar model on one device and on two, in one fresh process; print a JSON report.

Run by `tests/distribute/test_multi_device.py` as a subprocess, because the devices must be set
up before TensorFlow runs its first op (`tf.config.set_logical_device_configuration`) or before
JAX is imported (`XLA_FLAGS=--xla_force_host_platform_device_count=2`):

    KERAS_BACKEND=tensorflow python tests/distribute/multi_device_check.py OUT_DIR
    KERAS_BACKEND=jax python tests/distribute/multi_device_check.py OUT_DIR

TensorFlow trains under `tf.distribute.MirroredStrategy` over 2 logical CPUs, JAX under
`keras.distribution.DataParallel` over 2 virtual CPU devices. The report holds the loss of every
step on one device and on two (same initial weights, data, batches and optimizer), the largest
weight difference after training, whether two replicas drew different dropout masks (on TensorFlow
also: replica 0 draws one device's mask, the mirrored seed states stay equal), and the
paths of a sample and a SavedModel exported from the model trained on two devices.
"""

import json
import os
import sys

BACKEND = os.environ.get("KERAS_BACKEND", "tensorflow")
if BACKEND == "jax":
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" not in flags:
        os.environ["XLA_FLAGS"] = (flags + " --xla_force_host_platform_device_count=2").strip()
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

if BACKEND == "tensorflow":
    import tensorflow as tf

    _cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(_cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import numpy as np  # noqa: E402

import keras  # noqa: E402

import keras_ar  # noqa: E402
import keras_ar.export  # noqa: E402

STEPS = 4
BATCH = 16


def data():
    rng = np.random.default_rng(0)
    # a fixed binary pattern per example plus noise: something to learn in a few steps
    x = (rng.random((STEPS * BATCH, 8, 8, 1)) < 0.3).astype("float32")
    return x


def make_model(dropout=0.0):
    return keras_ar.models.PixelCNN(
        input_shape=(8, 8, 1), filters=8, num_residual_blocks=1, first_kernel_size=3, dropout=dropout
    )


def train(model, weights, x):
    model.build()
    model.set_weights(weights)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1))
    losses = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            losses.append(float(logs["loss"]))

    history = model.fit(x, batch_size=BATCH, epochs=2, shuffle=False, verbose=0, callbacks=[Record()])
    return losses, [float(v) for v in history.history["loss"]]


def dropout_masks_tf(strategy):
    """Two replicas run the same dropout model on the same input: do their masks differ?

    Also: replica 0 draws what the model draws outside the replicas from the same seed state
    (one device's draw), and the mirrored seed states stay equal on both replicas afterwards.
    """
    with strategy.scope():
        model = make_model(dropout=0.5)
        model.build()
    x = tf.ones((2, 8, 8, 1))
    generators = [g for layer in model._flatten_layers() for g in layer._seed_generators]
    start = [g.state.numpy() for g in generators]

    @tf.function
    def run():
        return strategy.run(lambda: model(x, training=True))

    values = [v.numpy() for v in strategy.experimental_local_results(run())]
    states = [[c.numpy() for c in strategy.experimental_local_results(g.state.value)] for g in generators]
    for g, value in zip(generators, start):
        g.state.assign(value)
    one_device = keras.ops.convert_to_numpy(model(x, training=True))
    return {
        "dropout_masks_differ": bool(not np.allclose(values[0], values[1])),
        "replica_zero_draws_one_device_mask": bool(np.allclose(values[0], one_device, rtol=1e-5, atol=1e-6)),
        "seed_states_mirrored": bool(generators) and all(np.array_equal(s[0], s[1]) for s in states),
    }


def dropout_masks_jax(distribution):
    """Under DataParallel the batch is split over the devices: do the two halves draw different masks?"""
    with distribution.scope():
        model = make_model(dropout=0.5)
        model.build()
    x = np.ones((4, 8, 8, 1), "float32")
    x = keras.distribution.distribute_tensor(x, distribution.get_data_layout(x.shape))
    out = keras.ops.convert_to_numpy(model(x, training=True))
    return {"dropout_masks_differ": bool(not np.allclose(out[:2], out[2:]))}


def main(out_dir):
    keras.utils.set_random_seed(0)
    x = data()
    reference = make_model()
    reference.build()
    weights = reference.get_weights()

    keras.utils.set_random_seed(1)
    one = make_model()
    one_steps, one_epochs = train(one, weights, x)

    keras.utils.set_random_seed(1)
    if BACKEND == "tensorflow":
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        with strategy.scope():
            two = make_model()
            two_steps, two_epochs = train(two, weights, x)
        devices = strategy.num_replicas_in_sync
        masks = dropout_masks_tf(strategy)
    else:
        import jax

        distribution = keras.distribution.DataParallel(devices=jax.devices("cpu")[:2])
        with distribution.scope():
            two = make_model()
            two_steps, two_epochs = train(two, weights, x)
        devices = len(jax.devices("cpu"))
        masks = dropout_masks_jax(distribution)

    weight_diff = max(float(np.max(np.abs(a - b))) for a, b in zip(one.get_weights(), two.get_weights()))

    samples = keras.ops.convert_to_numpy(two.sample(3, seed=0))
    export_path = keras_ar.export.export_saved_model(two, os.path.join(out_dir, "two_devices"))
    two_log_prob = keras.ops.convert_to_numpy(two.log_prob(x[:8]))
    import tensorflow  # a TensorFlow-only load of the export, on either backend

    served = tensorflow.saved_model.load(export_path).signatures["log_prob"](x=tensorflow.constant(x[:8]))
    report = {
        "backend": BACKEND,
        "devices": devices,
        "one_device_step_losses": one_steps,
        "two_device_step_losses": two_steps,
        "one_device_epoch_losses": one_epochs,
        "two_device_epoch_losses": two_epochs,
        "max_weight_difference": weight_diff,
        **masks,
        "sample_shape": list(samples.shape),
        "sample_values": sorted(set(np.unique(samples).tolist())),
        "export_path": export_path,
        "log_prob": two_log_prob.tolist(),
        "served_log_prob": served["log_prob"].numpy().tolist(),
    }
    print("REPORT " + json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1])
