"""``search_runs`` in SQL: a filter tree, orderings and a limit as one SELECT.

Params, latest metric values and tags are read from ``tracked_run_values`` (one row per
key, written with the run). The semantics are those of the DataFrame evaluator in
:mod:`alambic.tracking._search`, which a Hypothesis test holds this module to:

- a number literal compares the value read as a number (params and tags are text; a
  text that is no number compares false, but for ``!=``, which it satisfies, as does a
  run without the key);
- a quoted literal compares the value as text, code point by code point; a run without
  the key never matches, ``!=`` included;
- orderings put runs without the key last, ascending or descending; ties keep the
  default order, newest first (then by id).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select
from sqlalchemy.orm import aliased

from alambic.tracking._filter import Compare, Node, as_number
from alambic.tracking._tables import ExperimentRow, RunValueRow, TrackedRunRow

__all__ = ["KINDS", "Unsupported", "compile_filter", "has_column", "search_selects", "values_of"]

KINDS = {"params": "param", "metrics": "metric", "tags": "tag"}
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_RUN = TrackedRunRow
_ATTRIBUTE_COLUMNS: dict[str, Any] = {
    "run_id": _RUN.id,
    "experiment": ExperimentRow.name,
    "parent_id": _RUN.parent_id,
    "kind": _RUN.kind,
    "name": _RUN.name,
    "status": _RUN.status,
    "start_time": _RUN.created_at,
    "end_time": _RUN.ended_at,
}


class Unsupported(Exception):
    """A filter the SQL path does not evaluate (a number compared with an attribute)."""


def values_of(run_id: str, row: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``tracked_run_values`` rows of a run from its params, metrics and tags."""
    values = []
    for column, kind in KINDS.items():
        for key, value in (row.get(column) or {}).items():
            if kind == "metric":
                number = None if value is None else float(value)
                if number is not None and not math.isfinite(number):
                    number = None
                text = None if number is None else str(number)
            else:
                text = None if value is None else str(value)
                number = None if text is None else as_number(text)
            values.append({"run_id": run_id, "kind": kind, "key": key, "text": text, "num": number})
    return values


def _text(column: Any, postgres: bool) -> Any:
    # Python compares text by code point: so do SQLite (bytes of UTF-8) and collation C.
    return column.collate("C") if postgres else column


def _keyed(node: Compare, postgres: bool) -> ColumnElement[bool]:
    prefix, _, key = node.column.partition(".")
    value = aliased(RunValueRow)
    of_key = and_(value.kind == KINDS[prefix], value.key == key)
    if isinstance(node.value, str):
        compared = _OPS[node.op](_text(value.text, postgres), node.value)
        return exists().where(value.run_id == _RUN.id, of_key, compared)
    if math.isnan(node.value):  # pragma: no cover - the tokenizer reads no NaN
        return false()
    if node.op == "!=":  # a run without a number for the key satisfies it
        equal = select(value.run_id).where(of_key, value.num == node.value)
        return _RUN.id.not_in(equal)
    compared = _OPS[node.op](value.num, node.value)
    return exists().where(value.run_id == _RUN.id, of_key, compared)


def compile_filter(node: Node, *, postgres: bool) -> ColumnElement[bool]:
    """The WHERE clause of a filter tree.

    Raises:
        Unsupported: a number is compared with an attribute.
    """
    if not isinstance(node, Compare):
        left = compile_filter(node.left, postgres=postgres)
        right = compile_filter(node.right, postgres=postgres)
        return and_(left, right) if node.op == "and" else or_(left, right)
    if "." in node.column:
        return _keyed(node, postgres)
    if not isinstance(node.value, str):
        raise Unsupported(node.column)
    column = _text(_ATTRIBUTE_COLUMNS[node.column], postgres)
    compared: ColumnElement[bool] = _OPS[node.op](column, node.value)
    return compared


def _scope(query: Any, experiments: list[str] | None) -> Any:
    query = query.join(ExperimentRow, ExperimentRow.id == _RUN.experiment_id)
    return query.where(ExperimentRow.name.in_(experiments)) if experiments else query


def _ordered(
    query: Any, order: list[tuple[str, bool]], limit: int, postgres: bool
) -> Select[TrackedRunRow, str]:
    clauses = []
    for column, ascending in order:
        prefix, _, key = column.partition(".")
        if key and prefix in KINDS:
            value = aliased(RunValueRow)
            on = and_(value.run_id == _RUN.id, value.kind == KINDS[prefix], value.key == key)
            query = query.outerjoin(value, on)
            sorted_by = value.num if prefix == "metrics" else _text(value.text, postgres)
        else:
            sorted_by = _ATTRIBUTE_COLUMNS[column]
            if column not in ("start_time", "end_time"):
                sorted_by = _text(sorted_by, postgres)
        clauses.append((sorted_by.asc() if ascending else sorted_by.desc()).nulls_last())
    clauses += [_RUN.created_at.desc(), _RUN.id.desc()]
    ordered: Select[TrackedRunRow, str] = query.order_by(*clauses).limit(limit)
    return ordered


def search_selects(
    where: ColumnElement[bool] | None,
    *,
    experiments: list[str] | None,
    order: list[tuple[str, bool]],
    limit: int,
    postgres: bool,
) -> list[Select[TrackedRunRow, str]]:
    """SELECTs of runs with their experiment's name: filtered, ordered, limited.

    Ordered first by a metric, the search reads the metric's index in order and stops at
    the limit: one SELECT for the runs with the metric, then, if they are too few, one
    for the runs without (they come last), each limited to ``limit`` (the caller cuts).
    """
    conditions = [] if where is None else [where]
    prefix, _, key = order[0][0].partition(".") if order else ("", "", "")
    if prefix != "metrics" or not key:
        query = _scope(select(_RUN, ExperimentRow.name), experiments).where(*conditions)
        return [_ordered(query, order, limit, postgres)]
    value = aliased(RunValueRow)
    of_key = and_(value.kind == "metric", value.key == key, value.num.is_not(None))
    with_key = _scope(
        select(_RUN, ExperimentRow.name)
        .select_from(value)
        .join(_RUN, _RUN.id == value.run_id)
        .where(of_key, *conditions),
        experiments,
    )
    rest = [(column, ascending) for column, ascending in order[1:]]
    first = with_key.order_by(value.num.asc() if order[0][1] else value.num.desc())
    missing = ~exists().where(value.run_id == _RUN.id, of_key)
    without = _scope(select(_RUN, ExperimentRow.name), experiments).where(missing, *conditions)
    return [_ordered(first, rest, limit, postgres), _ordered(without, rest, limit, postgres)]


def has_column(column: str, experiments: list[str] | None) -> Select[bool]:
    """SELECT whether any run in scope has ``column`` (as the DataFrame would)."""
    prefix, _, key = column.partition(".")
    if not (key and prefix in KINDS):
        return select(exists(_scope(select(_RUN.id), experiments).limit(1)))
    value = aliased(RunValueRow)
    found = select(value.run_id).where(value.kind == KINDS[prefix], value.key == key)
    if experiments:  # from the key's first rows, the first run in scope
        found = _scope(found.join(_RUN, _RUN.id == value.run_id), experiments)
    return select(exists(found.limit(1)))
