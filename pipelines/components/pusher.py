"""Pusher: a blessed model to `<push_dir>/<version>/`, atomically; a model not blessed stays put."""

import json
import os
import secrets
import shutil
import time

from pipelines import artifacts
from pipelines import push_records
from pipelines.components.base import Component
from pipelines.errors import PipelineError


class Pusher(Component):
    """A `Model` and its `ModelBlessing` -> `PushedModel`.

    Pushes only when the blessing holds `BLESSED`: the evaluated SavedModel (the same bytes the
    Evaluator scored) is copied into a hidden `.tmp-push-*` directory of `push_dir`, given its
    record (`assets.extra/push_record.json`: the model's content hash, the time), and renamed
    into `push_dir/<max existing version + 1>` — the scheme of
    `keras_ar.export.export_saved_model`, so a server never sees a half-written version.

    Config: `push_dir` (set by the pipeline: `saved_models/<name>`).
    """

    INPUTS = {"model": artifacts.MODEL, "model_blessing": artifacts.MODEL_BLESSING}
    OUTPUTS = {"pushed_model": artifacts.PUSHED_MODEL}
    DEFAULTS = {"push_dir": None}

    def check_config(self, c):
        if not c["push_dir"]:
            raise PipelineError("Pusher: no push_dir; set push_dir in the pipeline config (e.g. saved_models/<name>)")

    def code_files(self):
        return super().code_files() + [push_records.__file__]

    def outputs_still_valid(self, outputs):
        pushed = outputs["pushed_model"].properties
        return not pushed.get("pushed") or os.path.isfile(os.path.join(pushed["path"], "saved_model.pb"))

    def Do(self, input_dict, output_dict, exec_properties):  # noqa: N802
        out = output_dict["pushed_model"]
        os.makedirs(out.uri, exist_ok=True)
        blessing = input_dict["model_blessing"].uri
        if not os.path.exists(os.path.join(blessing, "BLESSED")):
            out.properties.update(pushed=False)
            with open(os.path.join(out.uri, "NOT_PUSHED"), "w") as f:
                f.write("the model is not blessed\n")
            return
        push_dir = exec_properties["push_dir"]
        os.makedirs(push_dir, exist_ok=True)
        model_uri = input_dict["model"].uri
        tmp = os.path.join(push_dir, f".tmp-push-{secrets.token_hex(4)}")
        try:
            shutil.copytree(model_uri, tmp)
            record = {"model_hash": artifacts.hash_path(model_uri), "pushed_at": time.time(), "model_uri": model_uri}
            os.makedirs(os.path.join(tmp, "assets.extra"), exist_ok=True)
            with open(os.path.join(tmp, push_records.RECORD), "w") as f:
                json.dump(record, f, indent=1)
            for _ in range(100):  # another pusher may claim a version meanwhile
                version = max((v for v, _ in push_records.versions(push_dir)), default=0) + 1
                while os.path.exists(os.path.join(push_dir, str(version))):
                    version += 1
                target = os.path.join(push_dir, str(version))
                try:
                    os.rename(tmp, target)
                    break
                except OSError:
                    if not os.path.exists(target):
                        raise
            else:
                raise PipelineError(f"Pusher: could not claim a version directory in {push_dir}")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        out.properties.update(pushed=True, version=version, path=os.path.abspath(target))
        with open(os.path.join(out.uri, "PUSHED"), "w") as f:
            f.write(f"{os.path.abspath(target)}\n")
