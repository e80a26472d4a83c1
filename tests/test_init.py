"""The package's top level: ``import metarl_lite as ml``."""

from pathlib import Path

import pytest


def test_package_exposes_every_module_lazily() -> None:
    import metarl_lite as ml

    modules = set(ml.__all__) - {
        "History",
        "TrainingDivergedError",
        "__version__",
        "seed_everything",
    }
    root = Path(ml.__file__).parent
    files = {p.stem for p in root.glob("[!_]*.py")}
    files |= {p.parent.name for p in root.glob("[!_]*/__init__.py")}
    assert modules == files, "every public module and subpackage is in __all__, and nothing else"
    for name in sorted(modules):
        assert getattr(ml, name).__name__ == f"metarl_lite.{name}"
    with pytest.raises(AttributeError, match="nope"):
        ml.nope  # noqa: B018
