"""The filter language of ``search_runs``, read into a tree both evaluators share.

The tree is evaluated in SQL (:mod:`alambic.tracking._query`) or, as the reference the
SQL path is tested against, on a DataFrame (:mod:`alambic.tracking._search`). This
module imports neither pandas nor SQLAlchemy.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from alambic.errors import TrackingError

__all__ = [
    "ATTRIBUTES",
    "Compare",
    "Junction",
    "Node",
    "as_number",
    "order_term",
    "parse_filter",
]

_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<op><=|>=|!=|==|=|<|>)|(?P<paren>[()])|(?P<word>[A-Za-z_][\w.\-]*))"
)
ATTRIBUTES = frozenset({"status", "kind", "name", "run_id", "parent_id", "experiment"})
KEYED = ("metrics", "params", "tags")
# What pandas.to_numeric(errors="coerce") reads as a number (tests/tracking checks it).
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


@dataclass(frozen=True)
class Compare:
    """``column op value``: a column such as ``metrics.auc`` or ``status``."""

    column: str
    op: str
    value: float | str


@dataclass(frozen=True)
class Junction:
    """``left and right`` or ``left or right``."""

    op: str
    left: Node
    right: Node


Node = Compare | Junction


def as_number(text: str) -> float | None:
    """``text`` as pandas' ``to_numeric(errors="coerce")`` reads it; None for NaN.

    Example:
        >>> as_number(" 2 "), as_number("1e3"), as_number("abc")
        (2.0, 1000.0, None)
    """
    stripped = text.strip(" \t\n\r\f\v")
    if _NUMBER.fullmatch(stripped):
        return float(stripped)
    sign, body = (-1.0 if stripped[:1] == "-" else 1.0), stripped.lstrip("+-")
    if len(stripped) - len(body) <= 1 and body.lower() in ("inf", "infinity"):
        return sign * math.inf
    return None


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
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.position = 0
        self.text = text

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise TrackingError(f"the filter {self.text!r} ends too early")
        self.position += 1
        return token

    def parse(self) -> Node:
        node = self.junction("or")
        extra = self.peek()
        if extra is not None:
            raise TrackingError(f"unexpected {extra[1]!r} in the filter {self.text!r}")
        return node

    def junction(self, op: str) -> Node:
        node = self.junction("and") if op == "or" else self.atom()
        while (token := self.peek()) and token[0] == "word" and token[1].lower() == op:
            self.take()
            right = self.junction("and") if op == "or" else self.atom()
            node = Junction(op, node, right)
        return node

    def atom(self) -> Node:
        kind, value = self.take()
        if kind == "paren" and value == "(":
            node = self.junction("or")
            if self.take() != ("paren", ")"):
                raise TrackingError(f"missing ')' in the filter {self.text!r}")
            return node
        if kind != "word":
            raise TrackingError(f"expected a name like metrics.auc, got {value!r}")
        column = _column(value)
        op_kind, op = self.take()
        if op_kind != "op":
            raise TrackingError(f"expected a comparison after {value}, got {op!r}")
        lit_kind, literal = self.take()
        if lit_kind == "num":
            return Compare(column, op, float(literal))
        if lit_kind == "str":
            return Compare(column, op, literal[1:-1].replace("\\'", "'").replace('\\"', '"'))
        raise TrackingError(f"expected a number or a 'quoted' text after {value} {op}")


def _column(name: str) -> str:
    prefix, _, key = name.partition(".")
    if prefix in KEYED and key:
        return name
    attribute = key if prefix == "attributes" else name
    if attribute == "id":
        attribute = "run_id"
    if attribute in ATTRIBUTES:
        return attribute
    raise TrackingError(
        f"{name!r} is not searchable; use metrics.KEY, params.KEY, tags.KEY or one of "
        f"{', '.join(sorted(ATTRIBUTES))}"
    )


def parse_filter(text: str) -> Node:
    """The tree of a filter such as ``metrics.auc > 0.9 and params.depth < 8``.

    Example:
        >>> parse_filter("status = 'failed'")
        Compare(column='status', op='=', value='failed')

    Raises:
        TrackingError: the filter cannot be read.
    """
    return _Parser(text).parse()


def order_term(term: str) -> tuple[str, bool]:
    """(column, ascending) of an ordering such as ``"metrics.auc DESC"``.

    Example:
        >>> order_term("metrics.auc DESC"), order_term("name")
        (('metrics.auc', False), ('name', True))

    Raises:
        TrackingError: the term is not ``COLUMN [ASC|DESC]``.
    """
    parts = term.split()
    if not parts or len(parts) > 2 or (len(parts) == 2 and parts[1].upper() not in ("ASC", "DESC")):
        raise TrackingError(f"order_by {term!r}: write 'metrics.auc DESC' or 'name'")
    return parts[0], len(parts) == 1 or parts[1].upper() == "ASC"
