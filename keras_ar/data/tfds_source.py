"""TensorFlow Datasets without a network: a quick check that fails fast with one clear error.

`tfds.load` of a data set that is not downloaded tries the network, and without one it
retries for minutes before it fails with a long trace. `check_tfds_available` looks first:
if the data set is not in the TFDS data directory and `storage.googleapis.com` cannot be
reached within a couple of seconds, it raises one `ConnectionError` that names the offline
alternatives. Used by `keras_ar.data.image_dataset` and the `keras-ar` command line.
"""

import os
import socket
import threading

TFDS_HOST = "storage.googleapis.com"  # where TFDS (and most of its sources) download from


def network_reachable(host=TFDS_HOST, port=443, timeout=2.0):
    """Whether a TCP connection to `host:port` opens within `timeout` seconds (DNS included).

    The connection is tried in a daemon thread joined for `timeout + 0.5` seconds, so a
    resolver that hangs cannot hold the caller longer.

    Args:
        host: str, the host name.
        port: int, the TCP port.
        timeout: float, seconds.

    Returns:
        bool.

    Example:

    >>> network_reachable("192.0.2.1", timeout=0.2)  # TEST-NET-1: never answers
    False
    """
    result = []

    def connect():
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    return bool(result and result[0])


def tfds_data_dir(data_dir=None):
    """The TFDS data directory: `data_dir`, else `$TFDS_DATA_DIR`, else `~/tensorflow_datasets`."""
    if data_dir:
        return os.fspath(data_dir)
    return os.environ.get("TFDS_DATA_DIR", os.path.join(os.path.expanduser("~"), "tensorflow_datasets"))


def tfds_downloaded(name, data_dir=None):
    """Whether the TFDS data set `name` (e.g. `"mnist"`, `"mnist:3.*.*"`, `"imagenet2012/64x64"`)
    has a folder in the data directory (it was downloaded or prepared there)."""
    base = name.split(":")[0].split("/")[0]
    return bool(base) and os.path.isdir(os.path.join(tfds_data_dir(data_dir), base))


def offline_alternatives():
    """The sentence that names what works without a network."""
    from keras_ar.datasets.protocols import PROTOCOLS

    return (
        "Work offline with a folder of PNG/JPEG images or a .npy file of images "
        "(`keras_ar.data.image_dataset('path/to/folder')` or `image_dataset(np.load('images.npy'))`; "
        "on the command line `--data path/to/folder` or `--data images.npy`), or with the bundled data: "
        "`keras_ar.datasets.load_protocol('digits-17')` and `keras_ar.data.digits_dataset('digits-binary', 'train')` "
        f"(protocols: {', '.join(PROTOCOLS)})"
    )


def check_tfds_available(name, data_dir=None, reachable=None):
    """Raise at once if the TFDS data set `name` is neither downloaded nor downloadable.

    Args:
        name: str, a TFDS name.
        data_dir: optional str, the TFDS data directory (see `tfds_data_dir`).
        reachable: optional callable returning whether the network is reachable; defaults
            to `network_reachable` (a TCP connection to `storage.googleapis.com`, 2 s).

    Raises:
        ValueError: `name` is empty.
        ConnectionError: the data set is not downloaded and there is no network; the
            message starts with `"no network: "` and names the offline alternatives.

    Example:

    >>> check_tfds_available("mnist", "/nonexistent", reachable=lambda: True)  # nothing raised
    >>> check_tfds_available("mnist", "/nonexistent", reachable=lambda: False)
    Traceback (most recent call last):
    ...
    ConnectionError: no network: cannot reach storage.googleapis.com to download ...
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"A TFDS name is a non-empty string such as 'mnist'. Received: name={name!r}")
    directory = tfds_data_dir(data_dir)
    if tfds_downloaded(name, directory):
        return
    if (reachable or network_reachable)():
        return
    raise ConnectionError(
        f"no network: cannot reach {TFDS_HOST} to download the TFDS data set {name!r}, and it is not "
        f"downloaded in {directory} (set `data_dir=` or $TFDS_DATA_DIR where it is). {offline_alternatives()}."
    )
