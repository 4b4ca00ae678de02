import os
import subprocess
import sys
import time

import pytest

from keras_ar.data import tfds_source


def test_network_check_is_quick():
    start = time.perf_counter()
    assert tfds_source.network_reachable("192.0.2.1", 443, timeout=0.3) is False  # TEST-NET-1
    assert time.perf_counter() - start < 1.5


def test_check_tfds_available(tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    assert tfds_source.tfds_data_dir() == str(tmp_path)
    assert tfds_source.tfds_data_dir("/elsewhere") == "/elsewhere"
    tfds_source.check_tfds_available("mnist", reachable=lambda: True)
    with pytest.raises(ConnectionError, match=r"^no network: .*'cifar10'.*digits-binary"):
        tfds_source.check_tfds_available("cifar10", reachable=lambda: False)
    (tmp_path / "cifar10").mkdir()
    for name in ("cifar10", "cifar10:3.*.*", "cifar10/plain"):
        tfds_source.check_tfds_available(name, reachable=lambda: False)
    with pytest.raises(ValueError, match="name=''"):
        tfds_source.check_tfds_available("")


def test_the_cli_uses_the_same_check(monkeypatch):
    from keras_ar import cli

    calls = []
    monkeypatch.setattr(tfds_source, "network_reachable", lambda *a, **k: calls.append(a) or False)
    assert cli._network_reachable("192.0.2.1") is False and calls == [("192.0.2.1",)]


_TINY_BUILDER = '''
import numpy as np
import tensorflow_datasets as tfds

class TinyImages(tfds.core.GeneratorBasedBuilder):
    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return self.dataset_info_from_configs(features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(4, 4, 1)), "label": tfds.features.ClassLabel(num_classes=2)}))

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples(4)}

    def _generate_examples(self, n):
        for i in range(n):
            yield i, {"image": np.full((4, 4, 1), 50 * i, np.uint8), "label": i % 2}
'''


@pytest.mark.slow
def test_tfds_prepares_and_loads_offline_with_the_declared_dependencies(tmp_path):
    """A fresh process builds and loads a local TFDS data set (no download): every module TFDS
    imports on that path is installed (`importlib_resources` was not)."""
    package = tmp_path / "tinypkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "tiny_images.py").write_text(_TINY_BUILDER)
    script = (
        "import tinypkg.tiny_images, numpy as np, tensorflow_datasets as tfds\n"
        "from keras_ar.data import image_dataset\n"
        f"data_dir = {str(tmp_path / 'data')!r}\n"
        "tfds.builder('tiny_images', data_dir=data_dir).download_and_prepare()  # local: no download\n"
        "ds = image_dataset('tiny_images', 'train', with_labels=True, batch_size=4, data_dir=data_dir)\n"
        "x, y = next(iter(ds))\n"
        "assert sorted(np.unique(x)) == [0, 50, 100, 150], np.unique(x)\n"
        "print('ok')\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.getcwd()]), "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-3000:]
