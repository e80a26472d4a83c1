import numpy as np
import pytest
import torch

from metarl_lite import seeding


def test_seed_everything_repeats_draws() -> None:
    rng_a = seeding.seed_everything(3)
    a = (rng_a.random(), np.random.rand(), torch.rand(1).item())
    rng_b = seeding.seed_everything(3)
    b = (rng_b.random(), np.random.rand(), torch.rand(1).item())
    assert a == b


def test_torch_generator_is_independent_of_global_state() -> None:
    x = torch.rand(3, generator=seeding.torch_generator(5))
    torch.manual_seed(123)
    y = torch.rand(3, generator=seeding.torch_generator(5))
    assert torch.equal(x, y)


def test_negative_seed_rejected() -> None:
    with pytest.raises(ValueError, match="seed=-1"):
        seeding.seed_everything(-1)


def test_torch_threads_restores() -> None:
    before = torch.get_num_threads()
    with seeding.torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_single_threaded_runs_on_one_thread_and_keeps_source() -> None:
    import inspect

    @seeding.single_threaded
    def threads() -> int:
        return torch.get_num_threads()

    before = torch.get_num_threads()
    assert threads() == 1
    assert torch.get_num_threads() == before
    assert "return torch.get_num_threads()" in inspect.getsource(threads)
