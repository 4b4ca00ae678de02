"""`make demo`: train a PixelCNN on the bundled 8x8 digits, report test NLL, write sample PNGs.

    python -m keras_ar.demo --output demo_output [--epochs 80] [--protocol digits-17]
"""

import argparse
import math
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_ar.data import digits_dataset  # noqa: E402
from keras_ar.data import load_protocol  # noqa: E402
from keras_ar.models import PixelCNN  # noqa: E402


def image_grid(images, num_levels, cols, zoom=8, pad=2):
    """[N, H, W, 1] integer levels -> a uint8 grey grid image (white background)."""
    n, h, w = images.shape[:3]
    rows = math.ceil(n / cols)
    grid = np.full((rows * (h * zoom + pad) + pad, cols * (w * zoom + pad) + pad), 255, np.uint8)
    for k, img in enumerate(images):
        r, c = divmod(k, cols)
        tile = (img[..., 0].astype(np.float64) / (num_levels - 1) * 255).round().astype(np.uint8)
        tile = np.kron(tile, np.ones((zoom, zoom), np.uint8))
        y, x = pad + r * (h * zoom + pad), pad + c * (w * zoom + pad)
        grid[y : y + h * zoom, x : x + w * zoom] = tile
    return grid


def save_png(array, path):
    from PIL import Image

    Image.fromarray(array).save(path)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--output", default="demo_output")
    p.add_argument("--protocol", default="digits-17", choices=["digits-17", "digits-binary"])
    p.add_argument("--epochs", type=int, default=80, help="maximum epochs (early stopping on validation)")
    p.add_argument("--seed", type=int, default=0)
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


if __name__ == "__main__":
    main()
