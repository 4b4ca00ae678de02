"""Trainer: calls a module's `run_fn(fn_args)` (TFX's contract) and checks its SavedModel."""

import importlib.util
import os
import shutil

from pipelines import artifacts
from pipelines import examples
from pipelines.components.base import Component
from pipelines.errors import PipelineError
from pipelines.fn_args import FnArgs

DEFAULT_MODULE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "modules", "keras_ar_trainer.py")


class Trainer(Component):
    """Transformed Examples -> a `Model` (`serving_model_dir`, a SavedModel) and a `ModelRun`.

    Loads `module_file` and calls its `run_fn(fn_args)` with `pipelines.FnArgs`; `run_fn` must
    write a SavedModel to `fn_args.serving_model_dir`. The model run directory (checkpoints,
    `BackupAndRestore`'s backup, TensorBoard logs) sits beside the run's outputs under a name
    made of the execution's fingerprint, so a killed run started again with the same inputs
    resumes from its backup.

    Config: `module_file` (default `pipelines/modules/keras_ar_trainer.py`), `train_steps`,
    `eval_steps`, `custom_config` (passed to `run_fn`: for the default module `model`,
    `model_args`, `epochs`, `batch_size`, `learning_rate`, `distribution`), `hyperparameters`.

    Example:

    ```yaml
    Trainer:
      custom_config: {model: PixelCNN, model_args: {filters: 32}, epochs: 10, batch_size: 64}
    ```
    """

    INPUTS = {"examples": artifacts.EXAMPLES, "transform_graph": artifacts.TRANSFORM_GRAPH}
    OUTPUTS = {"model": artifacts.MODEL, "model_run": artifacts.MODEL_RUN}
    DEFAULTS = {"module_file": None, "train_steps": None, "eval_steps": None, "custom_config": {}, "hyperparameters": None}

    def check_config(self, c):
        path = self.module_file
        if not os.path.isfile(path):
            raise PipelineError(f"Trainer: module_file {path!r} does not exist; fix Trainer.module_file in the config")
        module = _load_module(path)
        if not callable(getattr(module, "run_fn", None)):
            raise PipelineError(f"Trainer: {path} has no `run_fn(fn_args)`; define it (TFX's Trainer contract)")
        check = getattr(module, "check_custom_config", None)
        if check is not None:
            check(c["custom_config"] or {})

    @property
    def module_file(self):
        return os.path.abspath(self.exec_properties["module_file"] or DEFAULT_MODULE)

    def code_files(self):
        import keras_ar

        # the module and the model code it trains: a change in either retrains
        return super().code_files() + [self.module_file, os.path.dirname(os.path.abspath(keras_ar.__file__))]

    def Do(self, input_dict, output_dict, exec_properties):  # noqa: N802
        c = exec_properties
        source = input_dict["examples"].uri
        graph = input_dict["transform_graph"].uri
        serving_model_dir = output_dict["model"].uri
        run_dir = output_dict["model_run"].uri
        work = self.work_dir  # survives a killed run: BackupAndRestore resumes from it
        os.makedirs(work, exist_ok=True)
        fn_args = FnArgs(
            working_dir=work,
            train_files=[examples.split_pattern(source, "train")],
            eval_files=[examples.split_pattern(source, "eval")],
            train_steps=c["train_steps"],
            eval_steps=c["eval_steps"],
            transform_graph_path=graph,
            transform_output=graph,
            serving_model_dir=serving_model_dir,
            model_run_dir=work,
            hyperparameters=c["hyperparameters"],
            custom_config=dict(c["custom_config"] or {}),
        )
        _load_module(self.module_file).run_fn(fn_args)
        if not os.path.isfile(os.path.join(serving_model_dir, "saved_model.pb")):
            raise PipelineError(
                f"Trainer: run_fn wrote no SavedModel to fn_args.serving_model_dir ({serving_model_dir}); "
                "export the model there (keras_ar.export.export_archive)"
            )
        shutil.move(work, run_dir)  # keep the logs and checkpoints with the execution
        output_dict["model"].properties.update(custom_config=fn_args.custom_config)

    work_dir = None  # set by the runner: <run_dir>/Trainer/.work-<fingerprint>


def _load_module(path):
    spec = importlib.util.spec_from_file_location("keras_ar_trainer_module_" + str(abs(hash(path))), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
