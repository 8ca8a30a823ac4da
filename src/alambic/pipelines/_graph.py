"""The static pipeline graph: nodes, map scopes and conditions, as versioned JSON.

Expressions (JSON) say where a value comes from at run time::

    {"param": "n_estimators"}                 a pipeline parameter
    {"const": 0.8}                            a constant
    {"output": "train", "name": "return"}     a step output (optional "path": ["auc"])
    {"item": "map_1"}                         the current item of an al.map
    {"gather": <expr>, "over": ["map_1"]}     a mapped value used outside its map: a list
    {"list": [...]}, {"dict": {...}}          containers of expressions
    {"op": ">=", "args": [<expr>, <expr>]}    a condition: == != < <= > >= and or not truth
"""

from __future__ import annotations

import collections.abc
import types
import typing
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from alambic.core import canonical_json, sha256_text
from alambic.errors import DefinitionError

__all__ = ["Graph", "Node", "check_compatible", "element_type", "expr_refs", "type_label"]


@dataclass
class Node:
    """One step call in the graph."""

    id: str
    step: str
    code: dict[str, Any]
    code_hash: str
    args: dict[str, Any]
    scopes: list[str] = field(default_factory=list)
    guards: list[list[Any]] = field(default_factory=list)
    outputs: list[str] = field(default_factory=lambda: ["return"])
    fingerprint: bool = False
    retries: int = 0
    retry_delay: float = 1.0
    backoff: float = 2.0
    timeout: float | None = None
    cache: bool = True
    allow_pickle: bool = False

    @property
    def label(self) -> str:
        """The node id; map instances add their index, like ``train[2]``."""
        return self.id


@dataclass
class Graph:
    """A pipeline's traced graph; its content hash versions the definition."""

    name: str
    params: dict[str, dict[str, Any]]
    nodes: dict[str, Node]
    maps: dict[str, dict[str, Any]] = field(default_factory=dict)
    conditions: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, Any] | None = None
    code: dict[str, Any] = field(default_factory=dict)

    # -- serialisation ---------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """Return the JSON definition stored in the metadata database."""
        data = asdict(self)
        data["nodes"] = {k: asdict(v) for k, v in self.nodes.items()}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Graph:
        """Rebuild a graph from :meth:`to_json` output."""
        values = dict(data)
        values["nodes"] = {k: Node(**v) for k, v in data["nodes"].items()}
        return cls(**values)

    @property
    def hash(self) -> str:
        """Content hash of the definition (code hashes included), its version."""
        data = self.to_json()
        data.pop("code", None)  # where the file lives does not change what the pipeline is
        for node in data["nodes"].values():
            node.pop("code", None)
        return sha256_text(canonical_json(data))

    # -- structure -------------------------------------------------------------------
    def dependencies(self, node_id: str) -> set[str]:
        """Return the nodes whose outputs ``node_id`` needs: arguments, guards, map sources."""
        node = self.nodes[node_id]
        found: set[str] = set()
        for expr in node.args.values():
            found |= expr_refs(expr)
        for cond_id, _ in node.guards:
            found |= self._condition_refs(cond_id)
        for map_id in node.scopes:
            found |= self._map_refs(map_id)
        return found

    def _condition_refs(self, cond_id: str) -> set[str]:
        cond = self.conditions[cond_id]
        found = expr_refs(cond["expr"])
        for parent, _ in cond.get("guards", []):
            found |= self._condition_refs(parent)
        for map_id in cond.get("scopes", []):
            found |= self._map_refs(map_id)
        return found

    def _map_refs(self, map_id: str) -> set[str]:
        spec = self.maps[map_id]
        found = expr_refs(spec["source"])
        for outer in spec.get("scopes", []):
            found |= self._map_refs(outer)
        for cond_id, _ in spec.get("guards", []):
            found |= self._condition_refs(cond_id)
        return found

    def topological_order(self) -> list[str]:
        """Return node ids so that every node comes after its dependencies.

        Raises:
            DefinitionError: the graph has a cycle (the message lists it).
        """
        order: list[str] = []
        state: dict[str, int] = {}
        for start in self.nodes:
            self._visit(start, state, order, [])
        return order

    def _visit(
        self, node_id: str, state: dict[str, int], order: list[str], path: list[str]
    ) -> None:
        if state.get(node_id) == 2:
            return
        if state.get(node_id) == 1:
            cycle = [*path[path.index(node_id) :], node_id]
            raise DefinitionError(
                f"pipeline {self.name!r} has a cycle: {' -> '.join(cycle)}; a step cannot "
                "depend on its own output"
            )
        state[node_id] = 1
        for dep in sorted(self.dependencies(node_id)):
            self._visit(dep, state, order, [*path, node_id])
        state[node_id] = 2
        order.append(node_id)

    def validate(self) -> None:
        """Check references, scopes and acyclicity.

        Raises:
            DefinitionError: naming the step and the argument at fault.
        """
        for node in self.nodes.values():
            for map_id in node.scopes:
                if map_id not in self.maps:
                    raise DefinitionError(f"step {node.id!r} is inside unknown map {map_id!r}")
            for cond_id, _ in node.guards:
                if cond_id not in self.conditions:
                    raise DefinitionError(
                        f"step {node.id!r} is guarded by unknown condition {cond_id!r}"
                    )
            for arg, expr in node.args.items():
                self._check_expr(expr, node.scopes, f"argument {arg!r} of step {node.id!r}")
        for cond_id, cond in self.conditions.items():
            self._check_expr(cond["expr"], cond.get("scopes", []), f"condition {cond_id!r}")
        for map_id, spec in self.maps.items():
            self._check_expr(spec["source"], spec.get("scopes", []), f"the source of {map_id!r}")
        if self.outputs is not None:
            self._check_expr(self.outputs, [], "the pipeline result")
        self.topological_order()

    def _check_expr(self, expr: Any, scopes: list[str], what: str) -> None:
        """Refuse an expression that names what the graph lacks, or is out of its scope."""
        if not isinstance(expr, dict):
            raise DefinitionError(f"{what}: malformed expression {expr!r}")
        if "param" in expr and expr["param"] not in self.params:
            raise DefinitionError(f"{what} uses unknown parameter {expr['param']!r}")
        if "output" in expr:
            self._check_output(expr, scopes, what)
        if "item" in expr and expr["item"] not in scopes:
            raise DefinitionError(f"{what} uses the item of {expr['item']!r} outside that al.map")
        if "gather" in expr:
            unknown = [m for m in expr["over"] if m not in self.maps]
            if unknown:
                raise DefinitionError(f"{what} gathers over unknown map {unknown[0]!r}")
            self._check_expr(expr["gather"], [*scopes, *expr["over"]], what)
        children = expr.get("list") or list((expr.get("dict") or {}).values())
        for item in [*children, *(expr.get("args") or [])]:
            self._check_expr(item, scopes, what)
        if not _KINDS & set(expr):
            raise DefinitionError(f"{what}: malformed expression {expr!r}")

    def _check_output(self, expr: dict[str, Any], scopes: list[str], what: str) -> None:
        node = self.nodes.get(expr["output"])
        if node is None:
            raise DefinitionError(f"{what} uses the output of unknown step {expr['output']!r}")
        if expr.get("name", "return") not in node.outputs:
            raise DefinitionError(f"{what}: step {node.id!r} has no output {expr['name']!r}")
        if list(scopes[: len(node.scopes)]) != list(node.scopes):
            raise DefinitionError(
                f"{what} uses {node.id!r} outside its al.map without gathering it"
            )

    # -- display ---------------------------------------------------------------------
    def describe(self) -> list[dict[str, str]]:
        """One row per node in topological order: step, fan-out, condition, inputs."""
        rows = []
        for node_id in self.topological_order():
            node = self.nodes[node_id]
            fan_out = " × ".join(f"map({self.maps[m].get('label', m)})" for m in node.scopes)
            guards = " and ".join(
                (self.conditions[c]["label"] if expect else f"not ({self.conditions[c]['label']})")
                for c, expect in node.guards
            )
            inputs = [f"{arg}←{describe_expr(expr)}" for arg, expr in node.args.items()]
            rows.append(
                {"node": node_id, "fan_out": fan_out, "when": guards, "inputs": ", ".join(inputs)}
            )
        return rows

    def to_mermaid(self) -> str:
        """Return the graph as a Mermaid flowchart."""
        lines = ["flowchart TD"]
        for node_id in self.topological_order():
            node = self.nodes[node_id]
            shape = f"{node_id}[[{node_id}]]" if node.scopes else f"{node_id}[{node_id}]"
            lines.append(f"    {shape}")
            for dep in sorted(self.dependencies(node_id)):
                lines.append(f"    {dep} --> {node_id}")
        return "\n".join(lines)


def describe_expr(expr: dict[str, Any]) -> str:
    """A short human form of an expression, for listings."""
    if "param" in expr:
        text = f"${expr['param']}"
    elif "const" in expr:
        text = repr(expr["const"])
    elif "output" in expr:
        text = (
            expr["output"]
            if expr.get("name", "return") == "return"
            else f"{expr['output']}[{expr['name']}]"
        )
    elif "item" in expr:
        text = f"item({expr['item']})"
    elif "gather" in expr:
        return f"all({describe_expr(expr['gather'])})"
    elif "list" in expr:
        return "[" + ", ".join(describe_expr(e) for e in expr["list"]) + "]"
    elif "dict" in expr:
        return "{" + ", ".join(f"{k}: {describe_expr(v)}" for k, v in expr["dict"].items()) + "}"
    elif "op" in expr:
        args = [describe_expr(a) for a in expr["args"]]
        return (
            f"{expr['op']}({', '.join(args)})" if len(args) == 1 else f" {expr['op']} ".join(args)
        )
    else:
        text = "?"
    for key in expr.get("path", []):
        text += f"[{key!r}]"
    return text


def expr_refs(expr: Any) -> set[str]:
    """Return the ids of the nodes an expression reads."""
    found: set[str] = set()
    for sub in _walk(expr):
        if "output" in sub:
            found.add(sub["output"])
    return found


def _walk(expr: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(expr, dict):
        return
    yield expr
    if "gather" in expr:
        yield from _walk(expr["gather"])
    for item in expr.get("list", []) or expr.get("args", []):
        yield from _walk(item)
    for item in (expr.get("dict") or {}).values():
        yield from _walk(item)


# The kinds of expression a graph holds (see the module docstring).
_KINDS = frozenset({"param", "output", "item", "gather", "list", "dict", "op", "const"})


# -- annotations -----------------------------------------------------------------------
_LIST_LIKE = (
    list,
    tuple,
    collections.abc.Sequence,
    collections.abc.Iterable,
    collections.abc.Collection,
    set,
    frozenset,
)


def type_label(annotation: Any) -> str:
    """A readable name for a type annotation (``list[str]``, ``int``, ``DataFrame``)."""
    if annotation is None:
        return "None"
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__name__
    return str(annotation).replace("typing.", "").replace("collections.abc.", "")


def _unknown(annotation: Any) -> bool:
    return annotation in (None, Any, typing.Any) or isinstance(annotation, typing.TypeVar | str)


def element_type(annotation: Any, *, what: str) -> Any:
    """Return the item type of a list annotation; refuse annotations that are not lists.

    Raises:
        DefinitionError: the annotation is known and is not a list-like type.
    """
    if _unknown(annotation):
        return None
    origin = typing.get_origin(annotation) or annotation
    if origin in (typing.Union, types.UnionType):
        return None
    if isinstance(origin, type) and origin is not str and issubclass(origin, _LIST_LIKE):
        args = typing.get_args(annotation)
        if not args:
            return None
        if origin is tuple:
            return args[0] if len(args) == 2 and args[1] is Ellipsis else None
        return args[0]
    raise DefinitionError(
        f"{what}: al.map needs a list, but the value is of type {type_label(annotation)}"
    )


def _items(annotation: Any) -> list[Any]:
    """The item types of a list or tuple annotation (``[Any]`` when it names none)."""
    args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
    return args or [Any]


def _compatible_special(expected: Any, given: Any, e_origin: Any, g_origin: Any) -> bool | None:
    """Unions and literals (None: neither is one)."""
    # A union given must fit member by member (int | None into int | None), so it goes first.
    if g_origin in (typing.Union, types.UnionType):
        return all(_compatible(expected, member) for member in typing.get_args(given))
    if e_origin in (typing.Union, types.UnionType):
        return any(_compatible(member, given) for member in typing.get_args(expected))
    if e_origin is typing.Literal or g_origin is typing.Literal:
        return True
    return None


def _compatible(expected: Any, given: Any) -> bool:
    if _unknown(expected) or _unknown(given) or expected is object:
        return True
    e_origin = typing.get_origin(expected) or expected
    g_origin = typing.get_origin(given) or given
    if {e_origin, g_origin} == {list, tuple}:
        # Values travel as JSON lists: a tuple fits a list of the same items, and back.
        return all(_compatible(e, g) for e in _items(expected) for g in _items(given))
    special = _compatible_special(expected, given, e_origin, g_origin)
    if special is not None:
        return special
    if not isinstance(e_origin, type) or not isinstance(g_origin, type):
        return True
    if e_origin is float and g_origin is int:
        return True
    try:
        if not issubclass(g_origin, e_origin):
            return False
    except TypeError:
        return True
    e_args, g_args = typing.get_args(expected), typing.get_args(given)
    if e_args and g_args and len(e_args) == len(g_args) and Ellipsis not in e_args + g_args:
        return all(_compatible(e, g) for e, g in zip(e_args, g_args, strict=True))
    return True


def check_compatible(expected: Any, given: Any, *, what: str, source: str) -> None:
    """Refuse passing a value of type ``given`` where ``expected`` is annotated.

    Raises:
        DefinitionError: naming the argument (``what``) and where the value comes from.
    """
    if not _compatible(expected, given):
        raise DefinitionError(
            f"{what} expects {type_label(expected)}, but gets {source} of type "
            f"{type_label(given)}; fix the annotation or pass a value of the right type"
        )
