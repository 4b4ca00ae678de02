"""Image grids of samples and data, and PNG writing (NumPy and PIL only)."""

import math
import numbers
import os

import numpy as np

from keras_ar.utils.checks import check_int as _check_int



def _to_unit_interval(images, num_levels):
    """Images as float64 in [0, 1]: levels / (num_levels - 1), or floats already in [0, 1]."""
    kind = images.dtype.kind
    if kind not in "biuf":
        raise ValueError(f"`images` must hold numbers. Received: dtype={images.dtype}")
    if kind == "f" and not np.all(np.isfinite(images)):
        raise ValueError("`images` contains NaN or inf values: draw only finite images.")
    if num_levels is None:
        if kind == "b":
            return images.astype(np.float64)
        if kind in "iu":
            raise ValueError(
                "Integer `images` are levels: pass `num_levels` (e.g. num_levels=256 for 8-bit images, "
                f"2 for binary ones). Received: dtype={images.dtype}, num_levels=None"
            )
        if images.size and (images.min() < 0.0 or images.max() > 1.0):
            raise ValueError(
                "Float `images` must lie in [0, 1]: rescale (or clip) them, or pass `num_levels` for "
                f"integer levels. Received values in [{images.min():g}, {images.max():g}]"
            )
        return images.astype(np.float64)
    num_levels = _check_int(num_levels, "num_levels", 2)
    if kind == "f" and not np.all(images == np.round(images)):
        raise ValueError(
            "With `num_levels`, `images` must hold integer levels; pass num_levels=None for floats "
            "in [0, 1]. Received non-integer values."
        )
    if images.size and (images.min() < 0 or images.max() > num_levels - 1):
        raise ValueError(
            f"`images` must hold levels 0..{num_levels - 1} for num_levels={num_levels}: pass the "
            f"right `num_levels`. Received values in [{images.min()}, {images.max()}]"
        )
    return images.astype(np.float64) / (num_levels - 1)


def image_grid(images, num_levels=None, cols=None, zoom=None, pad=2):
    """Lay images side by side in a grid, as one uint8 image on a white background.

    Args:
        images: array `[N, H, W, C]` with `C` 1 (grey) or 3 (RGB): integer levels
            `0..num_levels - 1` when `num_levels` is given, else floats in [0, 1] (or
            booleans). NumPy arrays and backend tensors both work.
        num_levels: int >= 2 or None. The number of levels of integer images; level `k` is
            drawn as `round(255 * k / (num_levels - 1))`.
        cols: int >= 1 or None. Images per row; None for `ceil(sqrt(N))`.
        zoom: int >= 1 or None. Each pixel becomes a `zoom x zoom` block; None for the
            smallest zoom that makes a tile at least 64 pixels wide (8 for 8x8 images).
        pad: int >= 0. White pixels between and around the tiles.

    Returns:
        A uint8 array: `[rows, cols]` (2-D) for grey images, `[rows, cols, 3]` for RGB.

    Example:

    >>> grid = image_grid(np.zeros((3, 8, 8, 1), "int32"), num_levels=2, cols=3, zoom=1, pad=1)
    >>> grid.shape, grid.dtype
    ((10, 28), dtype('uint8'))
    >>> image_grid(np.ones((2, 4, 4, 3)), cols=2, zoom=2).shape
    (12, 22, 3)
    """
    try:
        images = np.asarray(images)
    except Exception:  # a backend tensor NumPy cannot take as it is
        import keras

        images = keras.ops.convert_to_numpy(images)
    if images.ndim != 4:
        hint = (
            " Add a channel axis (`images[..., None]`) to grey images [N, H, W]; add a batch axis "
            "(`image[None]`) to a single image [H, W, C]."
            if images.ndim == 3
            else ""
        )
        raise ValueError(
            f"`images` must have shape [N, H, W, C] with C 1 or 3.{hint} Received: images.shape={images.shape}"
        )
    n, h, w, c = images.shape
    if c not in (1, 3):
        raise ValueError(
            "`images` must have 1 (grey) or 3 (RGB) channels: drop an alpha channel (`images[..., :3]`) "
            "or draw the channels one by one (`images[..., k:k + 1]`). "
            f"Received: images.shape={images.shape}"
        )
    if n == 0 or h == 0 or w == 0:
        raise ValueError(f"`images` must hold at least one non-empty image. Received: images.shape={images.shape}")
    cols = math.ceil(math.sqrt(n)) if cols is None else _check_int(cols, "cols", 1)
    zoom = max(1, math.ceil(64 / max(h, w))) if zoom is None else _check_int(zoom, "zoom", 1)
    pad = _check_int(pad, "pad", 0)

    tiles = np.round(_to_unit_interval(images, num_levels) * 255.0).astype(np.uint8)
    tiles = tiles.repeat(zoom, axis=1).repeat(zoom, axis=2)
    th, tw = h * zoom, w * zoom
    rows = math.ceil(n / cols)
    cols = min(cols, n)
    grid = np.full((rows * (th + pad) + pad, cols * (tw + pad) + pad, c), 255, np.uint8)
    for k, tile in enumerate(tiles):
        r, q = divmod(k, cols)
        y, x = pad + r * (th + pad), pad + q * (tw + pad)
        grid[y : y + th, x : x + tw] = tile
    return grid[..., 0] if c == 1 else grid


def save_png(array, path):
    """Write a uint8 image (`[H, W]` grey, `[H, W, 1]` grey or `[H, W, 3]` RGB) as a PNG file.

    Missing parent directories are made.

    Args:
        array: uint8 array, e.g. from `image_grid`.
        path: str or path-like, the file to write (normally ending in `.png`).

    Returns:
        The path written, as a str.

    Example:

    >>> import tempfile
    >>> path = save_png(np.zeros((4, 4), "uint8"), os.path.join(tempfile.mkdtemp(), "black.png"))
    >>> path.endswith("black.png")
    True
    """
    from PIL import Image

    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise ValueError(
            "`array` must be uint8 (0..255): make one with `image_grid`, or scale and cast "
            f"(`np.round(x * 255).astype('uint8')`). Received: dtype={array.dtype}"
        )
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] == 3)) or 0 in array.shape:
        raise ValueError(
            f"`array` must have shape [H, W] (grey) or [H, W, 3] (RGB). Received: array.shape={array.shape}"
        )
    path = os.fspath(path)
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    Image.fromarray(array).save(path)
    return path
