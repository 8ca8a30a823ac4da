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

from alambic.core import canonical_json
from alambic.errors import AlambicError
from alambic.pipelines._graph import Graph
from alambic.store import ArtifactRef, ArtifactStore, load_value, save_value

__all__ = ["DONE", "OPERATORS", "WAIT", "Resolver", "Skip", "Wait", "first_blocker"]

DONE = frozenset({"succeeded", "cached"})  # step states whose outputs can be used

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


class Resolver:
    """Resolves graph expressions against the state of a run.

    It reads step states (shared with the orchestrator, which updates them) and keeps
    map expansions; loading a value (for a condition, or a list to fan out) goes
    through the artifact store.

    Args:
        graph: the pipeline's graph; params: the run's parameter values.
        artifacts: where step outputs live.
        states: step instance → its state (``status``, ``outputs``, ``label``,
            ``skip_failed``), by ``(node id, map index)``.
        allow_pickle: whether pickled values may be loaded.
    """

    def __init__(
        self,
        graph: Graph,
        params: dict[str, Any],
        artifacts: ArtifactStore,
        *,
        states: dict[tuple[str, tuple[int, ...]], Any],
        allow_pickle: bool = False,
    ) -> None:
        self.graph, self.params, self.artifacts = graph, params, artifacts
        self.states, self.allow_pickle = states, allow_pickle
        self.expansions: dict[tuple[str, tuple[int, ...]], list[Any] | Skip] = {}
        self.errors: list[str] = []  # why a map could not fan out
        self._values: dict[str, Any] = {}
        self._kinds: dict[str, Callable[[dict[str, Any], dict[str, int]], Any]] = {
            "const": lambda expr, ctx: {"value": expr["const"]},
            "param": lambda expr, ctx: _with_path({"value": self.params[expr["param"]]}, expr),
            "item": self._item,
            "output": self._output,
            "gather": lambda expr, ctx: self._gather(expr["gather"], expr["over"], ctx),
            "list": self._list,
            "dict": self._dict,
        }

    def contexts(
        self, scopes: list[str], ctx: dict[str, int]
    ) -> tuple[list[tuple[dict[str, int], Skip | None]], bool]:
        """Every index context of a scope chain whose maps are expanded (or skipped), and
        whether that is all of them (no expansion still waits)."""
        if not scopes:
            return [(ctx, None)], True
        expansion = self._expand(scopes[0], ctx)
        if isinstance(expansion, Wait):
            return [], False
        if isinstance(expansion, Skip):
            return [(ctx, expansion)], True
        found, complete = [], True
        for i in range(len(expansion)):
            more, done = self.contexts(scopes[1:], {**ctx, scopes[0]: i})
            found.extend(more)
            complete &= done
        return found, complete

    def _expand(self, map_id: str, ctx: dict[str, int]) -> list[Any] | Skip | Wait:
        spec = self.graph.maps[map_id]
        outer = tuple(ctx[m] for m in spec["scopes"])
        key = (map_id, outer)
        if key in self.expansions:
            return self.expansions[key]
        local = {m: ctx[m] for m in spec["scopes"]}
        guard = self.guards(spec.get("guards", []), local)
        if not isinstance(guard, bool):
            if isinstance(guard, Skip):
                self.expansions[key] = guard
            return guard
        if guard is False:
            result: list[Any] | Skip = Skip(
                "its al.map is inside a condition that does not hold", False
            )
            self.expansions[key] = result
            return result
        desc = self.resolve(spec["source"], local)
        if isinstance(desc, Wait):
            return desc
        if isinstance(desc, Skip):
            result = desc
        else:
            try:
                result = self._items(desc)
            except Exception as exc:
                message = f"al.map({spec.get('label', map_id)}) cannot fan out: {exc}"
                self.errors.append(message)
                result = Skip(message, True)
        self.expansions[key] = result
        return result

    def _items(self, desc: dict[str, Any]) -> list[Any]:
        if "list" in desc:
            return list(desc["list"])
        value = self.value(desc)
        if not isinstance(value, list | tuple):
            raise TypeError(f"it is a {type(value).__name__}, not a list")
        items = []
        for item in value:
            if _jsonable(item):
                items.append({"value": item})
            else:
                ref = save_value(self.artifacts, item, allow_pickle=self.allow_pickle)
                items.append({"artifact": ref.to_dict()})
        return items

    # -- resolution --------------------------------------------------------------------
    def resolve(self, expr: dict[str, Any], ctx: dict[str, int]) -> Any:
        """A value description for ``expr`` in the index context ``ctx``, or WAIT, or a Skip."""
        for kind, resolve in self._kinds.items():
            if kind in expr:
                return resolve(expr, ctx)
        raise AlambicError(f"cannot resolve expression {expr!r}")  # pragma: no cover

    def _item(self, expr: dict[str, Any], ctx: dict[str, int]) -> Any:
        map_id = expr["item"]
        expansion = self._expand(map_id, ctx)
        if isinstance(expansion, Wait | Skip):
            return expansion
        return _with_path(dict(expansion[ctx[map_id]]), expr)

    def _output(self, expr: dict[str, Any], ctx: dict[str, int]) -> Any:
        node = self.graph.nodes[expr["output"]]
        state = self.states.get((node.id, tuple(ctx[m] for m in node.scopes)))
        if state is None:
            return WAIT
        if state.status in DONE:
            name = expr.get("name", "return")
            return _with_path({"artifact": state.outputs[name]}, expr)
        if state.status == "skipped":
            return Skip(f"{state.label} was skipped", state.skip_failed)
        if state.status in ("failed", "cancelled"):
            return Skip(f"{state.label} {state.status}", True)
        return WAIT

    def _list(self, expr: dict[str, Any], ctx: dict[str, int]) -> Any:
        items = [self.resolve(e, ctx) for e in expr["list"]]
        return first_blocker(items) or {"list": items}

    def _dict(self, expr: dict[str, Any], ctx: dict[str, int]) -> Any:
        values = {k: self.resolve(e, ctx) for k, e in expr["dict"].items()}
        return first_blocker(list(values.values())) or {"dict": values}

    def _gather(self, expr: dict[str, Any], over: list[str], ctx: dict[str, int]) -> Any:
        if not over:
            return self.resolve(expr, ctx)
        expansion = self._expand(over[0], ctx)
        if isinstance(expansion, Wait):
            return expansion
        if isinstance(expansion, Skip):
            return expansion if expansion.failed else {"list": []}
        items = []
        for i in range(len(expansion)):
            desc = self._gather(expr, over[1:], {**ctx, over[0]: i})
            if isinstance(desc, Wait) or (isinstance(desc, Skip) and desc.failed):
                return desc
            if not isinstance(desc, Skip):  # a branch whose condition did not hold is left out
                items.append(desc)
        return {"list": items}

    def value(self, desc: dict[str, Any]) -> Any:
        """The value a description stands for (stored values are loaded once per run)."""
        if "value" in desc:
            value = desc["value"]
        elif "artifact" in desc:
            key = desc["artifact"]["hash"]
            if key not in self._values:
                self._values[key] = load_value(
                    self.artifacts,
                    ArtifactRef.from_dict(desc["artifact"]),
                    allow_pickle=self.allow_pickle,
                )
            value = self._values[key]
        elif "list" in desc:
            return [self.value(d) for d in desc["list"]]
        else:
            return {k: self.value(d) for k, d in desc["dict"].items()}
        for part in desc.get("path", []):
            value = value[part]
        return value

    def guards(self, guards: list[list[Any]], ctx: dict[str, int]) -> bool | Skip | Wait:
        """Whether every condition a node sits under holds (or WAIT, or a Skip)."""
        for cond_id, expect in guards:
            cond = self.graph.conditions[cond_id]
            local = {m: ctx[m] for m in cond["scopes"]}
            parent = self.guards(cond.get("guards", []), local)
            if parent is not True:
                return parent
            value = self._evaluate(cond["expr"], local)
            if isinstance(value, Wait | Skip):
                return value
            if bool(value) != bool(expect):
                return False
        return True

    def _evaluate(self, expr: dict[str, Any], ctx: dict[str, int]) -> Any:
        if "op" not in expr:
            desc = self.resolve(expr, ctx)
            return desc if isinstance(desc, Wait | Skip) else self.value(desc)
        args = [self._evaluate(a, ctx) for a in expr["args"]]
        blocker = first_blocker(args)
        if blocker is not None:
            return blocker
        op = expr["op"]
        if op == "and":
            return all(bool(a) for a in args)
        if op == "or":
            return any(bool(a) for a in args)
        if op == "not":
            return not bool(args[0])
        if op == "truth":
            return bool(args[0])
        return OPERATORS[op](args[0], args[1])


def _with_path(desc: dict[str, Any], expr: dict[str, Any]) -> dict[str, Any]:
    if expr.get("path"):
        desc["path"] = [*desc.get("path", []), *expr["path"]]
    return desc


def first_blocker(values: list[Any]) -> Wait | Skip | None:
    skips = [v for v in values if isinstance(v, Skip)]
    if skips:
        return next((s for s in skips if s.failed), skips[0])
    return WAIT if any(isinstance(v, Wait) for v in values) else None


def _jsonable(value: Any) -> bool:
    try:
        return canonical_json(value) is not None and type(value) in (
            type(None),
            bool,
            int,
            float,
            str,
            list,
            dict,
        )
    except (TypeError, ValueError):
        return False
