"""Check functions for the book's exercises.

Each exercise has two functions. ``grade_ch1_x(answer)`` is pure: it returns
a :class:`Verdict` and prints nothing. ``ch1_x(answer)``, the one a notebook
calls, prints the verdict's one line, which starts with ``PASS`` or ``FAIL``
(with a hint when it fails), and returns ``None``, so the cell shows that line
and nothing else. A wrong answer, or code that raises, is reported, never
raised: a notebook cell that calls a check always runs to the end.

Functions are named after their chapter: ``ch1_*`` for chapter 1, and so on.
"""

# ruff: noqa: N806 -- P, R, V, Q follow the maths (Sutton and Barto's notation).

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from metarl_lite import tabular
from metarl_lite.envs import GridWorldEnv


class Verdict(NamedTuple):
    """The result of a check.

    Attributes:
        passed: whether the answer is right.
        message: one line for the reader, starting with ``PASS`` or ``FAIL``.
    """

    passed: bool
    message: str


def _verdict(ok: bool, what: str, hint: str) -> Verdict:
    return Verdict(ok, f"PASS: {what}" if ok else f"FAIL: {what}. Hint: {hint}")


def _as_float(answer: Any) -> float | None:
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _numbers_close(answer: Any, expected: Sequence[float], tol: float = 0.005) -> bool:
    """Whether ``answer`` is a list of numbers, as many as ``expected``, each within ``tol``."""
    try:
        got = [float(v) for v in answer]
    except (TypeError, ValueError):
        return False
    return len(got) == len(expected) and all(
        abs(g - e) <= tol for g, e in zip(got, expected, strict=True)
    )


# --- Chapter 1: RL basics ---------------------------------------------------------------------

#: The episode of exercise 1.1: rewards r_1, ..., r_4 and the discount.
CH1_REWARDS: tuple[float, ...] = (-1.0, -1.0, -1.0, 10.0)
CH1_GAMMA = 0.9


def grade_ch1_discounted_return(answer: float) -> Verdict:
    """Exercise 1.1: the discounted return ``G_0`` of the rewards
    ``CH1_REWARDS = (-1, -1, -1, 10)`` with ``gamma = 0.9``, computed by hand
    (two decimals are enough)."""
    expected = tabular.discounted_return(CH1_REWARDS, CH1_GAMMA)
    value = _as_float(answer)
    ok = value is not None and abs(value - expected) <= 0.005
    return _verdict(
        ok,
        f"G_0 = {answer!r}" + (f" (expected {expected:.2f})" if ok else ""),
        "G_0 = r_1 + gamma * r_2 + gamma**2 * r_3 + gamma**3 * r_4; "
        "the first reward is not discounted",
    )


def grade_ch1_returns_to_go(fn: Callable[[Sequence[float], float], Any]) -> Verdict:
    """Exercise 1.2: ``fn(rewards, gamma)`` must return ``G_t`` for every ``t``
    (an array of the same length as ``rewards``), like
    :func:`metarl_lite.tabular.returns_to_go`."""
    rng = np.random.default_rng(0)
    cases = [([1.0, 2.0, 3.0], 0.5), ([5.0], 0.9), ([1.0, 1.0, 1.0], 1.0), ([2.0, -1.0], 0.0)]
    cases += [(rng.normal(size=12).round(2).tolist(), 0.8) for _ in range(3)]
    for rewards, gamma in cases:
        expected = tabular.returns_to_go(rewards, gamma)
        try:
            got = np.asarray(fn(list(rewards), gamma), dtype=float)
        except Exception as err:  # the reader's code may fail in any way
            return _verdict(
                False,
                f"fn({rewards}, {gamma}) raised {type(err).__name__}: {err}",
                "run your function on this input in a cell of its own",
            )
        if got.shape != expected.shape or not np.allclose(got, expected):
            return _verdict(
                False,
                f"fn({rewards}, {gamma}) returned {np.round(got, 3).tolist()}, "
                f"expected {np.round(expected, 3).tolist()}",
                "loop backwards from the end: G[T-1] = rewards[T-1], "
                "then G[t] = rewards[t] + gamma * G[t+1]",
            )
    return _verdict(True, f"your function matches returns_to_go on {len(cases)} episodes", "")


#: The setting of exercise 1.3.
CH1_EPSILON = 0.2
CH1_N_ACTIONS = 4


def grade_ch1_greedy_probability(answer: float) -> Verdict:
    """Exercise 1.3: the probability that epsilon-greedy with ``epsilon = 0.2``
    over 4 actions picks the greedy action (one action has the largest value)."""
    expected = 1.0 - CH1_EPSILON + CH1_EPSILON / CH1_N_ACTIONS
    value = _as_float(answer)
    ok = value is not None and abs(value - expected) <= 1e-3
    hint = (
        "the random branch can pick the greedy action too"
        if value is not None and abs(value - (1.0 - CH1_EPSILON)) <= 1e-3
        else "add the chance of the greedy branch and of the random branch landing on it"
    )
    return _verdict(ok, f"P(greedy action) = {answer!r}", hint)


#: The cells of exercise 1.4, as (row, column), and its discount.
CH1_CELLS: tuple[tuple[int, int], ...] = ((4, 3), (3, 3), (3, 2))
CH1_VI_GAMMA = 0.5


def grade_ch1_optimal_values(answer: Sequence[float]) -> Verdict:
    """Exercise 1.4: ``V*`` of the default gridworld (no slip, ``gamma = 0.5``)
    at the cells ``(4, 3)``, ``(3, 3)`` and ``(3, 2)``, worked out by hand from
    the Bellman optimality equation, as a list of three numbers."""
    env = GridWorldEnv()
    V, _ = tabular.value_iteration(*env.model, gamma=CH1_VI_GAMMA)
    expected = [float(V[env.to_state(r, c)]) for r, c in CH1_CELLS]
    return _verdict(
        _numbers_close(answer, expected),
        f"V* at {list(CH1_CELLS)} = {answer!r}",
        "start next to the goal: V*(s) = max_a (r + gamma * V*(s_next)), and V*(goal) = 0",
    )


def ch1_discounted_return(answer: float) -> None:
    """Print the verdict of :func:`grade_ch1_discounted_return` (exercise 1.1)."""
    print(grade_ch1_discounted_return(answer).message)


def ch1_returns_to_go(fn: Callable[[Sequence[float], float], Any]) -> None:
    """Print the verdict of :func:`grade_ch1_returns_to_go` (exercise 1.2)."""
    print(grade_ch1_returns_to_go(fn).message)


def ch1_greedy_probability(answer: float) -> None:
    """Print the verdict of :func:`grade_ch1_greedy_probability` (exercise 1.3)."""
    print(grade_ch1_greedy_probability(answer).message)


def ch1_optimal_values(answer: Sequence[float]) -> None:
    """Print the verdict of :func:`grade_ch1_optimal_values` (exercise 1.4)."""
    print(grade_ch1_optimal_values(answer).message)


# --- Chapter 2: deep Q-networks ---------------------------------------------------------------

#: The batch of exercise 2.1: four transitions and the target network's Q(s', .).
CH2_REWARDS: tuple[float, ...] = (1.0, 0.0, 1.0, -1.0)
CH2_NEXT_Q: tuple[tuple[float, float], ...] = ((2.0, 3.0), (5.0, 4.0), (1.0, 1.0), (6.0, 0.0))
CH2_TERMINATED: tuple[bool, ...] = (False, False, True, False)
CH2_TRUNCATED: tuple[bool, ...] = (False, True, False, False)
CH2_GAMMA = 0.9

#: Exercise 2.1 as the reader sees it.
CH2_TD_EXERCISE = "\n".join(
    [f"gamma = {CH2_GAMMA}", "i  r     Q(s', ·; θ⁻)  terminated  truncated"]
    + [
        f"{i}  {r:+.1f}  {list(q)!s:12s}  {te!s:10s}  {tr}"
        for i, (r, q, te, tr) in enumerate(
            zip(CH2_REWARDS, CH2_NEXT_Q, CH2_TERMINATED, CH2_TRUNCATED, strict=True)
        )
    ]
)


def _ch2_targets(done: Sequence[bool]) -> list[float]:
    return [
        r + CH2_GAMMA * (0.0 if d else max(q))
        for r, q, d in zip(CH2_REWARDS, CH2_NEXT_Q, done, strict=True)
    ]


def grade_ch2_td_targets(answer: Sequence[float]) -> Verdict:
    """Exercise 2.1: the four TD targets ``y_i = r_i + gamma (1 - d_i) max_a' Q(s'_i, a')``
    of the batch in :data:`CH2_TD_EXERCISE`, where ``d_i`` is *terminated*."""
    close = _numbers_close(answer, _ch2_targets(CH2_TERMINATED))
    hint = "y = r + gamma * max_a' Q(s', a') unless the episode *terminated*"
    done = [a or b for a, b in zip(CH2_TERMINATED, CH2_TRUNCATED, strict=True)]
    if _numbers_close(answer, _ch2_targets(done)):
        hint = "transition 1 was truncated by a time limit, not terminated: its target bootstraps"
    return _verdict(close, f"targets {answer!r}", hint)


def grade_ch2_epsilon_greedy(
    fn: Callable[[np.ndarray, float, np.random.Generator], Any], n: int = 6000
) -> Verdict:
    """Exercise 2.2: ``fn(q_values, epsilon, rng)`` must return the greedy action
    with probability ``1 - epsilon + epsilon / A`` and each other action with
    probability ``epsilon / A``, for ``A`` actions."""
    q = np.array([0.1, 0.5, 0.2])
    rng = np.random.default_rng(0)
    try:
        greedy = [int(fn(q, 0.0, rng)) for _ in range(50)]
        counts = np.bincount([int(fn(q, 0.3, rng)) for _ in range(n)], minlength=q.size)
    except Exception as err:  # the reader's code: report, never raise
        return _verdict(False, f"act raised {type(err).__name__}: {err}", "return an int action")
    if set(greedy) != {1}:
        return _verdict(
            False, "with epsilon = 0 the action must always be argmax Q", "use np.argmax"
        )
    freq = counts[: q.size] / n
    expected = np.array([0.1, 0.8, 0.1])
    ok = bool(np.all(np.abs(freq - expected) <= 0.03)) and counts.size == q.size
    return _verdict(
        ok,
        f"action frequencies at epsilon = 0.3: {np.round(freq, 3).tolist()}"
        f" (expected about {expected.tolist()})",
        "a random action is drawn uniformly from *all* actions, the greedy one included",
    )


def grade_ch2_value_target(fn: Callable[[float, float, bool, float], Any]) -> Verdict:
    """Exercise 2.3: ``fn(r, v_next, d, gamma)`` must return ``r + gamma (1 - d) v_next``."""
    cases = [
        (1.0, 10.0, False, 0.99),
        (1.0, 10.0, True, 0.99),
        (-2.0, 4.0, False, 0.5),
        (0.0, 3.0, False, 1.0),
    ]
    for r, v_next, d, gamma in cases:
        expected = r + gamma * (0.0 if d else v_next)
        try:
            got = _as_float(fn(r, v_next, d, gamma))
        except Exception as err:  # the reader's code: report, never raise
            return _verdict(False, f"target raised {type(err).__name__}: {err}", "return a float")
        if got is None or abs(got - expected) > 1e-6:
            return _verdict(
                False,
                f"target({r}, {v_next}, {d}, {gamma}) = {got!r}, expected {expected}",
                "discount the next state's value, not the reward, and drop it when d is True",
            )
    return _verdict(True, "the target is r + gamma * (1 - d) * V(s')", "")


def ch2_td_targets(answer: Sequence[float]) -> None:
    """Print the verdict of :func:`grade_ch2_td_targets` (exercise 2.1)."""
    print(grade_ch2_td_targets(answer).message)


def ch2_epsilon_greedy(fn: Callable[[np.ndarray, float, np.random.Generator], Any]) -> None:
    """Print the verdict of :func:`grade_ch2_epsilon_greedy` (exercise 2.2)."""
    print(grade_ch2_epsilon_greedy(fn).message)


def ch2_value_target(fn: Callable[[float, float, bool, float], Any]) -> None:
    """Print the verdict of :func:`grade_ch2_value_target` (exercise 2.3)."""
    print(grade_ch2_value_target(fn).message)


# --- Chapter 3: meta-learning -----------------------------------------------------------------

#: Exercise 3.2: a one-parameter task whose support and query losses are quadratics,
#: L_s(theta) = a_s (theta - c_s)^2 / 2 and L_q(theta) = a_q (theta - c_q)^2 / 2.
CH3_QUADRATIC: dict[str, float] = {
    "theta": 1.0,
    "alpha": 0.1,
    "a_s": 2.0,
    "c_s": 3.0,
    "a_q": 4.0,
    "c_q": 2.0,
}


def _ch3_quadratic_gradients() -> tuple[float, float]:
    """(MAML's, first-order MAML's) meta-gradient of exercise 3.2."""
    q = CH3_QUADRATIC
    phi = q["theta"] - q["alpha"] * q["a_s"] * (q["theta"] - q["c_s"])
    query_grad = q["a_q"] * (phi - q["c_q"])
    return (1 - q["alpha"] * q["a_s"]) * query_grad, query_grad


def grade_ch3_task_agnostic_mse(answer: float) -> Verdict:
    """Exercise 3.1: the query MSE of the best prediction that ignores the task,
    ``E[(y - E[y | x])^2]`` over the sine family (about 3.006)."""
    from metarl_lite.meta import amplitude_moments, task_agnostic_mse

    expected = task_agnostic_mse()
    value = _as_float(answer)
    ok = value is not None and abs(value - expected) <= 0.02
    hint = "E[y | x] = E[A] E[sin(x - phi)]; average sin(x - phi) over phi in [0, pi] first"
    mean_a, mean_a2 = amplitude_moments()
    zero_predictor = mean_a2 / 2
    whole_periods = zero_predictor - (2 * mean_a / math.pi) ** 2 / 2
    if value is not None and abs(value - zero_predictor) <= 0.02:
        hint = (
            "that is the error of predicting 0; with phases in [0, pi] (not [0, 2 pi]) the "
            "mean of sin(x - phi) over tasks is -2 cos(x) / pi, not 0"
        )
    elif value is not None and abs(value - whole_periods) <= 0.02:
        hint = (
            "the mean of cos(x)^2 over x in [-5, 5] is 1/2 + sin(10)/20, not 1/2: "
            "the interval is not a whole number of periods"
        )
    return _verdict(ok, f"task-agnostic MSE {answer!r}", hint)


def grade_ch3_quadratic_meta_gradient(answer: Sequence[float]) -> Verdict:
    """Exercise 3.2: ``(maml, first_order)``, the two meta-gradients at ``theta``
    of the task in :data:`CH3_QUADRATIC` after one inner step of size ``alpha``."""
    maml, first_order = _ch3_quadratic_gradients()
    ok = _numbers_close(answer, [maml, first_order], tol=1e-3)
    hint = "phi = theta - alpha L_s'(theta); MAML multiplies L_q'(phi) by d phi / d theta"
    if _numbers_close(answer, [first_order, maml], tol=1e-3):
        hint = "the two are swapped: first-order MAML drops the factor (1 - alpha a_s)"
    return _verdict(ok, f"meta-gradients {answer!r}", hint)


def grade_ch3_inner_step(fn: Callable[..., Any]) -> Verdict:
    """Exercise 3.3: ``fn(model, params, x, y, lr)`` must return each task's
    parameters after one gradient step on its own loss, as
    :func:`metarl_lite.meta.adapt` does with ``steps=1``."""
    import torch

    from metarl_lite import meta
    from metarl_lite.seeding import torch_generator

    generator = torch_generator(0)
    model = meta.SineNet(generator=generator)
    batch = meta.sample_batch(meta.sample_sine_tasks(3, generator), 5, 1, generator)
    params = meta.per_task(meta.parameters_of(model), 3)
    expected = meta.adapt(model, params, batch.x_support, batch.y_support, 0.05, 1)
    try:
        got = fn(model, params, batch.x_support, batch.y_support, 0.05)
        same = set(got) == set(expected) and all(
            torch.allclose(torch.as_tensor(got[k]), expected[k], atol=1e-6) for k in expected
        )
    except Exception as err:  # the reader's code: report, never raise
        return _verdict(
            False, f"inner_step raised {type(err).__name__}: {err}", "return a dict of tensors"
        )
    hint = (
        "sum the per-task losses (each the mean over its K points), take torch.autograd.grad "
        "with respect to the per-task parameters, and step each by -lr * grad"
    )
    return _verdict(same, "one inner step for every task at once", hint)


def ch3_task_agnostic_mse(answer: float) -> None:
    """Print the verdict of :func:`grade_ch3_task_agnostic_mse` (exercise 3.1)."""
    print(grade_ch3_task_agnostic_mse(answer).message)


def ch3_quadratic_meta_gradient(answer: Sequence[float]) -> None:
    """Print the verdict of :func:`grade_ch3_quadratic_meta_gradient` (exercise 3.2)."""
    print(grade_ch3_quadratic_meta_gradient(answer).message)


def ch3_inner_step(fn: Callable[..., Any]) -> None:
    """Print the verdict of :func:`grade_ch3_inner_step` (exercise 3.3)."""
    print(grade_ch3_inner_step(fn).message)


# -- Chapter 4: meta-RL

#: Exercise 4.1: the bandit setting whose oracle reward the reader computes.
CH4_ORACLE = {"n_pulls": 100, "k": 10}

#: Exercise 4.2: four arms after ``t`` pulls in all: pulls ``m`` and successes ``s``
#: per arm, and UCB1's exploration constant ``c``.
CH4_UCB1: dict[str, Any] = {"m": (5, 2, 8, 1), "s": (3, 1, 6, 0), "t": 16, "c": 1.0}

#: Exercise 4.3: one REINFORCE step on a one-dimensional Gaussian policy
#: ``a ~ N(theta, sigma^2)``: four sampled actions, their returns, and the step size.
CH4_REINFORCE: dict[str, Any] = {
    "theta": 0.0,
    "sigma": 0.5,
    "actions": (0.3, -0.2, 0.6, -0.5),
    "returns": (1.0, -0.5, 2.0, -1.5),
    "alpha": 0.1,
}


def _ch4_reinforce(baseline: bool = True, power: int = 2) -> tuple[float, float]:
    """(gradient estimate, adapted theta) of exercise 4.3; ``power`` is that of sigma."""
    q = CH4_REINFORCE
    a, r = np.asarray(q["actions"]), np.asarray(q["returns"])
    b = r.mean() if baseline else 0.0
    g = float(np.mean((r - b) * (a - q["theta"]) / q["sigma"] ** power))
    return g, q["theta"] + q["alpha"] * g


def grade_ch4_oracle_reward(answer: float) -> Verdict:
    """Exercise 4.1: the expected total reward over ``n`` pulls of an agent that
    knows the ``k`` arm means (drawn from ``U[0, 1]``) and always pulls the best."""
    n, k = CH4_ORACLE["n_pulls"], CH4_ORACLE["k"]
    expected = n * k / (k + 1)
    value = _as_float(answer)
    ok = value is not None and abs(value - expected) <= 0.01
    hint = "P(max of k uniforms <= x) = x^k; differentiate, then take the mean"
    if value is not None and abs(value - n / 2) <= 0.01:
        hint = "n / 2 is what a random arm earns; the oracle pulls the best arm every time"
    elif value is not None and abs(value - n * (k - 1) / k) <= 0.01:
        hint = "the mean of the largest of k uniforms is k / (k + 1), not 1 - 1/k"
    return _verdict(ok, f"oracle reward {answer!r}", hint)


def grade_ch4_ucb1_scores(answer: Sequence[float]) -> Verdict:
    """Exercise 4.2: the four UCB1 scores of :data:`CH4_UCB1`, in the book's form
    ``(s + 1) / (m + 2) + c sqrt(2 ln t / (m + 2))`` (:func:`metarl_lite.bandits.ucb1_scores`)."""
    from metarl_lite.bandits import ucb1_scores

    q = CH4_UCB1
    m, s = np.asarray(q["m"], dtype=float), np.asarray(q["s"], dtype=float)
    expected = ucb1_scores(s, m, q["t"], q["c"])
    ok = _numbers_close(answer, expected.tolist(), tol=1e-3)
    hint = "posterior mean (s + 1) / (m + 2), plus c * sqrt(2 * ln(t) / (m + 2))"
    plain = s / m + q["c"] * np.sqrt(2 * math.log(q["t"]) / m)
    if _numbers_close(answer, plain.tolist(), tol=1e-3):
        hint = "that is the textbook s / m and m; the book's form adds the prior's pseudo-counts"
    return _verdict(ok, f"UCB1 scores {answer!r}", hint)


def grade_ch4_reinforce_step(answer: Sequence[float]) -> Verdict:
    """Exercise 4.3: ``[g, theta_new]``, the REINFORCE gradient estimate with the
    mean return as baseline, and the parameter after one step of size ``alpha``."""
    expected = _ch4_reinforce()
    ok = _numbers_close(answer, list(expected), tol=1e-3)
    hint = "grad log N(a; theta, sigma^2) = (a - theta) / sigma^2; weight by (R - mean R)"
    if _numbers_close(answer, list(_ch4_reinforce(baseline=False)), tol=1e-3):
        hint = "subtract the baseline (the mean return) from each return first"
    elif _numbers_close(answer, list(_ch4_reinforce(power=1)), tol=1e-3):
        hint = "the score of a Gaussian divides by sigma squared, not sigma"
    return _verdict(ok, f"REINFORCE step {answer!r}", hint)


def ch4_oracle_reward(answer: float) -> None:
    """Print the verdict of :func:`grade_ch4_oracle_reward` (exercise 4.1)."""
    print(grade_ch4_oracle_reward(answer).message)


def ch4_ucb1_scores(answer: Sequence[float]) -> None:
    """Print the verdict of :func:`grade_ch4_ucb1_scores` (exercise 4.2)."""
    print(grade_ch4_ucb1_scores(answer).message)


def ch4_reinforce_step(answer: Sequence[float]) -> None:
    """Print the verdict of :func:`grade_ch4_reinforce_step` (exercise 4.3)."""
    print(grade_ch4_reinforce_step(answer).message)


# -- Chapter 5: meta-DQN

#: Exercise 5.1: three gradient coordinates to preprocess as Andrychowicz et al.
#: (2016) do, with the constant ``p``.
CH5_PREPROCESS: dict[str, Any] = {"gradients": (0.5, -0.002, 1e-6), "p": 10.0}

#: Exercise 5.2: one Reptile step on a two-weight network: the start ``theta``,
#: the weights ``phi`` that three inner DQN runs reached from it, and the outer step size.
CH5_REPTILE: dict[str, Any] = {
    "theta": (0.5, -1.0),
    "phi": ((0.9, -0.6), (0.3, -1.4), (0.6, -0.2)),
    "beta": 0.5,
}

#: Exercise 5.3: Adam's very first update (PyTorch's defaults apart from the step size).
CH5_ADAM: dict[str, Any] = {
    "gradients": (2.0, -0.01, 1e-9),
    "lr": 1e-3,
    "betas": (0.9, 0.999),
    "eps": 1e-8,
}


def _ch5_preprocess(p: float, log: Callable[[float], float] = math.log) -> list[float]:
    """Exercise 5.1's answer, flattened: ``[in_1, in_2]`` of each gradient in turn."""
    out: list[float] = []
    for g in CH5_PREPROCESS["gradients"]:
        if abs(g) >= math.exp(-p):
            out += [log(abs(g)) / p, math.copysign(1.0, g)]
        else:
            out += [-1.0, math.exp(p) * g]
    return out


def _flatten(answer: Any) -> Any:
    """``[[a, b], [c, d]]`` -> ``[a, b, c, d]``; a flat sequence -> a list; anything
    else unchanged."""
    if isinstance(answer, (str, bytes)):
        return answer
    try:
        rows = list(answer)
    except TypeError:
        return answer
    if rows and all(isinstance(row, (list, tuple, np.ndarray)) for row in rows):
        return [v for row in rows for v in row]
    return rows


def grade_ch5_preprocess(answer: Sequence[Sequence[float]]) -> Verdict:
    """Exercise 5.1: the two inputs ``(log|g| / p, sign g)`` or ``(-1, e^p g)`` of
    each gradient of :data:`CH5_PREPROCESS`, as three pairs (or six numbers)."""
    p = CH5_PREPROCESS["p"]
    flat = _flatten(answer)
    ok = _numbers_close(flat, _ch5_preprocess(p), tol=1e-3)
    hint = "use the natural log; a gradient smaller than e^-p becomes (-1, e^p g)"
    if _numbers_close(flat, _ch5_preprocess(p, math.log10), tol=1e-3):
        hint = "the paper's log is the natural log, not log10"
    elif isinstance(flat, list) and _numbers_close(flat[:4], _ch5_preprocess(p)[:4], tol=1e-3):
        hint = "the first two are right; the third is below e^-p = 4.5e-5: (-1, e^p g)"
    return _verdict(ok, f"preprocessed gradients {answer!r}", hint)


def _ch5_reptile(beta: float, mean: bool = True) -> list[float]:
    q = CH5_REPTILE
    theta, phi = np.asarray(q["theta"]), np.asarray(q["phi"])
    pull = phi.mean(axis=0) if mean else phi.sum(axis=0)
    return (theta + beta * (pull - theta)).tolist()


def grade_ch5_reptile_step(answer: Sequence[float]) -> Verdict:
    """Exercise 5.2: ``theta + beta (mean_i phi_i - theta)`` for :data:`CH5_REPTILE`."""
    ok = _numbers_close(answer, _ch5_reptile(CH5_REPTILE["beta"]), tol=1e-3)
    hint = "average the three phi_i, subtract theta, scale by beta and add to theta"
    if _numbers_close(answer, _ch5_reptile(1.0), tol=1e-3):
        hint = "that is the mean of the phi_i (beta = 1); move only beta of the way there"
    elif _numbers_close(answer, _ch5_reptile(CH5_REPTILE["beta"], mean=False), tol=1e-3):
        hint = "Reptile moves toward the mean of the adapted weights, not their sum"
    return _verdict(ok, f"Reptile step {answer!r}", hint)


def _ch5_adam(bias_correction: bool = True) -> list[float]:
    """Adam's first update divided by its step size, per gradient of :data:`CH5_ADAM`."""
    q = CH5_ADAM
    b1, b2 = q["betas"]
    out = []
    for g in q["gradients"]:
        m, v = (1 - b1) * g, (1 - b2) * g * g
        if bias_correction:
            m, v = m / (1 - b1), v / (1 - b2)
        out.append(-m / (math.sqrt(v) + q["eps"]))
    return out


def grade_ch5_adam_first_step(answer: Sequence[float]) -> Verdict:
    """Exercise 5.3: Adam's first update of each coordinate of :data:`CH5_ADAM`,
    divided by the step size ``lr`` (so ``-1`` means a step of ``lr`` downhill)."""
    ok = _numbers_close(answer, _ch5_adam(), tol=5e-3)
    hint = "after one step the bias-corrected m and v are g and g^2: u = -lr g / (|g| + eps)"
    if _numbers_close(answer, [-g for g in CH5_ADAM["gradients"]], tol=5e-3):
        hint = "that is SGD (u = -lr g); Adam divides by the root of its second moment"
    elif _numbers_close(answer, _ch5_adam(bias_correction=False), tol=5e-3):
        hint = "divide m by 1 - beta1 and v by 1 - beta2 (the bias correction) first"
    return _verdict(ok, f"Adam's first update / lr {answer!r}", hint)


def ch5_preprocess(answer: Sequence[Sequence[float]]) -> None:
    """Print the verdict of :func:`grade_ch5_preprocess` (exercise 5.1)."""
    print(grade_ch5_preprocess(answer).message)


def ch5_reptile_step(answer: Sequence[float]) -> None:
    """Print the verdict of :func:`grade_ch5_reptile_step` (exercise 5.2)."""
    print(grade_ch5_reptile_step(answer).message)


def ch5_adam_first_step(answer: Sequence[float]) -> None:
    """Print the verdict of :func:`grade_ch5_adam_first_step` (exercise 5.3)."""
    print(grade_ch5_adam_first_step(answer).message)


# -- Chapter 6: robot control (model-based adaptation on varied pendulums)

#: Exercise 6.1: two pendulums of ``metarl_lite.envs.varied_pendulum`` (m in kg, l in m),
#: Gymnasium's g = 10 m/s^2 and torque limit 2 N m.
CH6_PENDULUMS: dict[str, Any] = {"heavy": (2.0, 2.0), "light": (0.5, 0.5), "g": 10.0, "u_max": 2.0}


def _ch6_hold(half: bool = True, degrees: bool = True) -> list[float]:
    """[torque to hold the heavy rod horizontal, largest angle from upright at which the heavy
    rod can be held still, torque to hold the light rod horizontal]; wrong variants by flag."""
    g, u_max = CH6_PENDULUMS["g"], CH6_PENDULUMS["u_max"]
    factor = 0.5 if half else 1.0
    heavy = factor * g * math.prod(CH6_PENDULUMS["heavy"])
    light = factor * g * math.prod(CH6_PENDULUMS["light"])
    angle = math.asin(min(1.0, u_max / heavy))
    return [heavy, math.degrees(angle) if degrees else angle, light]


def grade_ch6_holding_torque(answer: Sequence[float]) -> Verdict:
    """Exercise 6.1: from the pendulum's step, ``thetadot' = thetadot + (3 g / (2 l)
    sin(theta) + 3 / (m l^2) u) dt``, the rod stays still where the bracket is zero. Give
    ``[u_heavy, angle_heavy, u_light]``: the torque (N m) that holds the heavy rod
    (m = l = 2) horizontal, the largest angle from upright (degrees) at which it can be held
    still with |u| <= 2 N m, and the torque that holds the light rod (m = l = 0.5)
    horizontal."""
    expected = _ch6_hold()
    ok = _numbers_close(answer, expected, tol=0.01)
    hint = "set 3 g / (2 l) sin(theta) + 3 / (m l^2) u = 0 and solve for |u|: m g l sin(theta) / 2"
    if _numbers_close(answer, _ch6_hold(half=False), tol=0.01):
        hint = "the bracket gives u = m g l sin(theta) / 2: the weight acts at the rod's middle"
    elif _numbers_close(answer, _ch6_hold(degrees=False), tol=0.01):
        hint = "the angle is asked in degrees (asin gives radians)"
    shown = ", ".join(f"{v:.2f}" for v in expected)
    return _verdict(
        ok, f"holding torques {answer!r}" + (f" (expected {shown})" if ok else ""), hint
    )


def ch6_holding_torque(answer: Sequence[float]) -> None:
    """Print the verdict of :func:`grade_ch6_holding_torque` (exercise 6.1)."""
    print(grade_ch6_holding_torque(answer).message)


# -- Chapter 6: game levels (RL^2 on maze levels)

#: Exercise 6.2: one RL^2 trial of four episodes on one maze level (rewards of
#: ``metarl_lite.envs.maze_levels``: -1 per step, +10 for the step that enters the
#: goal, which ends the episode; cut off after ``max_steps`` steps).
CH6_TRIAL: dict[str, Any] = {
    "steps": (16, 5, 3, 3),
    "reached": (False, True, True, True),
    "max_steps": 16,
}


def _ch6_trial_return(goal_step: float = 10.0, cut_off_pays: bool = False) -> float:
    """The undiscounted trial return of :data:`CH6_TRIAL`; the arguments make wrong variants."""
    total = 0.0
    for steps, reached in zip(CH6_TRIAL["steps"], CH6_TRIAL["reached"], strict=True):
        if reached or cut_off_pays:
            total += -(steps - 1) + goal_step
        else:
            total += -steps
    return total


def grade_ch6_trial_return(answer: float) -> Verdict:
    """Exercise 6.2: the undiscounted return of the whole trial of :data:`CH6_TRIAL`,
    ``sum_k G^(k)`` (the objective RL^2 maximises, with gamma = 1)."""
    value = _as_float(answer)

    def near(x: float) -> bool:
        return value is not None and abs(value - x) <= 1e-6

    ok = near(_ch6_trial_return())
    hint = "an episode that reaches the goal after s steps returns 11 - s; a cut-off one -16"
    if near(_ch6_trial_return(cut_off_pays=True)):
        hint = "episode 1 was cut off at 16 steps: it never entered the goal, so no +10"
    elif near(-float(sum(CH6_TRIAL["steps"]))):
        hint = "the step that enters the goal pays +10 (instead of -1)"
    elif near(_ch6_trial_return(goal_step=9.0)):
        hint = "the step that enters the goal pays +10 and no -1 on top"
    elif near(_ch6_trial_return() + CH6_TRIAL["max_steps"]):
        hint = "RL^2 scores the whole trial, the exploring episode 1 included"
    return _verdict(ok, f"trial return {answer!r}", hint)


def ch6_trial_return(answer: float) -> None:
    """Print the verdict of :func:`grade_ch6_trial_return` (exercise 6.2)."""
    print(grade_ch6_trial_return(answer).message)


# -- Chapter 6: recommendation (personalised recommendation with drifting users)

#: Exercise 6.3: LinUCB's scores after two recommendations (ridge penalty ``lam``):
#: item ``(1, 0)`` was clicked, item ``(0.6, 0.8)`` was not; the reader scores the
#: three ``items`` with exploration constant ``alpha``. Clicks enter as ``y = 2 c - 1``.
CH6_LINUCB: dict[str, Any] = {
    "shown": ((1.0, 0.0), (0.6, 0.8)),
    "clicks": (1.0, 0.0),
    "items": ((1.0, 0.0), (0.0, 1.0), (0.6, 0.8)),
    "lam": 1.0,
    "alpha": 0.5,
}


def _ch6_linucb(centred: bool = True, ridge: bool = True, root: bool = True) -> list[float]:
    """Exercise 6.3's scores, or those of a typical slip (raw clicks, no ridge, no root)."""
    q = CH6_LINUCB
    x = np.asarray(q["shown"], dtype=float)
    c = np.asarray(q["clicks"], dtype=float)
    y = 2.0 * c - 1.0 if centred else c
    a_matrix = x.T @ x + (q["lam"] * np.eye(x.shape[1]) if ridge else 0.0)
    a_inv = np.linalg.inv(a_matrix)
    theta_hat = a_inv @ (x.T @ y)
    items = np.asarray(q["items"], dtype=float)
    width = np.einsum("kd,de,ke->k", items, a_inv, items)
    return (items @ theta_hat + q["alpha"] * (np.sqrt(width) if root else width)).tolist()


def grade_ch6_linucb_scores(answer: Sequence[float]) -> Verdict:
    """Exercise 6.3: the three LinUCB scores ``x_i . theta_hat + alpha sqrt(x_i^T A^-1 x_i)``
    of :data:`CH6_LINUCB`, with ``A = lam I + sum x x^T`` and ``b = sum y x``."""
    ok = _numbers_close(answer, _ch6_linucb(), tol=2e-3)
    hint = "A = lam I + sum x x^T, b = sum (2c - 1) x, theta_hat = A^-1 b, then add the width"
    if _numbers_close(answer, _ch6_linucb(centred=False), tol=2e-3):
        hint = "centre the clicks first: a miss is y = -1, not 0 (the mean of y is x . theta)"
    elif _numbers_close(answer, _ch6_linucb(ridge=False), tol=2e-3):
        hint = "A starts from lam I (the ridge penalty), not from zero"
    elif _numbers_close(answer, _ch6_linucb(root=False), tol=2e-3):
        hint = "the width is the square root of x^T A^-1 x"
    return _verdict(ok, f"LinUCB scores {answer!r}", hint)


def ch6_linucb_scores(answer: Sequence[float]) -> None:
    """Print the verdict of :func:`grade_ch6_linucb_scores` (exercise 6.3)."""
    print(grade_ch6_linucb_scores(answer).message)


# -- Chapter 7: challenges (seeds, compute cost)

#: Exercise 7.1: eight seeds' held-out returns of one method; their interquartile mean.
CH7_IQM: dict[str, Any] = {"scores": (-15.2, -14.1, -16.8, -13.9, -21.5, -14.6, -15.0, -12.2)}

#: Exercise 7.2: what a 3-seed study could report, given five seeds' scores.
CH7_SUBSETS: dict[str, Any] = {"scores": (0.62, 0.48, 0.71, 0.55, 0.90), "k": 3}

#: Exercise 7.3: chapter 5's Reptile start in environment steps: its meta-training
#: cost, and the median steps to a return of 475 on a held-out task from scratch
#: and from the start.
CH7_BREAK_EVEN: dict[str, Any] = {
    "meta_training_steps": 720_000,
    "scratch_steps": 50_000,
    "start_steps": 2_500,
}


def _ch7_iqm(scores: Sequence[float]) -> float:
    x = sorted(scores)
    cut = len(x) // 4
    middle = x[cut : len(x) - cut]
    return sum(middle) / len(middle)


def grade_ch7_iqm(answer: float) -> Verdict:
    """Exercise 7.1: the interquartile mean of :data:`CH7_IQM`'s scores (drop the
    ``floor(n / 4)`` lowest and highest, average the rest)."""
    scores = CH7_IQM["scores"]
    value = _as_float(answer)
    ok = value is not None and abs(value - _ch7_iqm(scores)) <= 5e-3
    hint = "sort the 8 scores, drop the 2 lowest and the 2 highest, average the middle 4"
    if value is not None and abs(value - sum(scores) / len(scores)) <= 5e-3:
        hint = "that is the plain mean, pulled down by the one bad seed; trim a quarter each end"
    elif value is not None and abs(value - float(np.median(scores))) <= 5e-3:
        hint = "that is the median (2 middle values); the IQM averages the middle half (4)"
    return _verdict(ok, f"interquartile mean {answer!r}", hint)


def _ch7_subsets(k: int) -> list[float]:
    import itertools

    means = [sum(c) / k for c in itertools.combinations(CH7_SUBSETS["scores"], k)]
    return [min(means), max(means)]


def grade_ch7_subset_range(answer: Sequence[float]) -> Verdict:
    """Exercise 7.2: ``[lowest, highest]`` mean over all ``k``-seed subsets of
    :data:`CH7_SUBSETS`'s scores."""
    k = CH7_SUBSETS["k"]
    ok = _numbers_close(answer, _ch7_subsets(k), tol=5e-3)
    hint = "the lowest mean takes the 3 lowest scores, the highest mean the 3 highest"
    scores = CH7_SUBSETS["scores"]
    if _numbers_close(answer, [min(scores), max(scores)], tol=5e-3):
        hint = "those are the worst and best single seeds; average 3 seeds at a time"
    elif _numbers_close(answer, _ch7_subsets(2), tol=5e-3):
        hint = "those are 2-seed means; take 3 seeds"
    return _verdict(ok, f"range of 3-seed means {answer!r}", hint)


def grade_ch7_break_even(answer: int) -> Verdict:
    """Exercise 7.3: the fewest new tasks after which :data:`CH7_BREAK_EVEN`'s
    meta-training has saved more steps than it cost."""
    q = CH7_BREAK_EVEN
    saving = q["scratch_steps"] - q["start_steps"]
    value = _as_float(answer)
    expected = math.ceil(q["meta_training_steps"] / saving)
    ok = value is not None and value == expected
    hint = "divide the meta-training steps by the steps saved per task, then round up"
    if value is not None and abs(value - q["meta_training_steps"] / saving) < 0.01:
        hint = "a number of tasks is whole: round up"
    elif value is not None and value == math.floor(q["meta_training_steps"] / saving):
        hint = "after that many tasks the saving is still a little short: round up"
    elif value is not None and value in (
        math.ceil(q["meta_training_steps"] / q["scratch_steps"]),
        q["meta_training_steps"] / q["scratch_steps"],
    ):
        hint = "each task still costs the start's steps: the saving is scratch minus start"
    return _verdict(ok, f"break-even after {answer!r} tasks", hint)


def ch7_iqm(answer: float) -> None:
    """Print the verdict of :func:`grade_ch7_iqm` (exercise 7.1)."""
    print(grade_ch7_iqm(answer).message)


def ch7_subset_range(answer: Sequence[float]) -> None:
    """Print the verdict of :func:`grade_ch7_subset_range` (exercise 7.2)."""
    print(grade_ch7_subset_range(answer).message)


def ch7_break_even(answer: int) -> None:
    """Print the verdict of :func:`grade_ch7_break_even` (exercise 7.3)."""
    print(grade_ch7_break_even(answer).message)
