"""metarl_lite: the code behind the book *Meta-RL, hands-on*.

Notebooks import it once, as ``import metarl_lite as ml``, and call it by
module: ``ml.envs``, ``ml.tabular``, ``ml.dqn``, ``ml.replay``,
``ml.meta``, ``ml.maml_rl``, ``ml.bandits``, ``ml.rl2``, ``ml.learned_opt``,
``ml.meta_dqn``, ``ml.model_based``, ``ml.level_rl2``, ``ml.recommend``,
``ml.challenges``, ``ml.plotting``,
``ml.sweeps``, ``ml.widgets``, ``ml.exercises``.

Modules are imported on first use (PEP 562), so ``import metarl_lite`` stays
quick and ``python -m metarl_lite.sweeps`` does not import itself twice.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

from metarl_lite.history import History, TrainingDivergedError
from metarl_lite.seeding import seed_everything

if TYPE_CHECKING:  # for type checkers and editors; at run time see __getattr__
    from metarl_lite import (
        bandits,
        challenges,
        dqn,
        envs,
        exercises,
        learned_opt,
        level_rl2,
        maml_rl,
        meta,
        meta_dqn,
        model_based,
        plotting,
        recommend,
        replay,
        rl2,
        sweeps,
        tabular,
        widgets,
    )

__version__ = "0.1.0"

__all__ = [
    "History",
    "TrainingDivergedError",
    "__version__",
    "bandits",
    "challenges",
    "dqn",
    "envs",
    "exercises",
    "history",
    "learned_opt",
    "level_rl2",
    "maml_rl",
    "meta",
    "meta_dqn",
    "model_based",
    "plotting",
    "recommend",
    "replay",
    "rl2",
    "seed_everything",
    "seeding",
    "sweeps",
    "tabular",
    "widgets",
]


def __getattr__(name: str) -> ModuleType:
    # Called only for names not yet in the module: the submodules of __all__.
    if name in __all__:
        return importlib.import_module(f"metarl_lite.{name}")
    raise AttributeError(f"module 'metarl_lite' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
