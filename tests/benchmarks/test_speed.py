"""benchmarks/speed.py without running the benchmark: where the TFP peer harness is missing it stops
before measuring anything, says where it looked and what to pass, and leaves its results file alone."""

import importlib.util
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def speed(monkeypatch, tmp_path):
    """benchmarks/speed.py as a module, writing under `tmp_path/results`, whose measurements all fail."""
    path = os.path.join(ROOT, "benchmarks", "speed.py")
    saved = list(sys.path)
    spec = importlib.util.spec_from_file_location("benchmarks_speed", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.path[:] = saved
    monkeypatch.setattr(module, "RESULTS", str(tmp_path / "results"))

    def measured(*args, **kwargs):
        raise AssertionError("the benchmark measured something without its peer")

    for name in ("ours", "image_model", "peer", "nade_sampling", "machine"):
        monkeypatch.setattr(module, name, measured)
    return module


@pytest.mark.parametrize(
    "argv, name",
    [
        (["--models", "GatedPixelCNN", "--time-to-peer"], "speed_time_to_peer.json"),
        (["--models", "GatedPixelCNN"], "speed_image_models.json"),
        ([], "speed.json"),
    ],
)
def test_missing_peer_fails_loudly_and_keeps_the_results(speed, tmp_path, argv, name):
    results = tmp_path / "results"
    results.mkdir()
    (results / name).write_text('{"earlier": "run"}')
    script = tmp_path / "shared" / "peers" / "tfp_pixelcnn_digits.py"
    python = tmp_path / ".venv-peer" / "bin" / "python"
    with pytest.raises(SystemExit) as stopped:
        speed.main(argv + ["--protocol", "digits-binary", "--peer-script", str(script), "--peer-python", str(python)])
    message = stopped.value.code
    assert isinstance(message, str)  # SystemExit(str): printed to stderr, exit status 1
    assert "TFP peer harness was not found" in message
    assert str(script) in message and str(python) in message  # where it looked
    assert "../shared/peers/tfp_pixelcnn_digits.py" in message and speed.PEER in message
    assert "--peer-script PATH" in message and "--peer-python PATH" in message  # what to pass
    assert ("--no-peer" in message) == ("--time-to-peer" not in argv)  # no way round the peer when timing to it
    assert (results / name).read_text() == '{"earlier": "run"}' and os.listdir(results) == [name]


def test_names_only_what_is_missing_and_finds_a_complete_harness(speed, tmp_path):
    script, python = tmp_path / "tfp_pixelcnn_digits.py", tmp_path / "python"
    script.write_text("")
    with pytest.raises(SystemExit, match="peer Python") as stopped:
        speed.find_peer(str(python), str(script), "results.json", time_to_peer=True)
    assert "peer script (--peer-script)" not in stopped.value.code and "results.json is left as it was" in stopped.value.code
    python.write_text("")
    assert speed.find_peer(str(python), str(script), "results.json") == (str(python), str(script))


def test_time_to_peer_cannot_go_without_the_peer(speed, capsys):
    with pytest.raises(SystemExit) as stopped:
        speed.main(["--models", "GatedPixelCNN", "--time-to-peer", "--no-peer"])
    assert stopped.value.code == 2 and "--time-to-peer" in capsys.readouterr().err
