"""The classic bandit algorithms: exact expectations, common random numbers, Gittins
indices against published values, the paper's table, tuning and the widget's curves."""

import functools
import math
import time
from fractions import Fraction

import numpy as np
import pytest

from metarl_lite import bandits
from metarl_lite.bandits import ALGORITHMS, play
from metarl_lite.envs import bernoulli_bandit as bb

# -- exact expected total reward of a two-armed bandit, by enumerating count states
#
# Every algorithm here chooses from the counts alone (successes s_a and pulls m_a
# per arm, and t = m_0 + m_1), so the expected total reward of n pulls is a
# recursion over count states. The action probabilities below are written out
# independently of the module's vectorised code.


def _beta_beats(a1: int, b1: int, a2: int, b2: int) -> float:
    """P(X1 > X2) for independent X1 ~ Beta(a1, b1), X2 ~ Beta(a2, b2), integer
    parameters (the finite sum for Beta tail comparisons, e.g. Cook 2005)."""
    total = 0.0
    for i in range(a1):
        log_term = (
            math.lgamma(a2 + i)
            + math.lgamma(b1 + b2)
            - math.lgamma(a2 + i + b1 + b2)
            - math.log(b1 + i)
            - (math.lgamma(1 + i) + math.lgamma(b1) - math.lgamma(1 + i + b1))
            - (math.lgamma(a2) + math.lgamma(b2) - math.lgamma(a2 + b2))
        )
        total += math.exp(log_term)
    return total


def _uniform_over_best(scores: list) -> list[float]:
    top = max(scores)
    winners = [s == top for s in scores]
    return [w / sum(winners) for w in winners]


def _action_probs(algorithm: str, hyper: dict, s: tuple, m: tuple) -> list[float]:
    t = sum(m)
    if algorithm == "random":
        return [0.5, 0.5]
    if algorithm in ("greedy", "epsilon_greedy"):
        greedy = _uniform_over_best([Fraction(s[a] + 1, m[a] + 2) for a in range(2)])
        eps = hyper.get("epsilon", 0.0)
        return [eps / 2 + (1 - eps) * p for p in greedy]
    if algorithm == "ucb1":
        bonus = [
            hyper["c"] * math.sqrt(2 * math.log(t) / (m[a] + 2)) if t > 1 else 0.0
            for a in range(2)
        ]
        return _uniform_over_best([(s[a] + 1) / (m[a] + 2) + bonus[a] for a in range(2)])
    if algorithm == "thompson":
        p0 = _beta_beats(s[0] + 1, m[0] - s[0] + 1, s[1] + 1, m[1] - s[1] + 1)
        return [p0, 1 - p0]
    table = bandits.gittins_indices(hyper["discount"], 64)
    return _uniform_over_best([table[s[a] + 1, m[a] - s[a] + 1] for a in range(2)])


def exact_total(algorithm: str, means: tuple[float, float], n_pulls: int, **hyper) -> float:
    """Expected total reward of ``n_pulls`` pulls on a two-armed bandit."""

    @functools.cache
    def value(s: tuple, m: tuple) -> float:
        if sum(m) == n_pulls:
            return 0.0
        out = 0.0
        for a, p in enumerate(_action_probs(algorithm, hyper, s, m)):
            if p == 0:
                continue
            m2 = tuple(m[i] + (i == a) for i in range(2))
            won = tuple(s[i] + (i == a) for i in range(2))
            q = means[a]
            out += p * (q * (1 + value(won, m2)) + (1 - q) * value(s, m2))
        return out

    return float(value((0, 0), (0, 0)))


HAND_MADE = (0.9, 0.1)
HYPER = {"epsilon_greedy": {"epsilon": 0.2}, "ucb1": {"c": 0.5}, "gittins": {"discount": 0.9}}


def test_exact_recursion_matches_closed_forms() -> None:
    p, q = HAND_MADE
    # n = 1: every algorithm picks either arm with probability 1/2.
    for algorithm in ALGORITHMS:
        assert exact_total(algorithm, HAND_MADE, 1, **HYPER.get(algorithm, {})) == pytest.approx(
            (p + q) / 2
        )
    # Random: exactly n times the mean of the means.
    assert exact_total("random", HAND_MADE, 6) == pytest.approx(6 * (p + q) / 2)
    # Greedy, n = 2: stay after a success (2/3 > 1/2), switch after a failure.
    greedy2 = 0.5 * (p + p * p + (1 - p) * q) + 0.5 * (q + q * q + (1 - q) * p)
    assert greedy2 == pytest.approx(1.32)
    assert exact_total("greedy", HAND_MADE, 2) == pytest.approx(greedy2)
    # Thompson, n = 2: after a success P(stay) = P(Beta(2,1) > U) = 2/3, after a failure 1/3.
    ts2 = 0.5 * (p + p * (2 / 3 * p + 1 / 3 * q) + (1 - p) * (1 / 3 * p + 2 / 3 * q))
    ts2 += 0.5 * (q + q * (2 / 3 * q + 1 / 3 * p) + (1 - q) * (1 / 3 * q + 2 / 3 * p))
    assert exact_total("thompson", HAND_MADE, 2) == pytest.approx(ts2)
    assert _beta_beats(2, 1, 1, 1) == pytest.approx(2 / 3)
    assert _beta_beats(3, 2, 3, 2) == pytest.approx(0.5)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("n_pulls", [1, 2, 6])
def test_simulation_matches_exact_expectation(algorithm: str, n_pulls: int) -> None:
    hyper = HYPER.get(algorithm, {})
    want = exact_total(algorithm, HAND_MADE, n_pulls, **hyper)
    n_bandits = 40_000
    means = np.tile(HAND_MADE, (n_bandits, 1))
    totals = play(algorithm, means, n_pulls, np.random.default_rng(n_pulls), **hyper).totals
    stderr = totals.std(ddof=1) / math.sqrt(n_bandits)
    assert abs(totals.mean() - want) < 4 * stderr + 1e-12, (totals.mean(), want, stderr)


def test_exact_values_order_the_algorithms_sensibly() -> None:
    """On (0.9, 0.1) for 6 pulls, learning beats random, and Thompson explores most."""
    values = {a: exact_total(a, HAND_MADE, 6, **HYPER.get(a, {})) for a in ALGORITHMS}
    assert values["random"] == pytest.approx(3.0)
    for algorithm in ("greedy", "ucb1", "gittins", "thompson", "epsilon_greedy"):
        assert values[algorithm] > values["random"] + 1.0
    assert values["thompson"] < values["greedy"]


# -- common random numbers, determinism, the env


def test_rewards_come_from_the_shared_uniform_table() -> None:
    means = bb.test_tasks(50, 4).means
    u = np.random.default_rng(9).random((50, 30, 4))
    plays = {a: play(a, means, 30, np.random.default_rng(9)) for a in ALGORITHMS}
    rows, steps = np.indices((50, 30))
    for result in plays.values():
        arms = result.actions
        want = u[rows, steps, arms] < means[rows, arms]
        np.testing.assert_array_equal(result.rewards, want)
    # Two algorithms that pull the same arm at the same time get the same reward.
    same = plays["greedy"].actions == plays["ucb1"].actions
    assert same.any()
    np.testing.assert_array_equal(plays["greedy"].rewards[same], plays["ucb1"].rewards[same])


def test_play_is_deterministic_and_shapes() -> None:
    means = bb.test_tasks(20, 3).means
    for algorithm in ALGORITHMS:
        a = play(algorithm, means, 15, np.random.default_rng(1))
        b = play(algorithm, means, 15, np.random.default_rng(1))
        np.testing.assert_array_equal(a.actions, b.actions)
        np.testing.assert_array_equal(a.rewards, b.rewards)
        assert a.actions.shape == a.rewards.shape == (20, 15)
        assert a.actions.dtype == np.int64 and a.actions.min() >= 0 and a.actions.max() < 3
        np.testing.assert_array_equal(a.totals, a.rewards.sum(axis=1))


def test_play_gets_the_rewards_the_env_would_give() -> None:
    means = bb.test_tasks(1, 5).means
    result = play("thompson", means, 40, np.random.default_rng(123))
    env = bb.BernoulliBanditEnv(means[0], n_pulls=40)
    env.reset(seed=123)
    got = [env.step(int(a))[1] for a in result.actions[0]]
    np.testing.assert_array_equal(got, result.rewards[0])


def test_epsilon_zero_is_greedy_and_epsilon_one_is_random() -> None:
    means = bb.test_tasks(200, 5).means
    greedy = play("greedy", means, 30, np.random.default_rng(0))
    eps0 = play("epsilon_greedy", means, 30, np.random.default_rng(0), epsilon=0.0)
    np.testing.assert_array_equal(greedy.actions, eps0.actions)
    eps1 = play("epsilon_greedy", means, 2000, np.random.default_rng(0), epsilon=1.0)
    counts = np.bincount(eps1.actions.ravel(), minlength=5) / eps1.actions.size
    np.testing.assert_allclose(counts, 0.2, atol=0.005)


def test_ties_first_takes_the_lowest_arm() -> None:
    means = np.full((3, 4), 0.5)
    result = play("greedy", means, 1, np.random.default_rng(0), ties="first")
    np.testing.assert_array_equal(result.actions[:, 0], 0)
    spread = play("greedy", np.full((4000, 4), 0.5), 1, np.random.default_rng(0))
    np.testing.assert_allclose(np.bincount(spread.actions[:, 0]) / 4000, 0.25, atol=0.03)


def test_argmax_random_ties_is_uniform_among_the_best() -> None:
    scores = np.tile([0.2, 0.7, 0.7, 0.1, 0.7], (30_000, 1))
    arms = bandits.argmax_random_ties(scores, np.random.default_rng(0))
    assert set(np.unique(arms)) == {1, 2, 4}
    np.testing.assert_allclose(
        np.bincount(arms, minlength=5)[[1, 2, 4]] / 30_000, 1 / 3, atol=0.01
    )


# -- Gittins indices

# Published values of the Gittins index of a Beta(a, b) arm, G[(a, b)]:
# - discount 0.9 and 0.99: the tables of Gittins, Glazebrook and Weber (2011) as
#   printed in Christian and Griffiths, "Algorithms to Live By" (2016), chapter 2
#   (text around its two tables, "Gittins index values as a function of wins and
#   losses"): record 0-0 (Beta(1, 1)) 0.7029, 1-1 0.6346, 2-2 0.6010, nine wins and
#   one loss (Beta(10, 2)) 0.8695, and 0.6300 for "the more-played machine" of its
#   example, a 60% record, read here as nine wins and six losses (Beta(10, 7)), for
#   discount 0.9; 0-0 0.8699 for discount 0.99. Four decimals: tolerance 5e-5.
PUBLISHED_4DP = {
    0.9: {(1, 1): 0.7029, (2, 2): 0.6346, (3, 3): 0.6010, (10, 2): 0.8695, (10, 7): 0.6300},
    0.99: {(1, 1): 0.8699},
}
# - the R package ``gittins`` of Edwards, Fearnhead and Glazebrook (2019,
#   arXiv:1909.05075; github.com/jedwards24/gittins, tests/testthat): calibration
#   to a tolerance ``tol``: bmab_gi_ab(3, 2, gamma=0.8, tol=1e-4, N=20) = 0.67143994,
#   and bmab_gi_multiple with gamma=0.5, tol=5e-4, N=20: Beta(2, 1) 0.70600586,
#   Beta(2, 2) 0.53586272, Beta(3, 1) 0.77735112.
PUBLISHED_TOL = [
    (0.8, (3, 2), 0.67143994, 1e-4),
    (0.5, (2, 1), 0.70600586, 5e-4),
    (0.5, (2, 2), 0.53586272, 5e-4),
    (0.5, (3, 1), 0.77735112, 5e-4),
]


@pytest.mark.parametrize("discount", sorted(PUBLISHED_4DP))
def test_gittins_matches_published_tables(discount: float) -> None:
    table = bandits.gittins_indices(discount, 64)
    for (a, b), want in PUBLISHED_4DP[discount].items():
        assert abs(table[a, b] - want) <= 5e-5 + 1e-9, ((a, b), table[a, b], want)


@pytest.mark.parametrize(("discount", "state", "want", "tol"), PUBLISHED_TOL)
def test_gittins_matches_the_r_package(discount, state, want, tol) -> None:
    assert abs(bandits.gittins_indices(discount, 64)[state] - want) <= tol


def _calibrate(a: int, b: int, discount: float, depth: int) -> float:
    """The index of one state by bisection on the retirement reward, each step a
    scalar backward induction over the states reachable from (a, b)."""

    def pull_minus_retire(lam: float) -> float:
        n0 = a + b
        w = [max(lam, (a + j) / depth) for j in range(depth - n0 + 1)]  # level = depth
        pull = 0.0
        for n in range(depth - 1, n0 - 1, -1):
            new = []
            for j in range(n - n0 + 1):  # j successes since (a, b)
                mu = (a + j) / n
                pull = (1 - discount) * mu + discount * (mu * w[j + 1] + (1 - mu) * w[j])
                new.append(max(lam, pull))
            w = new
        return pull - lam

    low, high = a / (a + b), 1.0
    for _ in range(40):
        mid = (low + high) / 2
        low, high = (mid, high) if pull_minus_retire(mid) > 0 else (low, mid)
    return (low + high) / 2


def test_gittins_grid_matches_bisection_on_the_same_truncation() -> None:
    depth = 60
    table = bandits.gittins_indices(0.9, 20, depth=depth)
    for a, b in [(1, 1), (1, 4), (5, 2), (7, 9), (18, 1)]:
        assert table[a, b] == pytest.approx(_calibrate(a, b, 0.9, depth), abs=2e-6)


def test_gittins_properties() -> None:
    tables = {d: bandits.gittins_indices(d, 64) for d in (0.5, 0.9, 0.99, 0.999)}
    a, b = np.meshgrid(np.arange(65), np.arange(65), indexing="ij")
    valid = (a >= 1) & (b >= 1) & (a + b <= 64)
    mean = np.where(valid, a / np.maximum(a + b, 1), np.nan)
    for table in tables.values():
        assert np.isnan(table[~valid]).all() and not np.isnan(table[valid]).any()
        assert (table[valid] > mean[valid]).all()  # an unsure arm is worth more than its mean
        inner = valid[1:-1, 1:-1] & valid[2:, 1:-1] & valid[1:-1, 2:]
        assert (table[2:, 1:-1][inner] > table[1:-1, 1:-1][inner]).all()  # one more success
        assert (table[1:-1, 2:][inner] < table[1:-1, 1:-1][inner]).all()  # one more failure
        assert not table.flags.writeable
    for low, high in [(0.5, 0.9), (0.9, 0.99), (0.99, 0.999)]:
        assert (tables[high][valid] > tables[low][valid]).all()  # more patience, more bonus
    # With many observations the bonus fades: Beta(30, 30) is within 0.05 of 1/2 at 0.9.
    assert tables[0.9][30, 30] - 0.5 < 0.05


def test_gittins_table_is_cached_and_validated() -> None:
    assert bandits.gittins_indices(0.9, 64) is bandits.gittins_indices(0.9, 64)
    with pytest.raises(ValueError, match=r"discount=1.0 .* \(0.0, 1.0\)"):
        bandits.gittins_indices(1.0)
    with pytest.raises(ValueError, match="max_total=1"):
        bandits.gittins_indices(0.9, 1)
    with pytest.raises(ValueError, match=r"depth=10 .* max_total=20"):
        bandits.gittins_indices(0.9, 20, depth=10)
    with pytest.raises(ValueError, match="grid=2"):
        bandits.gittins_indices(0.9, 20, grid=2)


def test_gittins_table_is_big_enough_for_every_sweep_setting() -> None:
    for n_pulls in bandits.SWEEP_GRID["pulls"]:
        assert bandits._gittins_table_size(n_pulls) >= n_pulls + 2


# -- the paper's table, the hyper-parameters and tuning


def test_hyperparameters_cover_the_grid_and_name_their_sources() -> None:
    cells = {(n, k) for n in bandits.SWEEP_GRID["pulls"] for k in bandits.SWEEP_GRID["arms"]}
    assert set(bandits.HYPERPARAMETERS) == cells
    assert set(bandits.PAPER_TABLE) == set(bandits.PAPER_CELLS) <= cells
    for cell in cells:
        assert set(bandits.HYPERPARAMETERS[cell]) == set(ALGORITHMS)
        for algorithm, (name, grid) in bandits.TUNING_GRIDS.items():
            assert bandits.HYPERPARAMETERS[cell][algorithm][name] in grid
    assert set(bandits.HYPERPARAMETER_SOURCES) == set(ALGORITHMS)
    assert set(bandits.ALGORITHM_NAMES) == set(ALGORITHMS)
    # Outside the grid: the nearest stored cell in (log n, log k).
    assert (
        bandits.hyperparameters("gittins", 400, 16)
        == bandits.HYPERPARAMETERS[(500, 20)]["gittins"]
    )
    assert bandits.hyperparameters("ucb1", 12, 3) == bandits.HYPERPARAMETERS[(10, 2)]["ucb1"]
    assert bandits.hyperparameters("thompson", 7, 7) == {}


@pytest.mark.parametrize(
    ("algorithm", "n_pulls", "k"),
    [("epsilon_greedy", 10, 5), ("ucb1", 10, 10), ("gittins", 10, 5), ("ucb1", 100, 5)],
)
def test_tuning_reproduces_the_stored_values(algorithm: str, n_pulls: int, k: int) -> None:
    result = bandits.tune(algorithm, n_pulls, k)
    name, grid = bandits.TUNING_GRIDS[algorithm]
    assert result.name == name and result.values == grid
    assert result.best == bandits.HYPERPARAMETERS[(n_pulls, k)][algorithm][name]
    assert result.means[result.values.index(result.best)] == max(result.means)


def test_tune_uses_training_bandits_only(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_test_tasks(*args, **kwargs):
        raise AssertionError("tune() must not look at the held-out bandits")

    monkeypatch.setattr(bandits, "test_tasks", no_test_tasks)
    result = bandits.tune("ucb1", 5, 3, n_tasks=50, values=(0.0, 1.0))
    assert result.values == (0.0, 1.0) and len(result.means) == len(result.stderrs) == 2


def test_table_reproduces_the_paper() -> None:
    """Duan et al. (2016), table 1, on 10,000 held-out bandits per setting.

    With ties broken at random every baseline is within 1.0 of the paper except
    greedy and epsilon-greedy at (n, k) = (100, 10), which are about 2 higher: the
    paper's code broke ties by the lowest arm index, which favours the arm already
    pulled over unpulled ones and so explores less; with that rule (``ties="first"``)
    they are within 1.0 as well.
    """
    start = time.process_time()
    entries = bandits.table()
    assert time.process_time() - start < 60
    assert len(entries) == len(bandits.PAPER_CELLS) * len(ALGORITHMS)
    missed = {
        (e.n_pulls, e.k, e.algorithm): round(e.mean - e.paper, 2)
        for e in entries
        if abs(e.mean - e.paper) > 1.0
    }
    assert set(missed) == {(100, 10, "greedy"), (100, 10, "epsilon_greedy")}, missed
    assert all(1.0 < gap < 3.0 for gap in missed.values()), missed
    first = bandits.table(cells=[(100, 10)], algorithms=("greedy",), ties="first")
    assert abs(first[0].mean - first[0].paper) < 1.0
    text = bandits.format_table(entries)
    assert "paper" in text and "Gittins index" in text and "78.3" in text


def test_table_entries_use_common_bandits_and_stored_settings() -> None:
    entries = bandits.table(n_tasks=200, cells=[(10, 5)])
    by_name = {e.algorithm: e for e in entries}
    assert by_name["ucb1"].hyper == bandits.HYPERPARAMETERS[(10, 5)]["ucb1"]
    assert by_name["random"].paper == 5.0 and by_name["random"].stderr > 0
    # The same held-out bandits and random numbers as a direct call to play.
    direct = play("gittins", bb.test_tasks(200, 5).means, 10, np.random.default_rng([0, 10, 5]))
    assert by_name["gittins"].mean == pytest.approx(direct.totals.mean())


def test_table_and_main_print(capsys: pytest.CaptureFixture[str]) -> None:
    assert bandits.main(["--tasks", "100"]) == 0
    out = capsys.readouterr().out
    assert out.count("paper") == len(bandits.PAPER_CELLS)


# -- the widget's curves


def test_sweep_curve_is_deterministic_and_well_formed() -> None:
    params = {"arms": 5, "pulls": 50, "algorithm": "ucb1"}
    x, y = bandits.sweep_curve(params, 3)
    assert x == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    assert (x, y) == bandits.sweep_curve(params, 3)
    assert y != bandits.sweep_curve(params, 4)[1]
    assert all(0.0 <= v <= 1.0 for v in y)
    assert y[-1] > y[0]  # learning: the reward per pull grows
    _, y_r = bandits.sweep_curve({"arms": 10, "pulls": 100, "algorithm": "random"}, 0)
    assert all(abs(v - 0.5) < 0.05 for v in y_r)


def test_sweep_curve_last_point_is_the_mean_total_per_pull() -> None:
    params = {"arms": 2, "pulls": 10, "algorithm": "gittins"}
    _, y = bandits.sweep_curve(params, 5)
    rng = np.random.default_rng(5)
    means = bb.sample_tasks(rng, bandits.SWEEP_BANDITS, 2).means
    totals = play("gittins", means, 10, rng).totals
    assert y[-1] == pytest.approx(totals.mean() / 10)
    assert y[-1] < bandits.best_arm_mean(2)


def test_sweep_curve_is_fast_at_the_largest_setting() -> None:
    for algorithm in ALGORITHMS:  # the first call also builds the Gittins table
        bandits.sweep_curve({"arms": 20, "pulls": 500, "algorithm": algorithm}, 0)
    start = time.process_time()
    for algorithm in ALGORITHMS:
        bandits.sweep_curve({"arms": 20, "pulls": 500, "algorithm": algorithm}, 1)
    assert time.process_time() - start < 12  # about 2 s of CPU on an idle core


# -- argument checks


def test_play_rejects_bad_arguments() -> None:
    rng = np.random.default_rng(0)
    means = np.full((2, 3), 0.5)
    cases = [
        (lambda: play("softmax", means, 5, rng), ["algorithm='softmax'", "'ucb1'"]),
        (lambda: play("ucb1", means, 0, rng), ["n_pulls=0"]),
        (lambda: play("ucb1", means[0], 5, rng), ["means", "(n_tasks, k)"]),
        (lambda: play("ucb1", means + 1, 5, rng), ["means", "1.5", "[0.0, 1.0]"]),
        (lambda: play("ucb1", means, 5, rng, epsilon=0.1), ["epsilon=0.1", "'ucb1'", "c"]),
        (lambda: play("greedy", means, 5, rng, c=1.0), ["c=1.0", "none"]),
        (lambda: play("epsilon_greedy", means, 5, rng, epsilon=1.5), ["epsilon=1.5", "1.0]"]),
        (lambda: play("ucb1", means, 5, rng, c=-1.0), ["c=-1.0", "[0.0, inf]"]),
        (lambda: play("gittins", means, 5, rng, discount=1.0), ["discount=1.0", "(0.0, 1.0)"]),
        (lambda: play("greedy", means, 5, rng, ties="last"), ["ties='last'", "'first'"]),
    ]
    for call, words in cases:
        with pytest.raises(ValueError) as err:
            call()
        for word in words:
            assert word in str(err.value), (words, str(err.value))


def test_other_functions_reject_bad_arguments() -> None:
    with pytest.raises(ValueError, match="algorithm='greedy'"):
        bandits.tune("greedy", 10, 5)
    with pytest.raises(ValueError, match=r"values=\(\)"):
        bandits.tune("ucb1", 10, 5, values=())
    with pytest.raises(ValueError, match="algorithm='oracle'"):
        bandits.table(n_tasks=10, algorithms=("oracle",))
    with pytest.raises(ValueError, match=r"params\['arms'\]=3"):
        bandits.sweep_curve({"arms": 3, "pulls": 10, "algorithm": "ucb1"}, 0)
    with pytest.raises(ValueError, match="lacks 'pulls'"):
        bandits.sweep_curve({"arms": 5, "algorithm": "ucb1"}, 0)
    with pytest.raises(ValueError, match="algorithm='ucb2'"):
        bandits.hyperparameters("ucb2", 10, 5)
