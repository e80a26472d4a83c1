"""The package's top level: ``import metarl_lite as ml``."""

import pytest


def test_package_exposes_every_module_lazily() -> None:
    import metarl_lite as ml

    modules = set(ml.__all__) - {
        "History",
        "TrainingDivergedError",
        "__version__",
        "seed_everything",
    }
    assert len(modules) == 10
    for name in sorted(modules):
        assert getattr(ml, name).__name__ == f"metarl_lite.{name}"
    with pytest.raises(AttributeError, match="nope"):
        ml.nope  # noqa: B018
