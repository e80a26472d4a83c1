"""A uniform experience-replay buffer over preallocated tensors.

The buffer is a ring: ``capacity`` slots are allocated once, each
:meth:`ReplayBuffer.add` writes one transition into the next slot in O(1), and
once the ring is full the oldest transition is overwritten.

Only ``terminated`` is stored, not ``truncated``: a transition cut off by a
time limit is stored with ``terminated=False``, so its target still
bootstraps from the next observation (Gymnasium 1.x semantics).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from metarl_lite._checks import check_positive_int


class Batch(NamedTuple):
    """A batch of ``B`` transitions.

    Attributes:
        obs: observations, shape ``(B, obs_dim)``, float32.
        actions: actions taken, shape ``(B,)``, int64.
        rewards: rewards received, shape ``(B,)``, float32.
        next_obs: observations after the step, shape ``(B, obs_dim)``, float32.
        terminated: 1.0 where the episode ended in a terminal state, else 0.0
            (truncation counts as 0.0), shape ``(B,)``, float32.
    """

    obs: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    next_obs: torch.Tensor
    terminated: torch.Tensor


class ReplayBuffer:
    """A fixed-size ring buffer of transitions with uniform sampling.

    Args:
        capacity: how many transitions it holds; the oldest is overwritten
            once it is full.
        obs_dim: length of a (flat) observation vector.

    The storage tensors (``obs``, ``actions``, ...) are allocated once, with
    ``capacity`` rows each. Writes go through NumPy views that share their
    memory, which keeps the per-step cost of :meth:`add` to a few microseconds.
    """

    def __init__(self, capacity: int, obs_dim: int) -> None:
        check_positive_int("capacity", capacity)
        check_positive_int("obs_dim", obs_dim)
        self.capacity = capacity
        self.obs_dim = obs_dim
        self.obs = torch.zeros((capacity, obs_dim), dtype=torch.float32)
        self.actions = torch.zeros(capacity, dtype=torch.int64)
        self.rewards = torch.zeros(capacity, dtype=torch.float32)
        self.next_obs = torch.zeros((capacity, obs_dim), dtype=torch.float32)
        self.terminated = torch.zeros(capacity, dtype=torch.float32)
        # NumPy views of the same memory: writing one element through them is
        # several times cheaper than a tensor index assignment.
        self._obs_np = self.obs.numpy()
        self._actions_np = self.actions.numpy()
        self._rewards_np = self.rewards.numpy()
        self._next_obs_np = self.next_obs.numpy()
        self._terminated_np = self.terminated.numpy()
        self._next = 0  # slot the next transition goes to
        self._size = 0  # number of transitions stored

    def __len__(self) -> int:
        """Number of transitions stored, at most ``capacity``."""
        return self._size

    def add(
        self,
        obs: np.ndarray | torch.Tensor,
        action: int,
        reward: float,
        next_obs: np.ndarray | torch.Tensor,
        terminated: bool,
    ) -> None:
        """Store one transition, overwriting the oldest when full.

        Args:
            obs: observation, shape ``(obs_dim,)``.
            action: the discrete action taken.
            reward: the reward received.
            next_obs: the observation returned by ``env.step``, shape
                ``(obs_dim,)`` (for a truncated episode, the real last one).
            terminated: whether the episode ended in a terminal state; pass
                ``False`` for a time-limit truncation so the target bootstraps.
        """
        i = self._next
        self._obs_np[i] = obs
        self._actions_np[i] = action
        self._rewards_np[i] = reward
        self._next_obs_np[i] = next_obs
        self._terminated_np[i] = terminated
        self._next = (i + 1) % self.capacity
        self._size = min(self._size + 1, self.capacity)

    def _check_batch_size(self, batch_size: int) -> None:
        check_positive_int("batch_size", batch_size)
        if batch_size > self._size:
            raise ValueError(
                f"batch_size={batch_size!r} is larger than the {self._size} transitions "
                f"stored: allowed is 1 to {self._size}"
            )

    def _gather(self, idx: torch.Tensor) -> Batch:
        return Batch(
            obs=self.obs[idx],
            actions=self.actions[idx],
            rewards=self.rewards[idx],
            next_obs=self.next_obs[idx],
            terminated=self.terminated[idx],
        )

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        """Draw ``batch_size`` stored transitions uniformly, with replacement.

        Args:
            batch_size: ``B``, between 1 and ``len(self)``.
            generator: the source of randomness.

        Returns:
            A :class:`Batch` whose tensors have ``B`` rows (copies, not views).
        """
        self._check_batch_size(batch_size)
        idx = torch.randint(self._size, (batch_size,), generator=generator)
        return self._gather(idx)

    def latest(self, batch_size: int) -> Batch:
        """The ``batch_size`` most recently added transitions, oldest first.

        This is what "no replay" means in the DQN ablation: every update sees
        only the newest transitions.
        """
        self._check_batch_size(batch_size)
        idx = torch.arange(self._next - batch_size, self._next) % self.capacity
        return self._gather(idx)
