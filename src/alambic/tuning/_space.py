"""Search spaces declared as data: int, float (linear or log), categorical, conditional.

A space is a mapping of parameter names to :class:`Int`, :class:`Float` or
:class:`Categorical`, or to their plain-data form (as read from YAML or JSON)::

    {"learning_rate": {"type": "float", "low": 1e-3, "high": 0.3, "log": True},
     "boosting": ["gbdt", "dart"],                       # a list is categorical
     "drop_rate": {"type": "float", "low": 0.05, "high": 0.5,
                   "when": {"boosting": "dart"}}}        # only sampled for dart

Everything is checked before any trial runs: an empty space, ``low > high``, a log
scale that reaches 0, a condition on an unknown parameter or on a value it never takes.

Example:
    >>> space = Space.parse({"depth": Int(2, 8), "lr": Float(0.01, 0.3, log=True)})
    >>> sorted(space.params)
    ['depth', 'lr']
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from alambic.errors import TuningError

__all__ = ["Categorical", "Float", "Int", "Param", "Space"]

_CHOICE_TYPES = (type(None), bool, int, float, str)


def _conditions(when: Mapping[str, Any] | None) -> dict[str, tuple[Any, ...]]:
    if when is None:
        return {}
    if not isinstance(when, Mapping):
        raise TuningError(f"`when` must map a parameter to its value(s), got {when!r}")
    return {
        name: tuple(values) if isinstance(values, list | tuple | set) else (values,)
        for name, values in when.items()
    }


@dataclass(frozen=True)
class Int:
    """An integer in ``[low, high]`` (both included), on a linear or log scale."""

    low: int
    high: int
    step: int = 1
    log: bool = False
    when: Mapping[str, Any] | None = None

    def check(self, name: str) -> None:
        _check_range(name, self.low, self.high, self.log, self.step, integer=True)

    def suggest(self, trial: Any, name: str) -> Any:
        return trial.suggest_int(name, self.low, self.high, step=self.step, log=self.log)

    def grid(self, name: str) -> list[Any]:
        if self.log:
            raise TuningError(f"{name!r}: the grid sampler needs a linear scale (log=False)")
        return list(range(self.low, self.high + 1, self.step))

    def values(self) -> tuple[Any, ...] | None:
        return tuple(range(self.low, self.high + 1, self.step))


@dataclass(frozen=True)
class Float:
    """A real number in ``[low, high]``, on a linear or log scale, optionally in steps."""

    low: float
    high: float
    step: float | None = None
    log: bool = False
    when: Mapping[str, Any] | None = None

    def check(self, name: str) -> None:
        _check_range(name, self.low, self.high, self.log, self.step, integer=False)

    def suggest(self, trial: Any, name: str) -> Any:
        return trial.suggest_float(name, self.low, self.high, step=self.step, log=self.log)

    def grid(self, name: str) -> list[Any]:
        if self.step is None:
            raise TuningError(
                f"{name!r}: the grid sampler needs a finite set of values; give the float a "
                "step (Float(0.1, 0.5, step=0.1)) or use another sampler"
            )
        count = round((self.high - self.low) / self.step) + 1
        return [round(self.low + i * self.step, 12) for i in range(count)]

    def values(self) -> tuple[Any, ...] | None:
        return None


@dataclass(frozen=True)
class Categorical:
    """One of a list of choices (None, bools, numbers or strings)."""

    choices: Sequence[Any]
    when: Mapping[str, Any] | None = None

    def check(self, name: str) -> None:
        choices = list(self.choices) if isinstance(self.choices, list | tuple) else None
        if not choices:
            raise TuningError(f"{name!r}: a categorical parameter needs at least one choice")
        for choice in choices:
            if not isinstance(choice, _CHOICE_TYPES):
                raise TuningError(
                    f"{name!r}: choice {choice!r} is a {type(choice).__name__}; choices must be "
                    "None, booleans, numbers or strings (name an object by a string instead)"
                )
        if len({(type(c), c) for c in choices}) != len(choices):
            raise TuningError(f"{name!r}: choices must be distinct, got {choices!r}")

    def suggest(self, trial: Any, name: str) -> Any:
        return trial.suggest_categorical(name, list(self.choices))

    def grid(self, name: str) -> list[Any]:
        return list(self.choices)

    def values(self) -> tuple[Any, ...] | None:
        return tuple(self.choices)


Param = Int | Float | Categorical


def _check_range(name: str, low: Any, high: Any, log: bool, step: Any, *, integer: bool) -> None:
    kind = "int" if integer else "float"
    for bound in (low, high):
        ok = isinstance(bound, int) if integer else isinstance(bound, int | float)
        if isinstance(bound, bool) or not ok or not math.isfinite(bound):
            raise TuningError(
                f"{name!r}: bounds of an {kind} must be finite {kind}s, got {bound!r}"
            )
    if low > high:
        raise TuningError(f"{name!r}: low={low} is greater than high={high}; swap them")
    if log and low <= 0:
        raise TuningError(f"{name!r}: a log scale needs low > 0, got low={low}")
    if step is not None:
        if step <= 0:
            raise TuningError(f"{name!r}: step must be positive, got {step}")
        if log and (not integer or step != 1):
            raise TuningError(f"{name!r}: a log scale cannot have a step; drop one of them")
        if step > high - low and high != low:
            raise TuningError(f"{name!r}: step={step} is larger than the range {low}..{high}")


def _from_data(name: str, raw: Any) -> Param:
    if isinstance(raw, Int | Float | Categorical):
        return raw
    if isinstance(raw, list | tuple):
        return Categorical(list(raw))
    if not isinstance(raw, Mapping) or "type" not in raw:
        raise TuningError(
            f"{name!r}: describe a parameter as Int/Float/Categorical, a list of choices or "
            f"{{'type': 'int'|'float'|'categorical', ...}}, got {raw!r}"
        )
    values = {k: v for k, v in raw.items() if k != "type"}
    kinds: dict[str, type[Int] | type[Float] | type[Categorical]] = {
        "int": Int,
        "float": Float,
        "categorical": Categorical,
    }
    kind = kinds.get(str(raw["type"]).lower())
    if kind is None:
        raise TuningError(f"{name!r}: unknown type {raw['type']!r}; use int, float or categorical")
    try:
        return kind(**values)
    except TypeError as exc:
        raise TuningError(f"{name!r}: {exc}") from None


@dataclass(frozen=True)
class Space:
    """A checked search space; :meth:`sample` draws one point from an Optuna trial."""

    params: dict[str, Param]
    order: tuple[str, ...] = field(default=())

    @classmethod
    def parse(cls, raw: Space | Mapping[str, Any]) -> Space:
        """Check a space given as data.

        Raises:
            TuningError: the space is empty or contradictory (the message names the parameter).
        """
        if isinstance(raw, Space):
            return raw
        if not isinstance(raw, Mapping) or not raw:
            raise TuningError(
                "the search space is empty; give at least one parameter, e.g. "
                "{'max_depth': Int(2, 10)}"
            )
        params = {str(name): _from_data(str(name), value) for name, value in raw.items()}
        for name, param in params.items():
            param.check(name)
        return cls(params, _order(params))

    def sample(self, trial: Any) -> dict[str, Any]:
        """Suggest every parameter whose conditions hold, parents first."""
        chosen: dict[str, Any] = {}
        for name in self.order:
            param = self.params[name]
            conditions = _conditions(param.when)
            if all(name_ in chosen and chosen[name_] in ok for name_, ok in conditions.items()):
                chosen[name] = param.suggest(trial, name)
        return chosen

    def grid(self) -> dict[str, list[Any]]:
        """Every value of every parameter, for the grid sampler."""
        conditional = [n for n, p in self.params.items() if p.when]
        if conditional:
            raise TuningError(
                f"the grid sampler cannot search conditional parameters ({', '.join(conditional)});"
                " use tpe or random, or drop the conditions"
            )
        return {name: param.grid(name) for name, param in self.params.items()}

    def size(self) -> int | None:
        """The number of grid points (None when a float has no step)."""
        try:
            return math.prod(len(values) for values in self.grid().values())
        except TuningError:
            return None

    def describe(self) -> dict[str, Any]:
        """The space as plain data (for tracking and model metadata)."""
        out: dict[str, Any] = {}
        for name, param in self.params.items():
            kind = type(param).__name__.lower()
            data = {k: v for k, v in vars(param).items() if v is not None}
            out[name] = {"type": "categorical" if kind == "categorical" else kind, **data}
            if "choices" in data:
                out[name]["choices"] = list(data["choices"])
            if "when" in data:
                out[name]["when"] = dict(data["when"])
        return out


def _order(params: dict[str, Param]) -> tuple[str, ...]:
    """Parents before the parameters that depend on them; conditions checked."""
    _check_conditions(params)
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in order:
            return
        if name in visiting:
            raise TuningError(
                f"the conditions on {name!r} form a cycle; a parent cannot depend on its child"
            )
        visiting.add(name)
        for parent in _conditions(params[name].when):
            visit(parent)
        visiting.discard(name)
        order.append(name)

    for name in params:
        visit(name)
    return tuple(order)


def _check_conditions(params: dict[str, Param]) -> None:
    """Each condition names a parameter of the space, and values that parameter takes."""
    for name, param in params.items():
        for parent, wanted in _conditions(param.when).items():
            if parent not in params:
                raise TuningError(
                    f"{name!r} depends on {parent!r}, which is not in the space; "
                    f"known: {', '.join(sorted(params))}"
                )
            possible = params[parent].values()
            if possible is not None:
                impossible = [v for v in wanted if v not in possible]
                if impossible:
                    raise TuningError(
                        f"{name!r} is only used when {parent!r} is {impossible!r}, a value "
                        f"{parent!r} never takes (it takes {list(possible)!r})"
                    )
