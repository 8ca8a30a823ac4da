"""``search_runs``: filter tracked runs on params, metrics, tags and attributes.

The filter is a small expression language, as MLflow users know it::

    metrics.roc_auc > 0.9 and params.max_depth < 8
    tags.team = 'fraud' or (status = 'failed' and kind = 'trial')

Parameters are text; compared with a number, they are compared as numbers.

Filters, orderings and the limit run in SQL (:mod:`alambic.tracking._query`), so a
search reads only the runs it returns. :func:`_search_in_memory`, which loads every run
into a DataFrame, is the reference the SQL path is tested against; it also answers the
rare filters SQL does not evaluate (a number compared with an attribute).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from alambic.tracking._api import _process_buffer, tracking_store
from alambic.tracking._buffer import TrackingError
from alambic.tracking._filter import Compare, Node, order_term, parse_filter
from alambic.tracking._query import Unsupported, compile_filter
from alambic.tracking._store import TrackedRunRecord, TrackingStore

__all__ = ["search_runs"]

_COLUMNS = ["run_id", "experiment", "kind", "name", "status", "start_time", "end_time"]
_ALWAYS = frozenset({*_COLUMNS})


def _row(run: TrackedRunRecord, experiment: str) -> dict[str, Any]:
    row: dict[str, Any] = {
        "run_id": run.id,
        "experiment": experiment,
        "parent_id": run.parent_id,
        "kind": run.kind,
        "name": run.name,
        "status": run.status,
        "start_time": run.created_at,
        "end_time": run.ended_at,
    }
    row.update({f"params.{k}": v for k, v in run.params.items()})
    row.update({f"metrics.{k}": v for k, v in run.metrics.items()})
    row.update({f"tags.{k}": v for k, v in run.tags.items()})
    return row


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=None if rows else _COLUMNS)


def _mask(node: Node, frame: pd.DataFrame) -> pd.Series:
    if not isinstance(node, Compare):
        left, right = _mask(node.left, frame), _mask(node.right, frame)
        return left & right if node.op == "and" else left | right
    column = frame[node.column] if node.column in frame.columns else pd.Series(pd.NA, frame.index)
    if isinstance(node.value, str):
        return _compare(column.astype("string"), node.op, node.value)
    return _compare(pd.to_numeric(column, errors="coerce"), node.op, node.value)


def _compare(series: pd.Series, op: str, value: Any) -> pd.Series:
    result = {
        "=": series == value,
        "==": series == value,
        "!=": series != value,
        "<": series < value,
        "<=": series <= value,
        ">": series > value,
        ">=": series >= value,
    }[op]
    mask: pd.Series = result.fillna(False).astype(bool)
    return mask


def _search_in_memory(
    store: TrackingStore,
    filter: str | None,
    *,
    experiments: list[str] | None,
    order_by: str | list[str] | None,
    max_results: int,
) -> pd.DataFrame:
    """The reference search: every run into a DataFrame, filtered and sorted there."""
    names = store.experiment_names()
    frame = _frame([_row(run, names.get(run.experiment_id, "")) for run in store.runs(experiments)])
    if len(frame):  # the default order, made total: newest first, then by id
        frame = frame.sort_values(["start_time", "run_id"], ascending=False, kind="stable")
    if filter and filter.strip():
        frame = frame[_mask(parse_filter(filter), frame).to_numpy()]
    if order_by:
        columns, ascending = [], []
        for term in [order_by] if isinstance(order_by, str) else order_by:
            column, up = order_term(term)
            if column not in frame.columns:
                raise TrackingError(f"order_by {column!r}: no run has it")
            columns.append(column)
            ascending.append(up)
        frame = frame.sort_values(columns, ascending=ascending, na_position="last", kind="stable")
    return frame.head(max_results).reset_index(drop=True)


def _search_sql(
    store: TrackingStore,
    filter: str | None,
    *,
    experiments: list[str] | None,
    order_by: str | list[str] | None,
    max_results: int,
) -> pd.DataFrame:
    """The search in SQL: what :func:`_search_in_memory` returns, reading only those runs.

    Raises:
        Unsupported: the filter compares a number with an attribute.
    """
    node = parse_filter(filter) if filter and filter.strip() else None
    where = (
        None
        if node is None
        else compile_filter(node, postgres=store.engine.dialect.name == "postgresql")
    )
    order = []
    for term in ([order_by] if isinstance(order_by, str) else order_by) if order_by else []:
        column, up = order_term(term)
        if column not in _ALWAYS and not store.has_column(column, experiments):
            raise TrackingError(f"order_by {column!r}: no run has it")
        order.append((column, up))
    found = store.search(where, experiments=experiments, order=order, limit=max_results)
    return _frame([_row(run, experiment) for run, experiment in found])


def search_runs(
    filter: str | None = None,
    *,
    experiment: str | list[str] | None = None,
    order_by: str | list[str] | None = None,
    max_results: int = 1000,
) -> pd.DataFrame:
    """Tracked runs as a DataFrame: one row per run, ``params.*``, ``metrics.*``, ``tags.*``.

    Args:
        filter: for example ``"metrics.roc_auc > 0.9 and params.max_depth < 8"``.
        experiment: one experiment name or several (default: all).
        order_by: ``"metrics.roc_auc DESC"`` or a list of such terms.
        max_results: at most this many rows.

    Example:
        >>> import alambic as al
        >>> for name, auc in (("a", 0.95), ("b", 0.85), ("c", 0.97)):
        ...     with al.start_run(name):
        ...         al.log_metric("auc", auc)
        >>> al.search_runs("metrics.auc > 0.9", order_by="metrics.auc DESC")["name"].tolist()
        ['c', 'a']

    Raises:
        TrackingError: the filter or the ordering cannot be read.
    """
    _process_buffer.flush()
    store = tracking_store()
    names = [experiment] if isinstance(experiment, str) else experiment
    options: dict[str, Any] = {
        "experiments": names,
        "order_by": order_by,
        "max_results": max_results,
    }
    if max_results >= 0:  # head(-n) drops the last n: only the reference does that
        try:
            return _search_sql(store, filter, **options)
        except Unsupported:
            pass
    return _search_in_memory(store, filter, **options)
