"""Names that moved out of `keras_ar.data`: a module `__getattr__` returns the object from its new
place with a `DeprecationWarning` that names it."""

import importlib
import warnings


def resolve(module_name, name, moved):
    """`getattr(new_module, new_name)` for `moved[name] == (new_module, new_name)`, with a
    `DeprecationWarning` naming the new place; `AttributeError` for a name not in `moved`."""
    if name not in moved:
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
    new_module, new_name = moved[name]
    warnings.warn(
        f"`{module_name}.{name}` moved to `{new_module}.{new_name}`; import it from there "
        f"(the old name is an alias that will be removed).",
        DeprecationWarning,
        stacklevel=3,
    )
    return getattr(importlib.import_module(new_module), new_name)
