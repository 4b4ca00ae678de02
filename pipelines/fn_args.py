"""`FnArgs`: what the Trainer passes to a user's `run_fn(fn_args)`, with TFX's field names."""

import dataclasses
from typing import Any
from typing import Optional


@dataclasses.dataclass
class FnArgs:
    """The arguments of `run_fn`, field for field as TFX's `tfx.components.FnArgs`.

    A module written against this runs under a real TFX Trainer too (which passes its own
    `FnArgs` with the same fields).

    Args:
        working_dir: str. The Trainer's working directory.
        train_files: list of str. File patterns of the train split's TFRecords.
        eval_files: list of str. File patterns of the eval split's TFRecords.
        train_steps: int or None. Steps per epoch (None: the whole split).
        eval_steps: int or None. Evaluation steps (None: the whole split).
        schema_path, schema_file: str or None. TFX's schema (unused here).
        transform_graph_path, transform_output: str or None. The `TransformGraph` directory
            (this package's `transform.json`).
        data_accessor: None here (TFX's TFXIO accessor).
        serving_model_dir: str. Where `run_fn` must write the SavedModel (checked afterwards).
        eval_model_dir: str or None.
        model_run_dir: str. Checkpoints, backups and TensorBoard logs.
        base_model: str or None. A model to warm-start from.
        hyperparameters: dict or None.
        custom_config: dict. The component's `custom_config`.
    """

    working_dir: Optional[str] = None
    train_files: list = dataclasses.field(default_factory=list)
    eval_files: list = dataclasses.field(default_factory=list)
    train_steps: Optional[int] = None
    eval_steps: Optional[int] = None
    schema_path: Optional[str] = None
    schema_file: Optional[str] = None
    transform_graph_path: Optional[str] = None
    transform_output: Optional[str] = None
    data_accessor: Any = None
    serving_model_dir: Optional[str] = None
    eval_model_dir: Optional[str] = None
    model_run_dir: Optional[str] = None
    base_model: Optional[str] = None
    hyperparameters: Optional[dict] = None
    custom_config: dict = dataclasses.field(default_factory=dict)
