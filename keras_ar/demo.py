"""`make demo`: train a PixelCNN on the bundled 8x8 digits, report test NLL, write sample PNGs,
export it as a SavedModel and check it in a process that has TensorFlow but no keras / keras_ar;
then the conditional uses, small and briefly trained: super-resolution (`superres.png`),
colorization (`colorize.png`) and a PixelCNN auto-encoder (`autoencoder.png`).

    python -m keras_ar.demo --output demo_output [--epochs 80] [--protocol digits-17]
                            [--export-dir saved_models/pixelcnn_digits]
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_ar.data import digits_dataset  # noqa: E402
from keras_ar.datasets import load_protocol  # noqa: E402
from keras_ar.models import GatedPixelCNN  # noqa: E402
from keras_ar.models import PixelCNN  # noqa: E402
from keras_ar.models import PixelCNNAutoEncoder  # noqa: E402
from keras_ar.utils.images import image_grid  # noqa: E402
from keras_ar.utils.images import save_png  # noqa: E402


_RELOAD = """
import json, sys
sys.modules["keras"] = None     # the SavedModel must load with TensorFlow alone:
sys.modules["keras_ar"] = None  # importing keras or keras_ar here would fail
import numpy as np
import tensorflow as tf
x = np.load(sys.argv[2]).astype("float32")
log_prob = tf.saved_model.load(sys.argv[1]).signatures["log_prob"]
print(json.dumps(log_prob(x=tf.constant(x))["log_prob"].numpy().tolist()))
"""


def reload_without_keras(path, x):
    """log_prob of `x` from the SavedModel at `path`, in a process that cannot import keras or keras_ar."""
    with tempfile.TemporaryDirectory() as tmp:
        np.save(os.path.join(tmp, "x.npy"), x)
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        result = subprocess.run(
            [sys.executable, "-c", _RELOAD, path, os.path.join(tmp, "x.npy")],
            capture_output=True, text=True, env=env, timeout=600,
        )
    if result.returncode != 0:
        raise RuntimeError(f"reloading {path} without keras failed:\n{result.stderr[-3000:]}")
    return np.array(json.loads(result.stdout.strip().splitlines()[-1]))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--output", default="demo_output")
    p.add_argument("--protocol", default="digits-17", choices=["digits-17", "digits-binary"])
    p.add_argument("--epochs", type=int, default=80, help="maximum epochs (early stopping on validation)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--export-dir", default=os.path.join("saved_models", "pixelcnn_digits"),
                   help="the SavedModel's serving directory; each run writes its next version")
    p.add_argument("--skip-conditional", action="store_true",
                   help="skip the conditional uses (super-resolution, colorization, auto-encoder)")
    args = p.parse_args(argv)
    os.makedirs(args.output, exist_ok=True)
    keras.utils.set_random_seed(args.seed)

    data = load_protocol(args.protocol)
    levels = data.num_levels
    # the configurations of benchmarks/quality.py (a 15x15 mask-A input layer sees the whole past of an 8x8 image)
    if args.protocol == "digits-17":
        model = PixelCNN(input_shape=(8, 8, 1), distribution="logistic_mixture", num_levels=levels,
                         num_components=5, filters=64, num_residual_blocks=3, first_kernel_size=15,
                         dropout=0.5, position_bias=True)
    else:
        model = PixelCNN(input_shape=(8, 8, 1), distribution="bernoulli", filters=96, num_residual_blocks=4,
                         first_kernel_size=15, dropout=0.7, position_bias=True)
    print(f"PixelCNN on {args.protocol}: {model.count_params()} parameters, backend {keras.backend.backend()}")
    model.compile(optimizer=keras.optimizers.AdamW(2e-3, weight_decay=0.1))
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=10, restore_best_weights=True)
    t0 = time.perf_counter()
    model.fit(
        digits_dataset(data, "train", batch_size=32, seed=args.seed),
        validation_data=digits_dataset(data, "validation", batch_size=256),
        epochs=args.epochs,
        callbacks=[stop],
        verbose=2,
    )
    print(f"trained in {time.perf_counter() - t0:.0f} s")
    nll = -float(np.mean(keras.ops.convert_to_numpy(model.log_prob(data.test))))
    print(f"test NLL: {nll:.2f} nats per image, {nll / 64 / math.log(2):.3f} bits/dim "
          f"({len(data.test)} test images)")

    t0 = time.perf_counter()
    samples = keras.ops.convert_to_numpy(model.sample(64, seed=args.seed))
    print(f"64 samples in {time.perf_counter() - t0:.1f} s")
    save_png(image_grid(samples, levels, cols=8), os.path.join(args.output, "samples.png"))

    # completions: keep the top half of 8 test digits, sample the bottom half 3 times
    originals = data.test[:8]
    mask = np.zeros((8, 8, 8, 1), bool)
    mask[:, :4] = True
    rows = [originals, np.where(mask, originals, 0)]
    for k in range(3):
        rows.append(keras.ops.convert_to_numpy(
            model.sample(8, known=originals, known_mask=mask, seed=args.seed + 1 + k)))
    save_png(image_grid(np.concatenate(rows), levels, cols=8), os.path.join(args.output, "completions.png"))
    model.save(os.path.join(args.output, "pixelcnn_digits.keras"))
    print(f"wrote {args.output}/samples.png, {args.output}/completions.png (rows: original, top half kept, "
          f"3 completions) and {args.output}/pixelcnn_digits.keras")

    # export for serving, then load it where only TensorFlow is importable and score 5 test digits
    from keras_ar.export import export_saved_model

    t0 = time.perf_counter()
    path = export_saved_model(model, args.export_dir)
    print(f"exported the SavedModel {path} in {time.perf_counter() - t0:.0f} s")
    digits = data.test[:5]
    served = reload_without_keras(path, digits)
    local = keras.ops.convert_to_numpy(model.log_prob(digits)).astype(np.float64)
    print("log_prob of 5 test digits (nats): Keras model | SavedModel loaded without keras")
    for a, b in zip(local, served):
        print(f"  {a:10.4f} | {b:10.4f}")
    print(f"max abs difference: {np.max(np.abs(local - served)):.2e}")

    if not args.skip_conditional:
        conditional_uses(args.output, seed=args.seed)


def _fit_quietly(model, x, condition=None, epochs=3, batch_size=32, learning_rate=5e-3):
    """A few epochs of a small model, as cheaply as it goes: on TensorFlow a plain `tf.function`
    step (XLA compiles longer than these few steps would save), and whole batches only (a last,
    smaller batch would trace the step a second time)."""
    compile_args = {"jit_compile": False} if keras.backend.backend() == "tensorflow" else {}
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), **compile_args)
    n = len(x) // batch_size * batch_size
    model.fit(x[:n], None if condition is None else condition[:n], epochs=epochs, batch_size=batch_size,
              verbose=0)


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _conditional_nll(model, x, condition=None):
    return -float(np.mean(_np(model.log_prob(x, condition)))) / (model.num_dims * math.log(2))


def conditional_uses(output, seed=0, num_images=8, num_samples=3):
    """Train three small conditional models briefly and write their PNGs to `output`.

    - `superres.png`: a `GatedPixelCNN` conditioned on the 4x4 block means of a digit
      (`digits-superres`); rows: the 4x4 input (upsampled), `num_samples` rows of 8x8 samples, the truth.
    - `colorize.png`: a `GatedPixelCNN` conditioned on the grey patch (`patches-colorize`), with
      PixelCNN++'s coupled RGB head; rows: the grey input, samples, the truth.
    - `autoencoder.png`: a `PixelCNNAutoEncoder` on `digits-17`; rows: test digits, then
      `num_samples` reconstructions `decode(encode(x))` with different seeds.

    The conditions are scaled to [0, 1] before they enter the models. Sampling runs the engine's
    naive step here (`use_cache=False`): on 8x8 images it compiles faster than the cached one,
    and draws the same images for the same seed.
    """
    t_all = time.perf_counter()
    rng = np.random.default_rng(seed)

    # super-resolution: the 4x4 image (means of 2x2 blocks, in [0, 16]) conditions the 8x8 digit
    t0 = time.perf_counter()
    sr = load_protocol("digits-superres")
    model = GatedPixelCNN(input_shape=(8, 8, 1), distribution="categorical", num_levels=sr.num_levels,
                          condition_shape=sr.condition_shape, condition_scale=16.0, filters=24, num_blocks=2,
                          first_kernel_size=5)
    _fit_quietly(model, sr.train, sr.train_condition, epochs=4)  # raw levels: the model divides by 16
    low, truth = sr.test_condition[:num_images], sr.test[:num_images]
    samples = _np(model.sample(num_images * num_samples, condition=np.tile(low, (num_samples, 1, 1, 1)),
                               seed=seed, use_cache=False))
    upsampled = low.repeat(2, axis=1).repeat(2, axis=2) / 16.0
    rows = [upsampled, samples.astype(np.float64) / 16.0, truth.astype(np.float64) / 16.0]
    save_png(image_grid(np.concatenate(rows), cols=num_images), os.path.join(output, "superres.png"))
    score = _conditional_nll(model, sr.test, sr.test_condition)
    print(f"super-resolution (digits-superres, 4x4 -> 8x8): {score:.3f} bits/dim on the test split, "
          f"{time.perf_counter() - t0:.0f} s; wrote {output}/superres.png (rows: 4x4 input, {num_samples} "
          "samples, truth)")

    # colorization: the grey patch conditions the RGB patch
    t0 = time.perf_counter()
    col = load_protocol("patches-colorize")
    train = rng.permutation(len(col.train))[:1536]
    model = GatedPixelCNN(input_shape=(8, 8, 3), distribution="logistic_mixture", num_levels=col.num_levels,
                          num_components=3, condition_shape=col.condition_shape, condition_scale=255.0, filters=24,
                          num_blocks=2, first_kernel_size=5)
    _fit_quietly(model, col.train[train], col.train_condition[train], epochs=3)  # uint8: the model divides by 255
    picks = rng.permutation(len(col.test))[:num_images]
    grey, truth = col.test_condition[picks], col.test[picks]
    samples = _np(model.sample(num_images * num_samples, condition=np.tile(grey, (num_samples, 1, 1, 1)),
                               seed=seed, use_cache=False))
    rows = [np.repeat(grey, 3, axis=-1) / 255.0, samples / 255.0, truth / 255.0]
    save_png(image_grid(np.concatenate(rows), cols=num_images), os.path.join(output, "colorize.png"))
    score = _conditional_nll(model, col.test[:512], col.test_condition[:512])
    print(f"colorization (patches-colorize, grey -> RGB): {score:.3f} bits/dim on 512 test patches, "
          f"{time.perf_counter() - t0:.0f} s; wrote {output}/colorize.png (rows: grey input, {num_samples} "
          "samples, truth)")

    # auto-encoder: an encoder to a 32-d code that conditions a Gated PixelCNN decoder
    t0 = time.perf_counter()
    digits = load_protocol("digits-17")
    model = PixelCNNAutoEncoder(input_shape=(8, 8, 1), distribution="categorical", num_levels=digits.num_levels,
                                code_size=32, encoder_filters=(16, 32), filters=24, num_blocks=2,
                                first_kernel_size=3)
    _fit_quietly(model, digits.train, epochs=7)
    originals = digits.test[:num_images]
    rows = [originals]
    for k in range(num_samples):
        rows.append(_np(model.reconstruct(originals, seed=seed + k, use_cache=False)))
    save_png(image_grid(np.concatenate(rows), digits.num_levels, cols=num_images),
             os.path.join(output, "autoencoder.png"))
    print(f"auto-encoder (digits-17, code of 32): reconstruction likelihood -log p(x | encode(x)) "
          f"{_conditional_nll(model, digits.test):.3f} bits/dim, {time.perf_counter() - t0:.0f} s; wrote "
          f"{output}/autoencoder.png (rows: test digits, {num_samples} reconstructions)")
    print(f"conditional uses in {time.perf_counter() - t_all:.0f} s")


if __name__ == "__main__":
    main()
