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


# -- Chapter 7: challenges


def test_ch7_iqm_by_hand_and_with_the_module() -> None:
    from metarl_lite import challenges

    # sorted: -21.5, -16.8, | -15.2, -15.0, -14.6, -14.1, | -13.9, -12.2 -> mean -14.725
    assert ex.grade_ch7_iqm(-14.725).passed
    assert ex.grade_ch7_iqm(challenges.interquartile_mean(ex.CH7_IQM["scores"])).passed
    assert "plain mean" in ex.grade_ch7_iqm(-15.4125).message
    assert "median" in ex.grade_ch7_iqm(-14.8).message
    for wrong in (None, "x", -13.0, float("nan")):
        assert _fails_with_hint(ex.grade_ch7_iqm(wrong))


def test_ch7_subset_range_by_hand_and_with_the_module() -> None:
    from metarl_lite import challenges

    # lowest 3: 0.48, 0.55, 0.62 -> 0.55; highest 3: 0.62, 0.71, 0.90 -> 0.7433
    assert ex.grade_ch7_subset_range([0.55, 0.743333]).passed
    means = challenges.subset_means(ex.CH7_SUBSETS["scores"], ex.CH7_SUBSETS["k"])
    assert ex.grade_ch7_subset_range([means.min(), means.max()]).passed
    assert "single seeds" in ex.grade_ch7_subset_range([0.48, 0.90]).message
    assert "2-seed" in ex.grade_ch7_subset_range([0.515, 0.805]).message
    for wrong in (None, "x", [0.55], [0.6, 0.7]):
        assert _fails_with_hint(ex.grade_ch7_subset_range(wrong))


def test_ch7_break_even_by_hand_and_with_the_module() -> None:
    from metarl_lite import challenges

    q = ex.CH7_BREAK_EVEN
    assert ex.grade_ch7_break_even(16).passed  # 720,000 / 47,500 = 15.16 -> 16
    saving = q["scratch_steps"] - q["start_steps"]
    assert ex.grade_ch7_break_even(
        challenges.break_even_tasks(q["meta_training_steps"], saving)
    ).passed
    assert "round up" in ex.grade_ch7_break_even(15).message
    assert "whole" in ex.grade_ch7_break_even(15.157895).message
    assert "scratch minus start" in ex.grade_ch7_break_even(14.4).message
    for wrong in (None, "x", 17, 0):
        assert _fails_with_hint(ex.grade_ch7_break_even(wrong))


# -- Chapter 6: recommendation


def test_ch6_linucb_scores_by_hand_and_with_the_module() -> None:
    from metarl_lite import recommend

    # A = I + x1 x1^T + x2 x2^T = [[2.36, 0.48], [0.48, 1.64]], b = x1 - x2 = (0.4, -0.8)
    assert ex.grade_ch6_linucb_scores([0.6213, -0.1688, 0.0499]).passed
    q = ex.CH6_LINUCB
    x, items = np.array(q["shown"]), np.array(q["items"])
    a_matrix, b = np.eye(2)[None] * q["lam"], np.zeros((1, 2))
    for row, click in zip(x, q["clicks"], strict=True):
        a_matrix, b = recommend.ridge_update(a_matrix, b, row[None], np.array([2 * click - 1]))
    a_inv = np.linalg.inv(a_matrix)
    scores = recommend.linucb_scores(items, (a_inv @ b[..., None])[..., 0], a_inv, q["alpha"])
    assert ex.grade_ch6_linucb_scores(scores[0]).passed
    assert "centre the clicks" in ex.grade_ch6_linucb_scores([0.7862, 0.2707, 0.5005]).message
    assert "lam I" in ex.grade_ch6_linucb_scores([1.5, -1.2711, -0.5]).message
    assert "square root" in ex.grade_ch6_linucb_scores([0.5110, -0.2473, -0.0604]).message
    for wrong in (None, "x", [0.6213, -0.1688], [0.0, 0.0, 0.0]):
        assert _fails_with_hint(ex.grade_ch6_linucb_scores(wrong))


# -- Chapter 6: game levels


def test_ch6_trial_return_by_hand_and_with_the_env() -> None:
    from metarl_lite.envs import maze_levels

    # By hand: -16 (cut off) + (11 - 5) + (11 - 3) + (11 - 3) = 6.
    assert ex.grade_ch6_trial_return(6).passed
    # With the env: an open level, goal 5 steps from the start, episodes as in the exercise.
    walls = np.zeros((4, 4), dtype=bool)
    env = maze_levels.MazeLevelsEnv(walls, (0, 0), (3, 2), size=4, max_steps=16)
    plans = [[3] * 16, [1, 1, 2, 2, 2], [1, 1, 2, 2, 2], [1, 1, 2, 2, 2]]
    total = 0.0
    for plan in plans:
        env.reset()
        for a in plan:
            total += env.step(a)[1]
    # The env's shortest path here is 5 steps (episodes 3-4 of the exercise take 3 on theirs).
    assert total == -16 + 3 * (11 - 5)
    assert "no +10" in ex.grade_ch6_trial_return(17).message
    assert "+10 (instead of -1)" in ex.grade_ch6_trial_return(-27).message
    assert "no -1 on top" in ex.grade_ch6_trial_return(3).message
    assert "whole trial" in ex.grade_ch6_trial_return(22).message
    for wrong in (17, -27, 3, 22, "six", None, float("nan")):
        assert _fails_with_hint(ex.grade_ch6_trial_return(wrong))


# -- Chapter 6: robot control


def test_ch6_holding_torque_matches_the_env() -> None:
    import torch

    from metarl_lite import model_based

    heavy, angle, light = 20.0, math.degrees(math.asin(0.1)), 1.25
    assert ex.grade_ch6_holding_torque([heavy, angle, light]).passed
    # The env agrees: at the largest angle, the full torque leaves the heavy rod at rest.
    theta = torch.tensor([math.radians(angle)], dtype=torch.float64)
    zero = torch.zeros(1, dtype=torch.float64)
    still = model_based.true_step(theta, zero, zero - 2.0, 2.0, 2.0)
    assert abs(still[1].item()) < 1e-12
    half_missing = [40.0, math.degrees(math.asin(0.05)), 2.5]
    assert "middle" in ex.grade_ch6_holding_torque(half_missing).message
    assert "degrees" in ex.grade_ch6_holding_torque([20.0, math.asin(0.1), 1.25]).message
    for wrong in (None, "x", [20.0, 5.74], [20.0, 90.0, 1.25], [0.0, 0.0, 0.0]):
        assert _fails_with_hint(ex.grade_ch6_holding_torque(wrong))
