"""Typed artifacts on disk: a directory (`uri`), a type name and properties; content hashes."""

import dataclasses
import hashlib
import os

# The artifact types of this package, as TFX names its own.
EXAMPLES = "Examples"
STATISTICS = "ExampleStatistics"
TRANSFORM_GRAPH = "TransformGraph"
MODEL = "Model"
MODEL_RUN = "ModelRun"
MODEL_EVALUATION = "ModelEvaluation"
MODEL_BLESSING = "ModelBlessing"
PUSHED_MODEL = "PushedModel"
INFERENCE_RESULT = "InferenceResult"


@dataclasses.dataclass
class Artifact:
    """One output of one execution: a directory of files with a type.

    Args:
        type_name: str. One of the types above (`"Examples"`, `"Model"`, ...).
        uri: str. The directory that holds the artifact's files.
        properties: dict. Small JSON-able facts about it (split names, counts, the version pushed).
    """

    type_name: str
    uri: str
    properties: dict = dataclasses.field(default_factory=dict)

    def to_json(self, relative_to=None):
        uri = os.path.relpath(self.uri, relative_to) if relative_to else self.uri
        return {"type": self.type_name, "uri": uri, "properties": self.properties, "hash": hash_path(self.uri)}

    @classmethod
    def from_json(cls, data, relative_to=None):
        uri = os.path.join(relative_to, data["uri"]) if relative_to else data["uri"]
        return cls(data["type"], os.path.normpath(uri), dict(data.get("properties", {})))


def hash_path(path):
    """SHA-256 of a file, or of a directory's relative file names and contents (sorted); None if missing."""
    if not os.path.exists(path):
        return None
    digest = hashlib.sha256()
    if os.path.isfile(path):
        _hash_file(path, digest)
        return digest.hexdigest()
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(root, name)
            digest.update(os.path.relpath(full, path).encode() + b"\0")
            _hash_file(full, digest)
    return digest.hexdigest()


def hash_files(paths):
    """One SHA-256 over several files or directories (order as given)."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(f"{path}:{hash_path(path)}\n".encode())
    return digest.hexdigest()


def _hash_file(path, digest):
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
