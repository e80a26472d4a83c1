"""metarl_lite: the code behind the book *Meta-RL, hands-on*.

Notebooks import it as ``import metarl_lite as ml``.
"""

from metarl_lite import history, seeding
from metarl_lite.history import History, TrainingDivergedError
from metarl_lite.seeding import seed_everything

__version__ = "0.1.0"

__all__ = [
    "History",
    "TrainingDivergedError",
    "__version__",
    "history",
    "seed_everything",
    "seeding",
]
