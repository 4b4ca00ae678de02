"""Beam pipelines with an explicit runner: nothing is downloaded at run time.

Beam's `DirectRunner` first tries the Prism runner, which downloads a binary. Here
`"DirectRunner"` means Beam's portable in-process runner (`FnApiRunner`, what the DirectRunner
runs batch pipelines on), with `direct_num_workers` workers in `in_memory`,
`multi_threading` or `multi_processing` mode. Any other runner name (`"DataflowRunner"`,
`"FlinkRunner"`, `"SparkRunner"`) is passed to Beam with the remaining options
(`--project`, `--region`, `--temp_location`; `--flink_master`; `--spark_master_url`).
"""

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines.errors import PipelineError

DEFAULT_BEAM = {"runner": "DirectRunner", "direct_num_workers": 1, "direct_running_mode": "in_memory"}


def make_pipeline(beam_config=None):
    """A `beam.Pipeline` for `beam_config` (a dict: `runner` plus pipeline options)."""
    config = dict(DEFAULT_BEAM, **(beam_config or {}))
    runner_name = config.pop("runner")
    flags = []
    for key, value in config.items():
        flags.append(f"--{key}={value}")
    options = PipelineOptions(flags)
    if runner_name in ("DirectRunner", "FnApiRunner"):
        from apache_beam.runners.portability.fn_api_runner import FnApiRunner

        return beam.Pipeline(runner=FnApiRunner(), options=options)
    if runner_name == "PrismRunner":
        raise PipelineError(
            "beam.runner 'PrismRunner' downloads its binary at run time; use 'DirectRunner' here, "
            "or DataflowRunner / FlinkRunner / SparkRunner with their options"
        )
    options = PipelineOptions(flags + [f"--runner={runner_name}"])
    return beam.Pipeline(options=options)


def run(pipeline, where):
    """Run `pipeline` to the end; a `PipelineError` raised in a worker comes back as itself."""
    from pipelines.errors import message_from_text

    try:
        result = pipeline.run()
        result.wait_until_finish()
    except PipelineError:
        raise
    except Exception as e:  # Beam re-raises worker errors as its own, with the original in the text
        message = message_from_text(str(e))
        if message is not None:
            raise PipelineError(message) from None
        raise RuntimeError(f"{where}: the Beam job failed: {str(e).strip().splitlines()[-1][:500]}") from e
