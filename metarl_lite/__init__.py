"""metarl_lite: the code behind the book *Meta-RL, hands-on*.

Notebooks import it once, as ``import metarl_lite as ml``, and call it by
module: ``ml.envs``, ``ml.tabular``, ``ml.dqn``, ``ml.replay``,
``ml.plotting``, ``ml.sweeps``, ``ml.widgets``, ``ml.exercises``.
"""

from metarl_lite import (
    dqn,
    envs,
    exercises,
    history,
    plotting,
    replay,
    seeding,
    sweeps,
    tabular,
    widgets,
)
from metarl_lite.history import History, TrainingDivergedError
from metarl_lite.seeding import seed_everything

__version__ = "0.1.0"

__all__ = [
    "History",
    "TrainingDivergedError",
    "__version__",
    "dqn",
    "envs",
    "exercises",
    "history",
    "plotting",
    "replay",
    "seed_everything",
    "seeding",
    "sweeps",
    "tabular",
    "widgets",
]
