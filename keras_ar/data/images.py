"""The one loader of a folder of images (NumPy and Pillow, no TensorFlow): used by
`keras_ar.data.image_dataset` and `keras-ar --data FOLDER`.

Not `keras.utils.image_dataset_from_directory`: it resizes every image to one `image_size` instead
of refusing images of different sizes, takes a fixed `color_mode` instead of keeping grey data
grey and colour data RGB, and finds a corrupt file only while the dataset is iterated.
"""

import os

import numpy as np

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")


def load_image_folder(folder):
    """Load a folder of PNG / JPEG images of one size as a uint8 array `(N, H, W, C)`.

    Files are read in sorted name order. Grey images give one channel; if any image has
    colour, all are converted to RGB (3 channels).

    Args:
        folder: str or path, the folder.

    Returns:
        np.ndarray, uint8 `(N, H, W, 1)` or `(N, H, W, 3)`.

    Raises:
        ValueError: the folder holds no PNG or JPEG image, a file cannot be read as an image
            (the message names it), or the images differ in size (the message names two).

    Example:

    >>> import tempfile, PIL.Image
    >>> folder = tempfile.mkdtemp()
    >>> for i in range(3):
    ...     PIL.Image.fromarray(np.full((4, 5), 40 * i, np.uint8)).save(f"{folder}/{i}.png")
    >>> load_image_folder(folder).shape
    (3, 4, 5, 1)
    """
    from PIL import Image

    folder = os.fspath(folder)
    files = sorted(f for f in os.listdir(folder) if f.lower().endswith(IMAGE_SUFFIXES))
    if not files:
        raise ValueError(f"The folder holds no PNG or JPEG image. Received: folder={folder!r}")
    images = []
    for f in files:
        path = os.path.join(folder, f)
        try:
            with Image.open(path) as im:
                im.load()
                images.append((f, im.copy()))
        except OSError as e:  # PIL.UnidentifiedImageError too
            reason = " ".join(str(e).split())
            raise ValueError(
                f"cannot read image {path}: {reason} (remove the file from the folder or replace it)"
            ) from None
    first, size = images[0][0], images[0][1].size
    for f, im in images:
        if im.size != size:
            raise ValueError(
                f"The images of {folder!r} must all have the same size: {first} is {size[0]}x{size[1]} "
                f"but {f} is {im.size[0]}x{im.size[1]} (resize or crop them first)."
            )
    colour = any(im.mode not in GREY_MODES for _, im in images)
    x = np.stack([np.asarray(im.convert("RGB" if colour else "L"), np.uint8) for _, im in images])
    return x if colour else x[..., None]
