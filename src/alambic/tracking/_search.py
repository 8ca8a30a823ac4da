"""``search_runs``: filter tracked runs on params, metrics, tags and attributes.

The filter is a small expression language, as MLflow users know it::

    metrics.roc_auc > 0.9 and params.max_depth < 8
    tags.team = 'fraud' or (status = 'failed' and kind = 'trial')

Parameters are text; compared with a number, they are compared as numbers.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from alambic.tracking._api import _process_buffer, tracking_store
from alambic.tracking._buffer import TrackingError

__all__ = ["search_runs"]

_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<op><=|>=|!=|==|=|<|>)|(?P<paren>[()])|(?P<word>[A-Za-z_][\w.\-]*))"
)
_ATTRIBUTES = {"status", "kind", "name", "run_id", "parent_id", "experiment"}


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None:
            raise TrackingError(f"cannot read the filter at {text[position:]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str, frame: pd.DataFrame) -> None:
        self.tokens = _tokens(text)
        self.position = 0
        self.frame = frame
        self.text = text

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise TrackingError(f"the filter {self.text!r} ends too early")
        self.position += 1
        return token

    def parse(self) -> pd.Series:
        mask = self.disjunction()
        if self.peek() is not None:
            raise TrackingError(f"unexpected {self.peek()[1]!r} in the filter {self.text!r}")  # type: ignore[index]
        return mask

    def disjunction(self) -> pd.Series:
        mask = self.conjunction()
        while (token := self.peek()) and token[0] == "word" and token[1].lower() == "or":
            self.take()
            mask = mask | self.conjunction()
        return mask

    def conjunction(self) -> pd.Series:
        mask = self.atom()
        while (token := self.peek()) and token[0] == "word" and token[1].lower() == "and":
            self.take()
            mask = mask & self.atom()
        return mask

    def atom(self) -> pd.Series:
        kind, value = self.take()
        if kind == "paren" and value == "(":
            mask = self.disjunction()
            if self.take() != ("paren", ")"):
                raise TrackingError(f"missing ')' in the filter {self.text!r}")
            return mask
        if kind != "word":
            raise TrackingError(f"expected a name like metrics.auc, got {value!r}")
        column = self.column(value)
        op_kind, op = self.take()
        if op_kind != "op":
            raise TrackingError(f"expected a comparison after {value}, got {op!r}")
        lit_kind, literal = self.take()
        if lit_kind == "num":
            number = float(literal)
            series = pd.to_numeric(self.frame[column], errors="coerce")
            return _compare(series, op, number)
        if lit_kind == "str":
            text = literal[1:-1].replace("\\'", "'").replace('\\"', '"')
            return _compare(self.frame[column].astype("string"), op, text)
        raise TrackingError(f"expected a number or a 'quoted' text after {value} {op}")

    def column(self, name: str) -> str:
        prefix, _, key = name.partition(".")
        if prefix in ("metrics", "params", "tags") and key:
            if name not in self.frame.columns:
                self.frame[name] = pd.NA  # unknown key: matches nothing
            return name
        attribute = key if prefix == "attributes" else name
        if attribute == "id":
            attribute = "run_id"
        if attribute in _ATTRIBUTES:
            return attribute
        raise TrackingError(
            f"{name!r} is not searchable; use metrics.KEY, params.KEY, tags.KEY or one of "
            f"{', '.join(sorted(_ATTRIBUTES))}"
        )


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
    experiments = store.experiment_names()
    rows = []
    for run in store.runs(names):
        row: dict[str, Any] = {
            "run_id": run.id,
            "experiment": experiments.get(run.experiment_id, ""),
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
        rows.append(row)
    frame = pd.DataFrame(
        rows,
        columns=None
        if rows
        else ["run_id", "experiment", "kind", "name", "status", "start_time", "end_time"],
    )
    if filter and filter.strip():
        frame = frame[_Parser(filter, frame.copy()).parse().to_numpy()]
    if order_by:
        terms = [order_by] if isinstance(order_by, str) else order_by
        columns, ascending = [], []
        for term in terms:
            parts = term.split()
            if (
                not parts
                or len(parts) > 2
                or (len(parts) == 2 and parts[1].upper() not in ("ASC", "DESC"))
            ):
                raise TrackingError(f"order_by {term!r}: write 'metrics.auc DESC' or 'name'")
            if parts[0] not in frame.columns:
                raise TrackingError(f"order_by {parts[0]!r}: no run has it")
            columns.append(parts[0])
            ascending.append(len(parts) == 1 or parts[1].upper() == "ASC")
        frame = frame.sort_values(columns, ascending=ascending, na_position="last")
    return frame.head(max_results).reset_index(drop=True)
