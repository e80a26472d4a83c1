"""The exercise checks: right answers pass, wrong ones fail with a hint, nothing raises."""

import math

import numpy as np
import pytest

from metarl_lite import exercises as ex
from metarl_lite import tabular


def _fails_with_hint(verdict: ex.Verdict) -> bool:
    return not verdict.passed and verdict.message.startswith("FAIL") and "Hint:" in verdict.message


def test_ch1_discounted_return() -> None:
    v = ex.grade_ch1_discounted_return(4.58)
    assert v.passed and v.message.startswith("PASS")
    for wrong in (7.0, 4.0, "four", None, float("nan")):
        assert _fails_with_hint(ex.grade_ch1_discounted_return(wrong))


def test_ch1_returns_to_go() -> None:
    assert ex.grade_ch1_returns_to_go(tabular.returns_to_go).passed

    def forwards(rewards, gamma):  # a common mistake: discounting from the front
        return [
            sum(gamma**k * r for k, r in enumerate(rewards[: t + 1])) for t in range(len(rewards))
        ]

    def crashes(rewards, gamma):
        raise IndexError("list index out of range")

    def too_short(rewards, gamma):
        return tabular.returns_to_go(rewards, gamma)[:-1]

    for wrong in (forwards, crashes, too_short):
        assert _fails_with_hint(ex.grade_ch1_returns_to_go(wrong))


def test_ch1_returns_to_go_reports_the_exception() -> None:
    v = ex.grade_ch1_returns_to_go(lambda rewards, gamma: 1 / 0)
    assert "ZeroDivisionError" in v.message


def test_ch1_greedy_probability() -> None:
    assert ex.grade_ch1_greedy_probability(0.85).passed
    v = ex.grade_ch1_greedy_probability(0.8)
    assert _fails_with_hint(v) and "random branch can pick the greedy action" in v.message
    assert _fails_with_hint(ex.grade_ch1_greedy_probability([0.85]))


def test_ch1_greedy_probability_agrees_with_sampling() -> None:
    rng = np.random.default_rng(0)
    q_row = np.array([1.0, 0.0, 0.0, 0.0])
    picks = [tabular.epsilon_greedy(q_row, ex.CH1_EPSILON, rng) for _ in range(10_000)]
    assert np.mean(np.asarray(picks) == 0) == pytest.approx(0.85, abs=0.015)


def test_ch1_optimal_values() -> None:
    # Next to the goal: 10; one further: -1 + 0.5 * 10 = 4; two further: -1 + 0.5 * 4 = 1.
    assert ex.grade_ch1_optimal_values([10, 4, 1]).passed
    # The chapter's own gamma = 0.9 values are printed in the text: they must not pass.
    assert not ex.grade_ch1_optimal_values([10, 8, 6.2]).passed
    for wrong in ([10, 9, 8], [10, 8], 3.0, ["a", "b", "c"]):
        assert _fails_with_hint(ex.grade_ch1_optimal_values(wrong))


@pytest.mark.parametrize(
    ("check", "right", "wrong"),
    [
        (ex.ch1_discounted_return, 4.58, None),
        (ex.ch1_returns_to_go, tabular.returns_to_go, lambda rewards, gamma: rewards),
        (ex.ch1_greedy_probability, 0.85, 0.8),
        (ex.ch1_optimal_values, [10, 4, 1], None),
    ],
)
def test_checks_print_one_line_and_return_none(
    check, right, wrong, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check(right) is None
    assert capsys.readouterr().out.startswith("PASS")
    assert check(wrong) is None
    out = capsys.readouterr().out
    assert out.startswith("FAIL") and out.count("\n") == 1


def test_ch2_td_targets_expected_answer_comes_from_the_package() -> None:
    import torch

    from metarl_lite import dqn

    expected = dqn.td_target(
        torch.tensor(ex.CH2_REWARDS),
        torch.tensor(ex.CH2_NEXT_Q),
        torch.tensor([float(t) for t in ex.CH2_TERMINATED]),
        ex.CH2_GAMMA,
    ).tolist()
    assert ex.grade_ch2_td_targets(expected).passed
    assert not ex.grade_ch2_td_targets([0.0] * 4).passed
    assert not ex.grade_ch2_td_targets("nonsense").passed  # type: ignore[arg-type]


def test_ch2_td_targets_spots_truncation_treated_as_termination() -> None:
    wrong = [1 + 0.9 * 3, 0.0, 1.0, -1 + 0.9 * 6]
    verdict = ex.grade_ch2_td_targets(wrong)
    assert not verdict.passed and "truncated" in verdict.message


def test_ch2_epsilon_greedy() -> None:
    def right(q: np.ndarray, eps: float, rng: np.random.Generator) -> int:
        return int(rng.integers(q.size)) if rng.random() < eps else int(np.argmax(q))

    def only_other_actions(q: np.ndarray, eps: float, rng: np.random.Generator) -> int:
        return int(rng.choice([0, 2])) if rng.random() < eps else int(np.argmax(q))

    def raises(q: np.ndarray, eps: float, rng: np.random.Generator) -> int:
        raise RuntimeError("boom")

    assert ex.grade_ch2_epsilon_greedy(right).passed
    assert not ex.grade_ch2_epsilon_greedy(lambda q, e, r: int(np.argmax(q))).passed
    assert not ex.grade_ch2_epsilon_greedy(only_other_actions).passed
    assert "RuntimeError" in ex.grade_ch2_epsilon_greedy(raises).message


def test_ch2_value_target() -> None:
    assert ex.grade_ch2_value_target(lambda r, v, d, g: r + g * (1 - d) * v).passed
    tutorial = ex.grade_ch2_value_target(lambda r, v, d, g: v + g * r)
    assert not tutorial.passed and "10.99" in tutorial.message
    assert not ex.grade_ch2_value_target(lambda r, v, d, g: r + g * v).passed  # ignores d


def test_ch3_task_agnostic_mse() -> None:
    assert ex.grade_ch3_task_agnostic_mse(3.006).passed
    zero_predictor = ex.grade_ch3_task_agnostic_mse(4.25)
    assert _fails_with_hint(zero_predictor) and "predicting 0" in zero_predictor.message
    half_cos = ex.grade_ch3_task_agnostic_mse(2.934)
    assert _fails_with_hint(half_cos) and "sin(10)/20" in half_cos.message
    for wrong in (2.5, "three", None):
        assert _fails_with_hint(ex.grade_ch3_task_agnostic_mse(wrong))


def test_ch3_quadratic_meta_gradient() -> None:
    # theta = 1, alpha = 0.1: phi = 1 - 0.1 * 2 * (1 - 3) = 1.4; L_q'(phi) = 4 * (1.4 - 2) = -2.4;
    # MAML multiplies by d phi / d theta = 1 - 0.1 * 2 = 0.8.
    assert ex.grade_ch3_quadratic_meta_gradient([-1.92, -2.4]).passed
    swapped = ex.grade_ch3_quadratic_meta_gradient([-2.4, -1.92])
    assert _fails_with_hint(swapped) and "swapped" in swapped.message
    for wrong in ([-1.92], [0.0, 0.0], "x", None):
        assert _fails_with_hint(ex.grade_ch3_quadratic_meta_gradient(wrong))


def test_ch3_inner_step() -> None:
    import torch

    from metarl_lite import meta

    def right(model, params, x, y, lr):
        return meta.adapt(model, params, x, y, lr, 1)

    def mean_of_losses(model, params, x, y, lr):  # the mean over tasks scales each step by 1/B
        loss = meta.task_losses(model, params, x, y).mean()
        grads = torch.autograd.grad(loss, list(params.values()))
        return {k: p - lr * g for (k, p), g in zip(params.items(), grads, strict=True)}

    assert ex.grade_ch3_inner_step(right).passed
    assert _fails_with_hint(ex.grade_ch3_inner_step(mean_of_losses))
    assert _fails_with_hint(ex.grade_ch3_inner_step(lambda *args: 1 / 0))
    assert _fails_with_hint(ex.grade_ch3_inner_step(lambda *args: None))


def test_ch4_oracle_reward() -> None:
    assert ex.grade_ch4_oracle_reward(100 * 10 / 11).passed
    assert "random arm" in ex.grade_ch4_oracle_reward(50).message
    assert "k / (k + 1)" in ex.grade_ch4_oracle_reward(90).message
    for wrong in (0, 100, "ninety", None, float("nan")):
        assert _fails_with_hint(ex.grade_ch4_oracle_reward(wrong))


def test_ch4_ucb1_scores_by_hand() -> None:
    # Worked by hand: ln 16 = 2.7726, so the bonuses are sqrt(5.545 / (m + 2)).
    by_hand = [
        4 / 7 + math.sqrt(2 * math.log(16) / 7),
        2 / 4 + math.sqrt(2 * math.log(16) / 4),
        7 / 10 + math.sqrt(2 * math.log(16) / 10),
        1 / 3 + math.sqrt(2 * math.log(16) / 3),
    ]
    assert ex.grade_ch4_ucb1_scores(by_hand).passed
    assert int(np.argmax(by_hand)) == 3, "the arm pulled once, with no success, wins at c = 1"
    textbook = [
        3 / 5 + math.sqrt(2 * math.log(16) / 5),
        1 / 2 + math.sqrt(2 * math.log(16) / 2),
        6 / 8 + math.sqrt(2 * math.log(16) / 8),
        0 + math.sqrt(2 * math.log(16) / 1),
    ]
    assert "pseudo-counts" in ex.grade_ch4_ucb1_scores(textbook).message
    for wrong in ([0, 0, 0, 0], by_hand[:3], "x"):
        assert _fails_with_hint(ex.grade_ch4_ucb1_scores(wrong))


def test_ch4_reinforce_step_by_hand() -> None:
    # Baseline 0.25; (R - b) * a / 0.25 = 0.9 + 0.6 + 4.2 + 3.5 = 9.2, mean 2.3.
    assert ex.grade_ch4_reinforce_step([2.3, 0.23]).passed
    assert "baseline" in ex.grade_ch4_reinforce_step([2.35, 0.235]).message
    assert "sigma squared" in ex.grade_ch4_reinforce_step([1.15, 0.115]).message
    for wrong in ([0.0, 0.0], [2.3], None):
        assert _fails_with_hint(ex.grade_ch4_reinforce_step(wrong))


def test_ch5_preprocess_by_hand() -> None:
    import torch

    from metarl_lite.learned_opt import preprocess_gradient

    # Worked by hand: ln 0.5 / 10, +1; ln 0.002 / 10, -1; 1e-6 < e^-10, so (-1, e^10 * 1e-6).
    by_hand = [[-0.0693147, 1.0], [-0.6214608, -1.0], [-1.0, 0.0220265]]
    assert ex.grade_ch5_preprocess(by_hand).passed
    assert ex.grade_ch5_preprocess([v for pair in by_hand for v in pair]).passed
    grads = torch.tensor(ex.CH5_PREPROCESS["gradients"], dtype=torch.float64)
    assert ex.grade_ch5_preprocess(
        preprocess_gradient(grads, ex.CH5_PREPROCESS["p"]).tolist()
    ).passed
    assert (
        "natural log"
        in ex.grade_ch5_preprocess([[-0.0301, 1], [-0.2699, -1], [-1, 0.0220]]).message
    )
    small_branch_missed = [[-0.0693, 1], [-0.6215, -1], [-1.3816, 1]]
    assert "e^-p" in ex.grade_ch5_preprocess(small_branch_missed).message
    for wrong in (None, "x", [1, 2], [[0, 0]] * 3):
        assert _fails_with_hint(ex.grade_ch5_preprocess(wrong))


def test_ch5_reptile_step_by_hand() -> None:
    # mean phi = (0.6, -0.7333); theta + 0.5 (mean - theta) = (0.55, -0.8667).
    assert ex.grade_ch5_reptile_step([0.55, -0.866667]).passed
    assert "beta = 1" in ex.grade_ch5_reptile_step([0.6, -0.733333]).message
    assert "sum" in ex.grade_ch5_reptile_step([1.15, -1.6]).message
    for wrong in (None, "x", [0.5, -1.0], [0.55]):
        assert _fails_with_hint(ex.grade_ch5_reptile_step(wrong))


def test_ch5_adam_first_step_matches_torch() -> None:
    import torch

    q = ex.CH5_ADAM
    w = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    adam = torch.optim.Adam([w], lr=q["lr"], betas=q["betas"], eps=q["eps"])
    w.grad = torch.tensor(q["gradients"], dtype=torch.float64)
    adam.step()
    assert ex.grade_ch5_adam_first_step((w.detach() / q["lr"]).tolist()).passed
    assert ex.grade_ch5_adam_first_step([-1.0, 1.0, -1 / 11]).passed  # by hand: -g / (|g| + eps)
    assert "SGD" in ex.grade_ch5_adam_first_step([-2.0, 0.01, -1e-9]).message
    assert "bias correction" in ex.grade_ch5_adam_first_step([-3.1623, 3.1623, -0.00997]).message
    for wrong in (None, "x", [1.0, -1.0, 1.0], [-1.0]):
        assert _fails_with_hint(ex.grade_ch5_adam_first_step(wrong))
