"""The pipeline DSL: ``@al.step``, ``@al.pipeline``, ``al.map``, ``al.when``, ``al.otherwise``.

A pipeline function is traced once, with symbolic parameters, into a static graph
(:class:`alambic.pipelines.Graph`): each step call becomes a node, ``al.map`` a fan-out
scope, ``al.when`` a condition. Outside tracing, a step is a plain function call, so
steps stay easy to unit-test.

Example:
    >>> import alambic as al
    >>> @al.step
    ... def double(x: int) -> int:
    ...     return 2 * x
    >>> @al.pipeline
    ... def twice(values: list[int] = [1, 2, 3]):
    ...     for value in al.map(values):
    ...         double(value)
    >>> sorted(twice.graph.nodes)
    ['double']
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import typing
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Generic, ParamSpec, TypeVar, overload

from alambic.core import code_hash, parse_duration
from alambic.errors import DefinitionError
from alambic.pipelines._graph import Graph, Node, check_compatible, element_type
from alambic.pipelines._symbols import CURRENT_SCOPES, Condition, Symbol, to_expr

__all__ = ["Pipeline", "Step", "map", "otherwise", "pipeline", "step", "when"]

P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class _Tracer:
    pipeline: str
    nodes: dict[str, Node] = field(default_factory=dict)
    maps: dict[str, dict[str, Any]] = field(default_factory=dict)
    conditions: dict[str, dict[str, Any]] = field(default_factory=dict)
    scopes: list[str] = field(default_factory=list)
    guards: list[tuple[str, bool]] = field(default_factory=list)
    # The `when` most recently closed at each nesting depth, for `otherwise`.
    closed_when: dict[int, str | None] = field(default_factory=dict)
    steps: dict[str, Step[Any, Any]] = field(default_factory=dict)

    def unique(self, base: str, taken: Any) -> str:
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        return name


_TRACER: ContextVar[_Tracer | None] = ContextVar("alambic_tracer", default=None)


def _tracer(what: str) -> _Tracer:
    tracer = _TRACER.get()
    if tracer is None:
        raise DefinitionError(f"{what} can only be used inside an @al.pipeline function")
    return tracer


def _code_ref(fn: Callable[..., Any]) -> dict[str, Any]:
    module = inspect.getmodule(fn)
    file = getattr(module, "__file__", None)
    return {"module": fn.__module__, "file": file, "qualname": fn.__qualname__}


class Step(Generic[P, T]):
    """A function that runs as one step of a pipeline, in a worker process.

    Create with :func:`step`. Called inside a pipeline it adds a node to the graph and
    returns a symbol; called anywhere else it simply runs the function.
    """

    def __init__(
        self,
        fn: Callable[P, T],
        *,
        name: str | None = None,
        retries: int = 0,
        retry_delay: str | float = 1.0,
        backoff: float = 2.0,
        timeout: str | float | None = None,
        cache: bool = True,
        cache_version: str = "",
        allow_pickle: bool = False,
        fingerprint: Callable[..., str] | None = None,
        code_identity: str | None = None,
    ) -> None:
        if not callable(fn):
            raise DefinitionError(f"@al.step decorates functions, not {fn!r}")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise DefinitionError(f"step {fn.__name__!r}: retries must be an int >= 0")
        try:
            self.timeout = parse_duration(timeout)
            self.retry_delay = parse_duration(retry_delay) or 0.0
        except ValueError as exc:
            raise DefinitionError(f"step {fn.__name__!r}: {exc}") from None
        self.fn = fn
        self.name = name or fn.__name__
        self.retries = retries
        self.backoff = float(backoff)
        self.cache = cache
        self.cache_version = cache_version
        self.allow_pickle = allow_pickle
        self.fingerprint = fingerprint
        self.code_identity = code_identity
        self.signature = inspect.signature(fn)
        try:
            self.hints = typing.get_type_hints(fn)
        except Exception:  # unresolvable forward references: skip type checks
            self.hints = {}
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        return f"<alambic step {self.name}>"

    def with_options(self, **options: Any) -> Step[P, T]:
        """Return a copy with other options, e.g. ``train.with_options(name="train_rf")``."""
        current = {
            "name": self.name,
            "retries": self.retries,
            "retry_delay": self.retry_delay,
            "backoff": self.backoff,
            "timeout": self.timeout,
            "cache": self.cache,
            "cache_version": self.cache_version,
            "allow_pickle": self.allow_pickle,
            "fingerprint": self.fingerprint,
            "code_identity": self.code_identity,
        }
        unknown = set(options) - set(current)
        if unknown:
            raise DefinitionError(f"unknown step option(s): {', '.join(sorted(unknown))}")
        return Step(self.fn, **{**current, **options})

    @property
    def code_hash(self) -> str:
        """Hash of the function's source and of the options that change its result (or the
        step's fixed ``code_identity``)."""
        if self.code_identity is not None:
            return self.code_identity
        return code_hash(self.fn, f"{self.cache_version}|{self.allow_pickle}")

    def _outputs(self) -> tuple[list[str], list[Any]]:
        returned = self.hints.get("return", inspect.Signature.empty)
        if typing.get_origin(returned) is tuple:
            items = typing.get_args(returned)
            if items and items[-1] is not Ellipsis and len(items) > 1:
                return [str(i) for i in range(len(items))], list(items)
        return ["return"], [None if returned is inspect.Signature.empty else returned]

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> T:
        tracer = _TRACER.get()
        if tracer is None:
            return self.fn(*args, **kwargs)
        traced: T = self._trace(tracer, args, kwargs)  # a Symbol standing for the T to come
        return traced

    def _trace(self, tracer: _Tracer, args: Any, kwargs: Any) -> Any:
        node_id = tracer.unique(self.name, tracer.nodes)
        tracer.closed_when[len(tracer.guards)] = None  # al.otherwise must follow its al.when
        params = self.signature.parameters
        accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        unknown = [k for k in kwargs if k not in params]
        if unknown and not accepts_any:
            raise DefinitionError(
                f"step {node_id!r} in pipeline {tracer.pipeline!r} has no argument "
                f"{unknown[0]!r}; its arguments are: {', '.join(params) or 'none'}"
            )
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise DefinitionError(
                f"step {node_id!r} in pipeline {tracer.pipeline!r}: {exc}"
            ) from None
        arg_exprs: dict[str, Any] = {}
        for arg, value in bound.arguments.items():
            kind = self.signature.parameters[arg].kind
            if kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
                raise DefinitionError(
                    f"step {node_id!r}: *args/**kwargs cannot receive pipeline values; "
                    "give the step named arguments"
                )
            what = f"argument {arg!r} of step {node_id!r}"
            expr = to_expr(value, what=what)
            if isinstance(value, Symbol) and arg in self.hints:
                given = value.annotation
                if "gather" in expr and given is not None:
                    given = list[given]  # type: ignore[valid-type]
                check_compatible(self.hints[arg], given, what=what, source=value.label)
            arg_exprs[arg] = expr
        names, annotations = self._outputs()
        scopes = tuple(tracer.scopes)
        tracer.steps[node_id] = self
        tracer.nodes[node_id] = Node(
            id=node_id,
            step=self.name,
            code=_code_ref(self.fn),
            code_hash=self.code_hash,
            args=arg_exprs,
            scopes=list(scopes),
            guards=[[c, e] for c, e in tracer.guards],
            outputs=names,
            fingerprint=self.fingerprint is not None,
            retries=self.retries,
            retry_delay=self.retry_delay,
            backoff=self.backoff,
            timeout=self.timeout,
            cache=self.cache,
            allow_pickle=self.allow_pickle,
        )
        symbols = [
            Symbol(
                {"output": node_id, "name": n},
                scopes,
                a,
                node_id if n == "return" else f"{node_id}[{n}]",
            )
            for n, a in zip(names, annotations, strict=True)
        ]
        return symbols[0] if names == ["return"] else tuple(symbols)


@overload
def step(fn: Callable[P, T], /) -> Step[P, T]: ...
@overload
def step(
    *,
    name: str | None = None,
    retries: int = 0,
    retry_delay: str | float = 1.0,
    backoff: float = 2.0,
    timeout: str | float | None = None,
    cache: bool = True,
    cache_version: str = "",
    allow_pickle: bool = False,
    fingerprint: Callable[..., str] | None = None,
    code_identity: str | None = None,
) -> Callable[[Callable[P, T]], Step[P, T]]: ...
def step(fn: Callable[P, T] | None = None, /, **options: Any) -> Any:
    """Declare a pipeline step.

    Args:
        fn: the function (when used as ``@al.step`` without parentheses).
        name: the node name in the graph (default: the function name).
        retries: how many times to retry after a failure.
        retry_delay: wait before the first retry (seconds or ``"30s"``); doubles by ``backoff``.
        backoff: factor applied to the delay after each retry.
        timeout: wall-clock limit of one attempt (``"30m"``, ``"2h"`` or seconds).
        cache: reuse an earlier result with the same code, parameters and inputs.
        cache_version: change it to invalidate cached results without changing the code.
        allow_pickle: store outputs without a materializer with cloudpickle.
        fingerprint: a function of the step's arguments, called by the orchestrator before
            the cache is consulted, that names the state of data outside alambic (a file's
            content hash, a table snapshot); a new fingerprint is a cache miss.
        code_identity: what the cache key holds of the code instead of the hash of its
            source: for a library's steps, whose source changes between releases without
            changing what they compute (change it when the result changes).

    Example:
        >>> import alambic as al
        >>> @al.step(retries=2, timeout="30m")
        ... def extract(category: str) -> list[int]:
        ...     return [1, 2, 3]
        >>> extract("auto")  # outside a pipeline, a plain call
        [1, 2, 3]
    """
    if fn is not None:
        return Step(fn)
    return lambda f: Step(f, **options)


class Pipeline(Generic[P]):
    """A traced pipeline: its parameters and its static graph.

    Create with :func:`pipeline`; run with :func:`alambic.run` or ``alambic run``.
    """

    def __init__(self, fn: Callable[P, Any], *, name: str | None = None) -> None:
        self.fn = fn
        self.name = name or fn.__name__
        self.code = _code_ref(fn)
        self._graph: Graph | None = None
        self._specs: dict[str, Any] | None = None
        self.steps: dict[str, Step[Any, Any]] = {}
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        return f"<alambic pipeline {self.name}>"

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Any:
        raise DefinitionError(
            f"pipeline {self.name!r} is not called directly; run it with "
            f"al.run({self.name}, params={{...}}) or `alambic run FILE:{self.name}`"
        )

    @property
    def graph(self) -> Graph:
        """The validated graph, traced on first access."""
        if self._graph is None:
            self._graph = self._trace()
        return self._graph

    @property
    def specs(self) -> dict[str, Any]:
        """The typed parameters (name → :class:`~alambic.pipelines.ParamSpec`)."""
        if self._specs is None:
            from alambic.pipelines._params import param_specs

            self._specs = param_specs(self.fn, self.name)
        return self._specs

    def _trace(self) -> Graph:
        if _TRACER.get() is not None:
            raise DefinitionError(f"pipeline {self.name!r} cannot be traced inside another one")
        specs = self.specs
        tracer = _Tracer(self.name)
        symbols = {
            name: Symbol({"param": name}, (), spec.annotation, f"parameter {name!r}")
            for name, spec in specs.items()
        }
        token = _TRACER.set(tracer)
        scope_token = CURRENT_SCOPES.set(())
        try:
            returned = self.fn(**symbols)  # type: ignore[arg-type,call-arg]
            if tracer.scopes or tracer.guards:
                raise DefinitionError(
                    f"pipeline {self.name!r}: an al.map loop was left with `break`/`return`; "
                    "a map body must run to its end"
                )
            outputs = None if returned is None else to_expr(returned, what="the pipeline result")
        finally:
            CURRENT_SCOPES.reset(scope_token)
            _TRACER.reset(token)
        graph = Graph(
            name=self.name,
            params={name: spec.to_json() for name, spec in specs.items()},
            nodes=tracer.nodes,
            maps=tracer.maps,
            conditions=tracer.conditions,
            outputs=outputs,
            code=self.code,
        )
        graph.validate()
        self.steps = tracer.steps
        return graph


@overload
def pipeline(fn: Callable[P, Any], /) -> Pipeline[P]: ...
@overload
def pipeline(*, name: str | None = None) -> Callable[[Callable[P, Any]], Pipeline[P]]: ...
def pipeline(fn: Callable[P, Any] | None = None, /, *, name: str | None = None) -> Any:
    """Declare a pipeline; its parameters are the function's typed arguments with defaults.

    Example:
        >>> import alambic as al
        >>> @al.pipeline
        ... def nightly(day: str = "2026-11-23"):
        ...     pass
        >>> nightly.graph.params["day"]["default"]
        '2026-11-23'
    """
    if fn is not None:
        return Pipeline(fn, name=name)
    return lambda f: Pipeline(f, name=name)


def map(values: Any) -> Iterator[Any]:
    """Fan out: the loop body runs once per item, each branch in parallel.

    ``values`` is a list parameter, a constant list, or the output of an earlier step
    that returns a list (expanded when it is known, at run time). A value made inside
    the loop and used after it is the list of its values over all items.

    Example:
        >>> import alambic as al
        >>> @al.step
        ... def square(x: int) -> int:
        ...     return x * x
        >>> @al.pipeline
        ... def squares(xs: list[int] = [1, 2]):
        ...     for x in al.map(xs):
        ...         square(x)
        >>> squares.graph.nodes["square"].scopes
        ['map_1']
    """
    tracer = _tracer("al.map")
    map_id = tracer.unique("map_1", tracer.maps) if tracer.maps else "map_1"
    if isinstance(values, Condition):
        raise DefinitionError(f"al.map({values.label}): a condition is not a list")
    if isinstance(values, Symbol):
        item_type = element_type(values.annotation, what=f"al.map({values.label})")
        label = values.label
    elif isinstance(values, list | tuple):
        item_type, label = None, "a list"
    else:
        raise DefinitionError(
            f"al.map needs a list (a list parameter, a constant list or a step output that "
            f"is a list), got {type(values).__name__} {values!r}"
        )
    source = to_expr(values, what=f"al.map({label})")
    tracer.maps[map_id] = {
        "source": source,
        "scopes": list(tracer.scopes),
        "guards": [[c, e] for c, e in tracer.guards],
        "label": label,
    }
    tracer.scopes.append(map_id)
    token = CURRENT_SCOPES.set(tuple(tracer.scopes))
    try:
        yield Symbol({"item": map_id}, tuple(tracer.scopes), item_type, f"item of {label}")
    finally:
        CURRENT_SCOPES.reset(token)
        if tracer.scopes and tracer.scopes[-1] == map_id:
            tracer.scopes.pop()


@contextlib.contextmanager
def _guard(tracer: _Tracer, cond_id: str, expect: bool) -> Iterator[None]:
    depth = len(tracer.guards)
    tracer.guards.append((cond_id, expect))
    tracer.closed_when[depth + 1] = None
    try:
        yield
    finally:
        tracer.guards.pop()
        tracer.closed_when[depth] = cond_id if expect else None


def when(condition: Condition | Symbol) -> contextlib.AbstractContextManager[None]:
    """Run the steps in the ``with`` block only if ``condition`` holds at run time.

    Steps downstream of a skipped step are skipped too. An ``al.otherwise()`` block right
    after it runs when the condition does not hold.

    Example:
        >>> import alambic as al
        >>> @al.step
        ... def score() -> float:
        ...     return 0.9
        >>> @al.step
        ... def publish(s: float) -> None: ...
        >>> @al.pipeline
        ... def gated(min_score: float = 0.8):
        ...     s = score()
        ...     with al.when(s >= min_score):
        ...         publish(s)
        >>> gated.graph.nodes["publish"].guards
        [['when_1', True]]
    """
    tracer = _tracer("al.when")
    if isinstance(condition, Symbol):
        expr = {"op": "truth", "args": [to_expr(condition, what="al.when")]}
        label = condition.label
    elif isinstance(condition, Condition):
        expr, label = condition.expr, condition.label
    else:
        raise DefinitionError(
            f"al.when needs a condition on a step output or parameter (like `score >= 0.8`), "
            f"got the constant {condition!r}"
        )
    cond_id = tracer.unique("when_1", tracer.conditions) if tracer.conditions else "when_1"
    tracer.conditions[cond_id] = {
        "expr": expr,
        "scopes": list(tracer.scopes),
        "guards": [[c, e] for c, e in tracer.guards],
        "label": label,
    }
    return _guard(tracer, cond_id, True)


def otherwise() -> contextlib.AbstractContextManager[None]:
    """The else branch of the ``al.when`` block that ends right before it.

    Example:
        >>> import alambic as al
        >>> @al.step
        ... def score() -> float:
        ...     return 0.5
        >>> @al.step
        ... def alert(s: float) -> None: ...
        >>> @al.pipeline
        ... def gated():
        ...     s = score()
        ...     with al.when(s >= 0.8):
        ...         pass
        ...     with al.otherwise():
        ...         alert(s)
        >>> gated.graph.nodes["alert"].guards
        [['when_1', False]]
    """
    tracer = _tracer("al.otherwise")
    depth = len(tracer.guards)
    cond_id = tracer.closed_when.get(depth)
    if cond_id is None:
        raise DefinitionError(
            "al.otherwise() must come right after a `with al.when(...):` block at the same level"
        )
    tracer.closed_when[depth] = None
    return _guard(tracer, cond_id, False)
