"""Run a pipeline from a config file, reusing every component whose inputs, config and code are
unchanged (content hashes), and recording every execution.

    python -m pipelines run pipelines/configs/digits.yaml [--set Trainer.custom_config.epochs=1]

The config (YAML, or a Python file defining a dict `PIPELINE`) names the pipeline, its run
directory, where blessed models are pushed, the Beam options shared by every component, and
the components in order:

```yaml
pipeline_name: digits
run_dir: pipeline_runs/digits        # artifacts and metadata; not under version control
push_dir: saved_models/digits        # TensorFlow Serving layout: <push_dir>/<version>/
beam: {runner: DirectRunner}
components:
  ExampleGen: {source: digits}
  Transform: {op: binarize, threshold: 8}
  Trainer: {custom_config: {model: PixelCNN, epochs: 10}}
  Evaluator: {max_bits_per_dim: 0.5}
  Pusher: {}
  Scorer: {}
```

Every execution writes into a hidden temporary directory, renamed to
`<run_dir>/<Component>/<fingerprint>/` when it succeeds (with its `execution.json`: inputs and
their content hashes, config, code hash, outputs and their hashes, status, start and end
times); a failed one leaves only its record under `<run_dir>/metadata/`.
"""

import argparse
import copy
import datetime
import hashlib
import json
import os
import secrets
import shutil
import sys
import time

from pipelines import artifacts
from pipelines.errors import PipelineError
from pipelines.errors import pipeline_error_message

# which output of which component feeds each input
WIRING = {
    "ExampleGen": {},
    "Transform": {"examples": "ExampleGen.examples"},
    "Trainer": {"examples": "Transform.transformed_examples", "transform_graph": "Transform.transform_graph"},
    "Evaluator": {"model": "Trainer.model", "examples": "Transform.transformed_examples"},
    "Pusher": {"model": "Trainer.model", "model_blessing": "Evaluator.blessing"},
    "Scorer": {"model": "Trainer.model", "examples": "Transform.transformed_examples"},
}
ORDER = tuple(WIRING)
PIPELINE_KEYS = {"pipeline_name", "run_dir", "push_dir", "beam", "components"}


def load_config(path, overrides=()):
    """A pipeline config (dict) from a YAML or Python file, with `Component.key=value` overrides."""
    if not os.path.isfile(path):
        raise PipelineError(f"config file {path!r} does not exist; give the path of a pipeline config (.yaml or .py)")
    if path.endswith(".py"):
        namespace = {}
        with open(path) as f:
            exec(compile(f.read(), path, "exec"), namespace)
        if "PIPELINE" not in namespace:
            raise PipelineError(f"{path} defines no PIPELINE dict; define PIPELINE = {{...}}")
        config = copy.deepcopy(namespace["PIPELINE"])
    else:
        import yaml

        try:
            with open(path) as f:
                config = yaml.safe_load(f)
        except yaml.YAMLError as e:
            raise PipelineError(f"{path} is not valid YAML ({str(e).splitlines()[0]}); fix the file") from None
    if not isinstance(config, dict):
        raise PipelineError(f"{path} must hold a mapping with keys {sorted(PIPELINE_KEYS)}")
    unknown = sorted(set(config) - PIPELINE_KEYS)
    if unknown:
        raise PipelineError(f"{path}: unknown key(s) {unknown}; the keys are {sorted(PIPELINE_KEYS)}")
    for item in overrides:
        key, _, value = item.partition("=")
        if not _:
            raise PipelineError(f"--set {item!r}: expected Component.key=value")
        import yaml

        parts = key.split(".")
        target = config.setdefault("components", {}) if parts[0] in WIRING else config
        for part in parts[:-1]:
            if not isinstance(target.get(part), dict):
                target[part] = {}
            target = target[part]
        target[parts[-1]] = yaml.safe_load(value)
    config.setdefault("pipeline_name", os.path.splitext(os.path.basename(path))[0])
    config.setdefault("run_dir", os.path.join("pipeline_runs", config["pipeline_name"]))
    config.setdefault("push_dir", os.path.join("saved_models", config["pipeline_name"]))
    return config


def build_components(config):
    """The configured components, in pipeline order, each with its config checked."""
    from pipelines.components import COMPONENTS

    specs = config.get("components") or {}
    if not isinstance(specs, dict):
        raise PipelineError("`components` must be a mapping of component name -> config")
    unknown = [name for name in specs if name not in COMPONENTS]
    if unknown:
        raise PipelineError(f"unknown component(s) {unknown} in `components`; the components are {list(ORDER)}")
    components = []
    for name in ORDER:
        if name not in specs:
            continue
        for needed in WIRING[name].values():
            if needed.split(".")[0] not in specs:
                raise PipelineError(f"{name} needs {needed.split('.')[0]}; add it to `components`")
        cls = COMPONENTS[name]
        props = dict(specs[name] or {})
        if "beam" in cls.DEFAULTS and props.get("beam") is None and config.get("beam") is not None:
            props["beam"] = config["beam"]
        if "push_dir" in cls.DEFAULTS and props.get("push_dir") is None:
            props["push_dir"] = config["push_dir"]
        components.append(cls(**props))
    return components


def run_pipeline(config, log=print):
    """Run (or reuse) every component; returns `{component: {"status": "ran"|"reused", ...}}`."""
    components = build_components(config)
    run_dir = os.path.abspath(config["run_dir"])
    os.makedirs(os.path.join(run_dir, "metadata"), exist_ok=True)
    produced = {}
    summary = {}
    for component in components:
        inputs = {k: produced[v] for k, v in WIRING[component.name].items()}
        start = time.perf_counter()
        status, outputs, record = _execute(component, inputs, run_dir)
        seconds = time.perf_counter() - start
        for key, artifact in outputs.items():
            produced[f"{component.name}.{key}"] = artifact
        summary[component.name] = {"status": status, "seconds": seconds, "execution": record["fingerprint"][:16],
                                   "outputs": {k: a.properties for k, a in outputs.items()}}
        note = _note(component.name, outputs)
        log(f"{component.name:<11} {status:<7} {seconds:7.1f} s   {record['fingerprint'][:16]}{note}")
    ran = [n for n, s in summary.items() if s["status"] == "ran"]
    reused = [n for n, s in summary.items() if s["status"] == "reused"]
    if not ran:
        log(f"all {len(reused)} components reused; nothing ran")
    else:
        log(f"ran: {', '.join(ran)}; reused: {', '.join(reused) or 'none'}")
    return summary


def _note(name, outputs):
    p = {k: a.properties for k, a in outputs.items()}
    if name == "Evaluator":
        e = p["evaluation"]
        return f"   eval NLL {e.get('nll', float('nan')):.3f} nats, {e.get('bits_per_dim', float('nan')):.4f} bits/dim, " + (
            "BLESSED" if p["blessing"].get("blessed") else "NOT_BLESSED: " + "; ".join(p["blessing"].get("reasons", []))
        )
    if name == "Pusher":
        q = p["pushed_model"]
        return f"   pushed {q['path']}" if q.get("pushed") else "   not pushed (not blessed)"
    if name == "Scorer":
        q = p["scores"]
        return f"   {q.get('count')} examples, {q.get('examples_per_second')} examples/s"
    if name == "ExampleGen":
        return f"   {p['examples'].get('counts')}"
    return ""


def fingerprint(component, inputs):
    """Hash of the component, its config, its code, its inputs' contents and anything extra."""
    data = {
        "component": component.name,
        "config": component.exec_properties,
        "code": artifacts.hash_files(component.code_files()),
        "inputs": {k: artifacts.hash_path(a.uri) for k, a in sorted(inputs.items())},
        "extra": component.extra_fingerprint(inputs),
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest(), data


def _execute(component, inputs, run_dir):
    fp, data = fingerprint(component, inputs)
    home = os.path.join(run_dir, component.name)
    exec_dir = os.path.join(home, fp[:16])
    record_path = os.path.join(exec_dir, "execution.json")
    cached = _cached(component, exec_dir, record_path, fp)
    if cached is not None:
        return "reused", cached[0], cached[1]
    shutil.rmtree(exec_dir, ignore_errors=True)  # an invalid earlier execution
    os.makedirs(home, exist_ok=True)
    tmp = os.path.join(home, f".tmp-{fp[:16]}-{secrets.token_hex(3)}")
    os.makedirs(tmp)
    outputs = {k: artifacts.Artifact(t, os.path.join(tmp, k)) for k, t in component.OUTPUTS.items()}
    component.work_dir = os.path.join(home, f".work-{fp[:16]}")
    record = {
        "component": component.name, "fingerprint": fp, "config": component.exec_properties,
        "code_hash": data["code"], "extra": data["extra"],
        "inputs": {k: a.to_json() for k, a in inputs.items()},
        "start_time": _now(), "status": "running",
    }
    try:
        component.Do(inputs, outputs, component.exec_properties)
        for artifact in outputs.values():
            os.makedirs(artifact.uri, exist_ok=True)
        record["outputs"] = {k: a.to_json(relative_to=tmp) for k, a in outputs.items()}
        record.update(status="complete", end_time=_now())
        with open(os.path.join(tmp, "execution.json"), "w") as f:
            json.dump(record, f, indent=1, default=str)
        os.rename(tmp, exec_dir)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        message = pipeline_error_message(e)
        record.update(status="failed", end_time=_now(), error=message or f"{type(e).__name__}: {e}")
        _write_metadata(run_dir, record)
        if message is not None:
            raise PipelineError(message) from None
        raise
    _write_metadata(run_dir, record)
    outputs = {k: artifacts.Artifact.from_json(v, relative_to=exec_dir) for k, v in record["outputs"].items()}
    return "ran", outputs, record


def _cached(component, exec_dir, record_path, fp):
    try:
        with open(record_path) as f:
            record = json.load(f)
    except (OSError, ValueError):
        return None
    if record.get("status") != "complete" or record.get("fingerprint") != fp:
        return None
    outputs = {k: artifacts.Artifact.from_json(v, relative_to=exec_dir) for k, v in record["outputs"].items()}
    # an output changed on disk since (edited, truncated, corrupted): run again
    if any(artifacts.hash_path(outputs[k].uri) != v["hash"] for k, v in record["outputs"].items()):
        return None
    if not component.outputs_still_valid(outputs):
        return None
    return outputs, record


def _write_metadata(run_dir, record):
    path = os.path.join(run_dir, "metadata", f"{record['start_time'].replace(':', '')}-{record['component']}-{record['status']}.json")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(record, f, indent=1, default=str)
    os.replace(tmp, path)


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m pipelines", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a pipeline config")
    run.add_argument("config", help="a pipeline config: .yaml or .py (defining PIPELINE)")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a config value, e.g. Trainer.custom_config.epochs=1 or run_dir=/tmp/run")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config, args.set)
        print(f"pipeline {config['pipeline_name']}: run_dir {config['run_dir']}, push_dir {config['push_dir']}")
        run_pipeline(config)
    except PipelineError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0
