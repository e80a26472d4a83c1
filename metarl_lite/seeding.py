"""Deterministic seeding.

Every random draw in the package comes from an explicit seed: NumPy
generators and ``torch.Generator`` objects are passed around rather than the
global random state, and environments are seeded only through
``env.reset(seed=...)``. :func:`seed_everything` exists for notebook cells that
call third-party code which does read the global state.
"""

from __future__ import annotations

import contextlib
import functools
import random
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

import numpy as np
import torch

from metarl_lite._checks import check_non_negative_int

P = ParamSpec("P")
R = TypeVar("R")


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python's, NumPy's and PyTorch's global generators.

    Args:
        seed: a non-negative integer.

    Returns:
        A fresh ``np.random.Generator`` seeded with ``seed``, for code that
        takes its randomness explicitly.
    """
    check_non_negative_int("seed", seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def torch_generator(seed: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed``."""
    check_non_negative_int("seed", seed)
    return torch.Generator().manual_seed(seed)


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run a block with ``torch.set_num_threads(n)``, then restore the old value.

    Small networks train faster on one thread, and a fixed thread count keeps
    floating-point sums in the same order, so results repeat bit for bit.
    """
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def single_threaded(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorator: run ``fn`` inside :func:`torch_threads` ``(1)``.

    The training functions use it, so that a run is as fast as it can be for
    small networks and repeats bit for bit. ``inspect.getsource`` (and
    IPython's ``fn??``) still shows the decorated function's own code.
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with torch_threads(1):
            return fn(*args, **kwargs)

    return wrapper
