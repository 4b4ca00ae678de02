"""Every `Example:` in a docstring runs (as keras-hub runs its docstring examples)."""

import doctest
import importlib
import pkgutil

import keras
import numpy as np
import pytest

import keras_ar

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(keras_ar.__path__, "keras_ar.") if not m.name.endswith("demo")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name, globs={"keras": keras, "np": np, "keras_ar": keras_ar, **vars(module)}):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
