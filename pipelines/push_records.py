"""Pushed versions under `saved_models/<name>/`, and the record each push leaves in its version
(`<version>/assets.extra/push_record.json`; TensorFlow Serving ignores `assets.extra`)."""

import json
import os

RECORD = os.path.join("assets.extra", "push_record.json")


def versions(push_dir):
    """`[(version, path)]` of the integer directories holding a `saved_model.pb`, oldest first."""
    if not push_dir or not os.path.isdir(push_dir):
        return []
    found = []
    for name in os.listdir(push_dir):
        path = os.path.join(push_dir, name)
        if name.isdigit() and os.path.isfile(os.path.join(path, "saved_model.pb")):
            found.append((int(name), path))
    return sorted(found)


def read_record(version_path):
    try:
        with open(os.path.join(version_path, RECORD)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def latest_pushed(push_dir, exclude_model_hash=None):
    """`(version, path)` of the newest version not pushed from the model of `exclude_model_hash`."""
    for version, path in reversed(versions(push_dir)):
        if exclude_model_hash is None or read_record(path).get("model_hash") != exclude_model_hash:
            return version, path
    return None
