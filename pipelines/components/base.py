"""A component: a spec (typed inputs and outputs, config) and an executor `Do`.

As in TFX, a component knows its artifacts, not the pipeline around it: the runner
(`pipelines.runner`) resolves the inputs, gives each output a fresh directory, decides from
content hashes whether to run it, and records every execution.
"""

import inspect

from pipelines.errors import PipelineError


class Component:
    """Base of the pipeline components.

    Subclasses set `INPUTS` and `OUTPUTS` (`{name: artifact type}`; an input name ending in `?`
    is optional), `DEFAULTS` (the config keys a user may set, with their defaults) and implement
    `Do(input_dict, output_dict, exec_properties)`, TFX's executor signature: dicts of name ->
    `Artifact`, and the config.

    Args:
        **config: the component's execution properties, checked against `DEFAULTS`.
    """

    INPUTS = {}
    OUTPUTS = {}
    DEFAULTS = {}

    def __init__(self, **config):
        unknown = sorted(set(config) - set(self.DEFAULTS))
        if unknown:
            raise PipelineError(
                f"{self.name}: unknown config key(s) {unknown}; the keys are {sorted(self.DEFAULTS)}"
            )
        self.exec_properties = {**self.DEFAULTS, **config}
        self.check_config(self.exec_properties)

    @property
    def name(self):
        return type(self).__name__

    def check_config(self, exec_properties):
        """Raise a `PipelineError` for a bad config, before anything runs."""

    def code_files(self):
        """Source files whose content decides, with inputs and config, whether a rerun is needed."""
        return [inspect.getsourcefile(type(self))]

    def extra_fingerprint(self, input_dict):
        """Anything outside the inputs that the result depends on (JSON-able); None by default."""
        return None

    def outputs_still_valid(self, outputs):
        """Whether a cached execution's outputs still stand (e.g. a pushed version still exists)."""
        return True

    def Do(self, input_dict, output_dict, exec_properties):  # noqa: N802 (TFX's name)
        raise NotImplementedError
