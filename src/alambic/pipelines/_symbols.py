"""Symbolic values seen while a pipeline function is traced.

A :class:`Symbol` stands for a value known only at run time: a parameter, a step's
output, or the current item of an ``al.map``. It records an *expression* (JSON) that
the orchestrator resolves later. Comparisons between symbols build a
:class:`Condition` for ``al.when``. Using a symbol where Python needs a real value
(``if``, ``for``, ``len``) raises a :class:`DefinitionError` that says what to write
instead.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from alambic.errors import DefinitionError

__all__ = ["CURRENT_SCOPES", "Condition", "Symbol", "to_expr"]

# The al.map scopes open at the point of tracing (outermost first).
CURRENT_SCOPES: ContextVar[tuple[str, ...]] = ContextVar("alambic_scopes", default=())


class Symbol:
    """A value known only at run time (parameter, step output or map item).

    Attributes:
        expr: how the orchestrator resolves it, as JSON.
        scopes: the ``al.map`` scopes it lives in, outermost first.
        annotation: its Python type when known (for validation), else None.
        label: a readable name for error messages.
    """

    __slots__ = ("annotation", "expr", "label", "scopes")

    def __init__(
        self, expr: dict[str, Any], scopes: tuple[str, ...], annotation: Any, label: str
    ) -> None:
        self.expr = expr
        self.scopes = scopes
        self.annotation = annotation
        self.label = label

    def __repr__(self) -> str:
        return f"<alambic value {self.label}>"

    def __getitem__(self, key: str | int) -> Symbol:
        if not isinstance(key, str | int):
            raise DefinitionError(
                f"{self.label}[{key!r}]: only str or int keys can select from a step output"
            )
        expr = dict(self.expr)
        expr["path"] = [*self.expr.get("path", []), key]
        return Symbol(expr, self.scopes, None, f"{self.label}[{key!r}]")

    def __bool__(self) -> bool:
        raise DefinitionError(
            f"{self.label} is known only at run time, so Python's `if`/`and`/`or` cannot test it "
            "while the pipeline is traced; use `with al.when(...):` (and `al.otherwise()`)"
        )

    def __iter__(self) -> Any:
        raise DefinitionError(
            f"{self.label} is known only at run time; to run steps for each of its items, "
            f"write `for item in al.map({self.label}):`"
        )

    def __len__(self) -> int:
        raise DefinitionError(f"len({self.label}) is known only at run time")

    def __hash__(self) -> int:
        return id(self)

    # Comparisons build conditions for al.when.
    def _compare(self, op: str, other: Any) -> Condition:
        args = [to_expr(self, what="a comparison"), to_expr(other, what="a comparison")]
        return Condition(
            {"op": op, "args": args}, CURRENT_SCOPES.get(), f"{self.label} {op} {_label(other)}"
        )

    def __eq__(self, other: object) -> Condition:  # type: ignore[override]
        return self._compare("==", other)

    def __ne__(self, other: object) -> Condition:  # type: ignore[override]
        return self._compare("!=", other)

    def __lt__(self, other: Any) -> Condition:
        return self._compare("<", other)

    def __le__(self, other: Any) -> Condition:
        return self._compare("<=", other)

    def __gt__(self, other: Any) -> Condition:
        return self._compare(">", other)

    def __ge__(self, other: Any) -> Condition:
        return self._compare(">=", other)


class Condition:
    """A boolean expression over symbols, for ``al.when``; combine with ``&``, ``|``, ``~``."""

    __slots__ = ("expr", "label", "scopes")

    def __init__(self, expr: dict[str, Any], scopes: tuple[str, ...], label: str) -> None:
        self.expr = expr
        self.scopes = scopes
        self.label = label

    def __repr__(self) -> str:
        return f"<alambic condition {self.label}>"

    def __bool__(self) -> bool:
        raise DefinitionError(
            f"`{self.label}` is decided only at run time; write `with al.when({self.label}):` "
            "instead of `if`, and combine conditions with & | ~ instead of and/or/not"
        )

    def __and__(self, other: Condition | Symbol) -> Condition:
        return Condition(
            {"op": "and", "args": [self.expr, _cond_expr(other)]},
            CURRENT_SCOPES.get(),
            f"({self.label}) & ({_label(other)})",
        )

    def __or__(self, other: Condition | Symbol) -> Condition:
        return Condition(
            {"op": "or", "args": [self.expr, _cond_expr(other)]},
            CURRENT_SCOPES.get(),
            f"({self.label}) | ({_label(other)})",
        )

    def __invert__(self) -> Condition:
        return Condition({"op": "not", "args": [self.expr]}, self.scopes, f"~({self.label})")


def _label(value: Any) -> str:
    return value.label if isinstance(value, Symbol | Condition) else repr(value)


def _cond_expr(value: Any) -> dict[str, Any]:
    if isinstance(value, Condition):
        return value.expr
    if isinstance(value, Symbol):
        return {"op": "truth", "args": [to_expr(value, what="a condition")]}
    raise DefinitionError(f"cannot combine a condition with {value!r}; use another condition")


def to_expr(value: Any, *, what: str) -> dict[str, Any]:
    """Turn an argument (symbol, constant, or list/tuple/dict of them) into an expression.

    A symbol made inside an ``al.map`` that is used outside it (after the loop, or in
    another map) is *gathered*: it stands for the list of its values over every item.

    Raises:
        DefinitionError: a constant is not JSON-able (``what`` names the argument).
    """
    if isinstance(value, Symbol):
        here = CURRENT_SCOPES.get()
        common = 0
        while common < min(len(here), len(value.scopes)) and here[common] == value.scopes[common]:
            common += 1
        extra = value.scopes[common:]
        return {"gather": value.expr, "over": list(extra)} if extra else value.expr
    if isinstance(value, Condition):
        raise DefinitionError(
            f"{what} is a condition ({value.label}); conditions go in al.when(...), not into steps"
        )
    if isinstance(value, list | tuple):
        return {"list": [to_expr(item, what=what) for item in value]}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise DefinitionError(f"{what}: dict keys must be strings")
        return {"dict": {k: to_expr(v, what=what) for k, v in value.items()}}
    if value is None or isinstance(value, bool | int | float | str):
        return {"const": value}
    raise DefinitionError(
        f"{what} is a constant {type(value).__name__}, which cannot be part of a pipeline "
        "definition; pass it through a step output or a parameter instead"
    )
