"""Tests of metarl_lite.replay."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from metarl_lite.replay import Batch, ReplayBuffer


def _fill(buffer: ReplayBuffer, n: int) -> None:
    """Add ``n`` transitions whose fields all encode their index ``i``."""
    for i in range(n):
        obs = np.full(buffer.obs_dim, i, dtype=np.float32)
        buffer.add(obs, i % 2, float(i), obs + 0.5, i % 3 == 0)


def test_add_stores_each_field() -> None:
    buffer = ReplayBuffer(capacity=4, obs_dim=2)
    buffer.add(np.array([1.0, 2.0]), 1, 0.5, torch.tensor([3.0, 4.0]), True)
    assert len(buffer) == 1
    assert buffer.obs[0].tolist() == [1.0, 2.0]
    assert buffer.actions[0].item() == 1
    assert buffer.rewards[0].item() == 0.5
    assert buffer.next_obs[0].tolist() == [3.0, 4.0]
    assert buffer.terminated[0].item() == 1.0


def test_wrap_around_overwrites_oldest() -> None:
    buffer = ReplayBuffer(capacity=3, obs_dim=2)
    _fill(buffer, 5)
    assert len(buffer) == 3
    # Slots 0 and 1 now hold transitions 3 and 4; slot 2 still holds 2.
    assert buffer.obs[:, 0].tolist() == [3.0, 4.0, 2.0]
    assert buffer.rewards.tolist() == [3.0, 4.0, 2.0]
    assert buffer.next_obs[:, 1].tolist() == [3.5, 4.5, 2.5]
    assert buffer.terminated.tolist() == [1.0, 0.0, 0.0]
    # The newest two, oldest first, across the wrap.
    assert buffer.latest(2).rewards.tolist() == [3.0, 4.0]
    assert buffer.latest(3).rewards.tolist() == [2.0, 3.0, 4.0]


def test_add_writes_in_place_without_reallocating() -> None:
    buffer = ReplayBuffer(capacity=8, obs_dim=3)
    pointers = [t.data_ptr() for t in (buffer.obs, buffer.actions, buffer.rewards)]
    _fill(buffer, 20)
    assert [t.data_ptr() for t in (buffer.obs, buffer.actions, buffer.rewards)] == pointers
    assert buffer.obs.shape == (8, 3)
    assert len(buffer) == 8


def test_sample_shapes_dtypes_and_contents() -> None:
    buffer = ReplayBuffer(capacity=100, obs_dim=4)
    _fill(buffer, 40)
    batch = buffer.sample(32, torch.Generator().manual_seed(0))
    assert isinstance(batch, Batch)
    assert batch.obs.shape == (32, 4) and batch.obs.dtype == torch.float32
    assert batch.next_obs.shape == (32, 4)
    assert batch.actions.shape == (32,) and batch.actions.dtype == torch.int64
    assert batch.rewards.shape == (32,) and batch.terminated.shape == (32,)
    # Only the 40 stored transitions can come out, and fields stay aligned.
    assert set(batch.rewards.tolist()) <= set(range(40))
    assert torch.equal(batch.obs[:, 0], batch.rewards)
    assert torch.equal(batch.actions, batch.rewards.long() % 2)


def test_sample_is_uniform_and_seeded() -> None:
    buffer = ReplayBuffer(capacity=4, obs_dim=1)
    _fill(buffer, 4)
    gen_a, gen_b = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    a = torch.cat([buffer.sample(4, gen_a).rewards for _ in range(1000)])
    b = torch.cat([buffer.sample(4, gen_b).rewards for _ in range(1000)])
    assert torch.equal(a, b)
    counts = torch.bincount(a.long(), minlength=4)
    assert counts.min() > 850 and counts.max() < 1150


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"capacity": 0, "obs_dim": 2}, "capacity"),
        ({"capacity": -5, "obs_dim": 2}, "capacity"),
        ({"capacity": 2.5, "obs_dim": 2}, "capacity"),
        ({"capacity": 10, "obs_dim": 0}, "obs_dim"),
    ],
)
def test_invalid_construction_raises(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        ReplayBuffer(**kwargs)


def test_batch_larger_than_stored_raises() -> None:
    buffer = ReplayBuffer(capacity=10, obs_dim=2)
    _fill(buffer, 3)
    with pytest.raises(ValueError, match=r"batch_size=4 is larger than the 3 transitions"):
        buffer.sample(4, torch.Generator())
    with pytest.raises(ValueError, match="batch_size"):
        buffer.latest(4)
    with pytest.raises(ValueError, match="batch_size"):
        buffer.sample(0, torch.Generator())
