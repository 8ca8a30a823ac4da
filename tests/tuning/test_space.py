"""Search spaces: parsing, checks before any trial, conditional sampling."""

from __future__ import annotations

from typing import Any

import optuna
import pytest

from alambic.errors import TuningError
from alambic.tuning import Categorical, Float, Int, Space


def test_a_space_is_data_in_either_form() -> None:
    typed = Space.parse(
        {
            "depth": Int(2, 8),
            "lr": Float(1e-3, 0.3, log=True),
            "booster": Categorical(["gbdt", "dart"]),
        }
    )
    plain = Space.parse(
        {
            "depth": {"type": "int", "low": 2, "high": 8},
            "lr": {"type": "float", "low": 1e-3, "high": 0.3, "log": True},
            "booster": ["gbdt", "dart"],
        }
    )
    assert typed.params == plain.params
    assert plain.describe()["lr"] == {"type": "float", "low": 1e-3, "high": 0.3, "log": True}


def test_conditional_parameters_are_sampled_only_when_their_condition_holds() -> None:
    space = Space.parse(
        {
            "drop_rate": Float(0.05, 0.5, when={"booster": "dart"}),  # child before parent
            "booster": ["gbdt", "dart"],
        }
    )
    assert space.order == ("booster", "drop_rate")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    seen = []
    for _ in range(30):
        trial = study.ask()
        seen.append(space.sample(trial))
        study.tell(trial, 0.0)
    assert all(("drop_rate" in p) == (p["booster"] == "dart") for p in seen)
    assert {p["booster"] for p in seen} == {"gbdt", "dart"}


def test_grid_values_cover_the_space() -> None:
    space = Space.parse({"a": Int(1, 5, step=2), "b": Float(0.1, 0.3, step=0.1), "c": [True]})
    assert space.grid() == {"a": [1, 3, 5], "b": [0.1, 0.2, 0.3], "c": [True]}
    assert space.size() == 9


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, "empty"),
        ({"x": Int(5, 1)}, "low=5 is greater than high=1"),
        ({"x": Float(0.0, 1.0, log=True)}, "log scale needs low > 0"),
        ({"x": Float(0.1, 1.0, step=0.1, log=True)}, "cannot have a step"),
        ({"x": Float(0.0, float("inf"))}, "finite"),
        ({"x": Categorical([])}, "at least one choice"),
        ({"x": Categorical([1, 1])}, "distinct"),
        ({"x": Categorical([object()])}, "choices must be None"),
        ({"x": {"type": "complex", "low": 1}}, "unknown type"),
        ({"x": {"type": "int", "lo": 1}}, "'x'"),
        ({"x": 3}, "describe a parameter"),
        ({"x": Float(0.1, 1.0, when={"y": 1})}, "not in the space"),
        ({"y": ["a", "b"], "x": Float(0.1, 1.0, when={"y": "c"})}, "never takes"),
        (
            {"x": Categorical([1, 2], when={"y": 1}), "y": Categorical([1, 2], when={"x": 1})},
            "cycle",
        ),
    ],
    ids=[
        "empty",
        "low-above-high",
        "log-from-zero",
        "log-with-step",
        "infinite",
        "no-choice",
        "duplicate-choice",
        "object-choice",
        "unknown-type",
        "bad-key",
        "not-a-param",
        "unknown-parent",
        "impossible-condition",
        "cycle",
    ],
)
def test_contradictory_spaces_are_refused_with_the_parameter_named(
    raw: dict[str, Any], message: str
) -> None:
    with pytest.raises(TuningError, match=message):
        Space.parse(raw)


def test_the_grid_sampler_needs_finite_unconditional_spaces() -> None:
    with pytest.raises(TuningError, match="give the float a step"):
        Space.parse({"x": Float(0.0, 1.0)}).grid()
    with pytest.raises(TuningError, match="conditional"):
        Space.parse({"y": ["a"], "x": Int(1, 2, when={"y": "a"})}).grid()
