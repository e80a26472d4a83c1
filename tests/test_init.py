"""The package's top level: ``import metarl_lite as ml``."""

import pytest


def test_package_exposes_every_module_lazily() -> None:
    import metarl_lite as ml

    for name in ml._MODULES:
        assert name in ml.__all__
        assert getattr(ml, name).__name__ == f"metarl_lite.{name}"
    with pytest.raises(AttributeError, match="nope"):
        ml.nope  # noqa: B018
