"""The layers of the house (docs/architecture.md): imports point down, and the backend-neutral
packages import no backend. Read from the source with `ast`, so nothing is imported."""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "keras_ar"

# package -> the keras_ar packages it must not import (at module level or inside functions)
FORBIDDEN = {
    "layers": {"models", "generation", "export", "data", "datasets", "cli", "callbacks", "demo"},
    "distributions": {"layers", "models", "generation", "export", "data", "datasets", "cli", "callbacks", "demo"},
    "generation": {"models", "export", "data", "datasets", "cli", "callbacks", "demo"},
    "models": {"export", "data", "datasets", "cli", "callbacks", "demo"},
    "export": {"models", "cli", "callbacks", "demo"},  # it takes a model and uses its public hooks: no circle
}
# imports made inside a function, on purpose, that point up: (file, module). Keras does the same in
# `keras.Model.export`, which imports `keras.src.export` when called.
LAZY_UPWARD = {("keras_ar/models/autoregressive_model.py", "keras_ar.export")}
# packages that run on every backend: keras.ops / keras.random only
BACKEND_NEUTRAL = ("layers", "distributions", "generation", "models")
BACKENDS = {"tensorflow", "jax", "torch"}


def _imports(path):
    """(line, module) of every import in `path`, relative imports resolved against keras_ar."""
    return _imports_of(path.read_text(), path.relative_to(PACKAGE.parent).with_suffix("").parts)


def _imports_of(source, parts):
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = parts[: len(parts) - node.level]
                module = ".".join(base + ((node.module,) if node.module else ()))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            if module == "keras_ar":  # `from keras_ar import models`
                found += [(node.lineno, f"keras_ar.{alias.name}") for alias in node.names]
    return found


def _module_level_lines(path):
    """Lines of the imports that run when the module is imported (not inside a function)."""
    lines = set()

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, (ast.Import, ast.ImportFrom)) and not inner:
                lines.add(child.lineno)
            visit(child, inner)

    visit(ast.parse(path.read_text()), False)
    return lines


def _files(package):
    root = PACKAGE / package
    return sorted(root.rglob("*.py")) if root.is_dir() else [root.with_suffix(".py")]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_down(package):
    bad = []
    for path in _files(package):
        name = str(path.relative_to(PACKAGE.parent))
        for line, module in _imports(path):
            parts = module.split(".")
            if parts[0] == "keras_ar" and len(parts) > 1 and parts[1] in FORBIDDEN[package]:
                if (name, ".".join(parts[:2])) not in LAZY_UPWARD or line in _module_level_lines(path):
                    bad.append(f"{name}:{line} imports {module}")
    assert not bad, f"keras_ar/{package} may not import {sorted(FORBIDDEN[package])}:\n" + "\n".join(bad)


@pytest.mark.parametrize("package", BACKEND_NEUTRAL)
def test_backend_neutral_packages_import_no_backend(package):
    bad = [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}"
        for path in _files(package)
        for line, module in _imports(path)
        if module.split(".")[0] in BACKENDS
    ]
    assert not bad, f"keras_ar/{package} runs on every backend: keras.ops only.\n" + "\n".join(bad)


def test_the_checker_sees_a_violation():
    """The parser finds every import form, so the tests above can fail."""
    source = (
        "import tensorflow as tf\nfrom keras_ar.export import saved_model\nfrom keras_ar import cli\n"
        "def f():\n    from ..data import protocols\n"
    )
    modules = {m for _, m in _imports_of(source, ("keras_ar", "models", "probe"))}
    assert {"tensorflow", "keras_ar.export", "keras_ar.cli", "keras_ar.data"} <= modules
