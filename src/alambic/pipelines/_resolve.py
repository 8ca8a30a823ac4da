"""Resolving graph expressions against the state of a run.

The orchestrator keeps, for every step instance, its status and outputs; this module
turns an expression (see :mod:`alambic.pipelines._graph`) into a *value description*
that a worker can materialize, or says that it must wait, or that it is skipped.

Value descriptions (JSON)::

    {"value": 3}                                       an inline JSON value
    {"artifact": {"hash": …, "materializer": …}, "path": ["auc"]}   a stored value
    {"list": [<desc>, …]}, {"dict": {"k": <desc>}}     containers
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["OPERATORS", "Skip", "Wait", "fingerprint"]

OPERATORS: dict[str, Callable[..., Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class Wait:
    """An input is not known yet."""

    __slots__ = ()


WAIT = Wait()


@dataclass(frozen=True)
class Skip:
    """An input will never be known.

    Attributes:
        reason: why, for ``runs show``.
        failed: True when caused by a failure or cancellation upstream; False when
            caused by a condition that did not hold (gathering drops such values).
    """

    reason: str
    failed: bool


def fingerprint(desc: Any) -> Any:
    """The part of a value description that identifies its content (for cache keys)."""
    if "value" in desc:
        return {"v": desc["value"], "p": desc.get("path", [])}
    if "artifact" in desc:
        return {"a": desc["artifact"]["hash"], "p": desc.get("path", [])}
    if "list" in desc:
        return [fingerprint(item) for item in desc["list"]]
    return {k: fingerprint(v) for k, v in desc["dict"].items()}


def short(value: Any, limit: int = 60) -> str:
    """A short repr for explanations."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
