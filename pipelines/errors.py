"""The one error a pipeline user sees: a one-line message that names the fix."""


class PipelineError(Exception):
    """A bad input, config or artifact. The message is one line and says what to change.

    Raised inside a Beam worker, it reaches the driver wrapped in Beam's own error; the runner
    finds it again with `pipeline_error_message`.
    """

    MARKER = "PipelineError: "

    def __init__(self, message):
        super().__init__(" ".join(str(message).split()))


def pipeline_error_message(error):
    """The one-line message of a `PipelineError` in `error`, its causes or its text; else None."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, PipelineError):
            return str(error)
        error = error.__cause__ or error.__context__
    return None


def message_from_text(text):
    """The message of a `PipelineError` re-raised by Beam as text (`...PipelineError: msg ...`)."""
    index = text.rfind(PipelineError.MARKER)
    if index < 0:
        return None
    return text[index + len(PipelineError.MARKER):].strip().splitlines()[0].strip(" '\"[]")
