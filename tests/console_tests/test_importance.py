"""Parameter importance over scored trials: Optuna's PED-ANOVA through console/search/importance."""

from __future__ import annotations

import random

import pytest

from console.search.importance import MIN_TRIALS, ImportanceUnavailable, param_importances
from console.search.space import ChoiceParam, FloatParam, IntParam

SPACE = {
    "depth": IntParam(1, 30),
    "rate": FloatParam(1e-4, 1.0, log=True),
    "criterion": ChoiceParam(("gini", "entropy", None)),
}


def trials(n: int, score, seed: int = 0) -> list[tuple[dict, float]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        params = {
            "depth": rng.randint(1, 30),
            "rate": 10 ** rng.uniform(-4, 0),
            "criterion": rng.choice(["gini", "entropy", None]),
        }
        out.append((params, score(params, rng)))
    return out


@pytest.mark.parametrize("seed", range(3))
def test_the_parameter_that_decides_the_score_ranks_first(seed: int) -> None:
    ranked = param_importances(
        trials(200, lambda p, rng: p["depth"] / 30 + 0.02 * rng.random(), seed), SPACE
    )
    assert ranked[0][0] == "depth" and ranked[0][1] > 0.5
    assert sum(share for _, share in ranked) == pytest.approx(1.0)
    assert [share for _, share in ranked] == sorted((s for _, s in ranked), reverse=True)


def test_a_choice_with_none_among_its_values_is_ranked_too() -> None:
    scores = {"gini": 0.9, "entropy": 0.5, None: 0.1}
    ranked = param_importances(
        trials(200, lambda p, rng: scores[p["criterion"]] + 0.01 * rng.random()), SPACE
    )
    assert ranked[0][0] == "criterion"


def test_too_few_trials_or_one_score_for_all_is_said_not_guessed() -> None:
    with pytest.raises(ImportanceUnavailable, match=f"after {MIN_TRIALS} scored trials"):
        param_importances(trials(MIN_TRIALS - 1, lambda p, rng: rng.random()), SPACE)
    with pytest.raises(ImportanceUnavailable, match="the same score"):
        param_importances(trials(30, lambda p, rng: 0.5), SPACE)


def test_a_conditional_parameter_counts_only_when_every_trial_has_it() -> None:
    space = {**SPACE, "leaf": FloatParam(0.0, 1.0, when=(("criterion", ("gini",)),))}
    scored = trials(60, lambda p, rng: p["depth"] / 30)
    for params, _ in scored:
        if params["criterion"] == "gini":
            params["leaf"] = 0.5
    names = {name for name, _ in param_importances(scored, space)}
    assert names == {"depth", "rate", "criterion"}


def test_values_outside_the_space_are_left_out_not_fatal() -> None:
    scored = trials(30, lambda p, rng: p["depth"] / 30 + 0.01 * rng.random())
    scored[0][0]["depth"] = 99  # an older run of an extended search
    scored[1][0]["unknown"] = 1
    assert param_importances(scored, SPACE)
