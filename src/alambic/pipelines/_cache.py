"""The step cache: what a key is made of, where a reusable result is found, why one missed.

A step's key is the hash of its :class:`Fingerprint`: the code hash, what identifies each
argument (an inline value, or the content hash of a stored one, with the path selected
from it), the fingerprint of outside data it reads (``@al.step(fingerprint=…)``), and its
output names. The fingerprint is stored with each step run (``cache.components``), so a
later run can say which part changed ("argument 'rows' changed (5 → 7)").

The stored form keeps one-letter keys (``{"v": 5, "p": []}``, ``{"a": "<sha256>"}``):
every key ever computed depends on it, and an unchanged step must keep its key.

Example:
    >>> print_ = Fingerprint.of("code-hash", {"rows": {"value": 5}})
    >>> print_.components()
    {'code': 'code-hash', 'args': {'rows': {'v': 5, 'p': []}}}
    >>> Fingerprint.from_components(print_.components()) == print_
    True
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Union

from alambic.core import canonical_json, sha256_text
from alambic.pipelines._resolve import DONE
from alambic.pipelines._store import RunStore, StepRunRecord
from alambic.store import ArtifactStore

__all__ = ["ArgPrint", "Fingerprint", "Inline", "StepCache", "Stored", "short"]


@dataclass(frozen=True)
class Inline:
    """An argument given inline (a parameter, a constant), and the path taken from it."""

    value: Any
    path: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Stored:
    """An argument read from the artifact store: its content hash, and the path taken."""

    hash: str
    path: tuple[Any, ...] = ()


ArgPrint = Union[Inline, Stored, list["ArgPrint"], dict[str, "ArgPrint"]]  # noqa: UP007 - a recursive alias


def _of(desc: dict[str, Any]) -> ArgPrint:
    """The fingerprint of a value description (see :mod:`alambic.pipelines._resolve`)."""
    if "value" in desc:
        return Inline(desc["value"], tuple(desc.get("path", ())))
    if "artifact" in desc:
        return Stored(desc["artifact"]["hash"], tuple(desc.get("path", ())))
    if "list" in desc:
        return [_of(item) for item in desc["list"]]
    return {k: _of(v) for k, v in desc["dict"].items()}


def _dump(print_: ArgPrint) -> Any:
    if isinstance(print_, Inline):
        return {"v": print_.value, "p": list(print_.path)}
    if isinstance(print_, Stored):
        return {"a": print_.hash, "p": list(print_.path)}
    if isinstance(print_, list):
        return [_dump(item) for item in print_]
    return {k: _dump(v) for k, v in print_.items()}


def _load(data: Any) -> ArgPrint:
    if isinstance(data, list):
        return [_load(item) for item in data]
    if not isinstance(data, dict):
        return Inline(data)  # pragma: no cover - never written by alambic
    path = data.get("p", [])
    if isinstance(path, list):  # the stored form always has a list path
        if "v" in data and set(data) <= {"v", "p"}:
            return Inline(data["v"], tuple(path))
        if isinstance(data.get("a"), str) and set(data) <= {"a", "p"}:
            return Stored(data["a"], tuple(path))
    return {k: _load(v) for k, v in data.items()}


def _has_stored(print_: ArgPrint | None) -> bool:
    """Whether any part of an argument is a stored value."""
    if isinstance(print_, Stored):
        return True
    if isinstance(print_, list):
        return any(_has_stored(item) for item in print_)
    if isinstance(print_, dict):
        return any(_has_stored(item) for item in print_.values())
    return False


def _plain(print_: ArgPrint) -> Any:
    """An inline argument as the user wrote it (for explanations)."""
    if isinstance(print_, Inline):
        return print_.value
    if isinstance(print_, list):
        return [_plain(item) for item in print_]
    if isinstance(print_, dict):
        return {k: _plain(v) for k, v in print_.items()}
    return print_  # pragma: no cover - stored values are described by content


def short(value: Any, limit: int = 60) -> str:
    """A short repr for explanations."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Fingerprint:
    """What a step's cache key is made of.

    Attributes:
        code: the hash of the step's code (and its cache version).
        args: what identifies each argument's value.
        data: the step's fingerprint of the outside data it reads, if it has one.
    """

    code: str
    args: dict[str, ArgPrint]
    data: str | None = None
    # As read from a step run: the stored form itself, which is what keys were made of
    # (a dict argument whose keys are "v" and "p" reads back as an inline value).
    stored: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, code: str, inputs: dict[str, Any], data: str | None = None) -> Fingerprint:
        """The fingerprint of a step whose arguments resolved to these value descriptions."""
        return cls(code, {arg: _of(desc) for arg, desc in inputs.items()}, data)

    @classmethod
    def from_components(cls, components: dict[str, Any]) -> Fingerprint:
        """Read back what :meth:`components` stored."""
        stored = dict(components.get("args") or {})
        args = {a: _load(v) for a, v in stored.items()}
        return cls(str(components.get("code", "")), args, components.get("data"), stored)

    def components(self) -> dict[str, Any]:
        """The JSON form stored with a step run (``cache.components``); made once."""
        return self._components

    @functools.cached_property
    def _components(self) -> dict[str, Any]:
        args = self.stored if self.stored is not None else self._dumped()
        out: dict[str, Any] = {"code": self.code, "args": args}
        if self.data is not None:
            out["data"] = self.data
        return out

    def _dumped(self) -> dict[str, Any]:
        return {a: _dump(p) for a, p in self.args.items()}

    def key(self, outputs: list[str]) -> str:
        """The cache key of a step with these outputs."""
        return sha256_text(canonical_json({**self.components(), "outputs": outputs}))

    def changes_since(self, before: Fingerprint) -> list[str]:
        """What changed from ``before`` to this fingerprint, one phrase per change."""
        changes = []
        if before.code != self.code:
            changes.append("its code changed")
        if before.data != self.data:
            changes.append("the data it reads changed")
        old, new = before.components()["args"], self.components()["args"]
        for arg in sorted(set(old) | set(new)):
            if old.get(arg) != new.get(arg):
                changes.append(_argument_change(arg, before.args.get(arg), self.args.get(arg)))
        return changes


def _argument_change(arg: str, was: ArgPrint | None, now: ArgPrint | None) -> str:
    if isinstance(was, Stored) and isinstance(now, Stored):
        return f"input {arg!r} changed (content {was.hash[:8]} → {now.hash[:8]})"
    if _has_stored(was) or _has_stored(now):
        return f"input {arg!r} changed (content)"
    before = None if was is None else _plain(was)
    after = None if now is None else _plain(now)
    return f"argument {arg!r} changed ({short(before)} → {short(after)})"


class StepCache:
    """The cache decisions of one run: reusable results, and why a step missed.

    Args:
        store: the run store (earlier step runs, by key).
        artifacts: where outputs live (a result whose outputs are gone is not reused).
        pipeline: the pipeline's name, run_id: this run (its own steps are not history).
        enabled: False when the run asked for no cache.
    """

    def __init__(
        self,
        store: RunStore,
        artifacts: ArtifactStore,
        *,
        pipeline: str,
        run_id: str,
        enabled: bool,
    ) -> None:
        self.store, self.artifacts = store, artifacts
        self.pipeline, self.run_id, self.enabled = pipeline, run_id, enabled
        self._history: dict[tuple[str, str], StepRunRecord] | None = None

    def outputs_exist(self, outputs: dict[str, Any]) -> bool:
        """Whether every output of an earlier result is still in the artifact store."""
        return bool(outputs) and all(self.artifacts.exists(o["hash"]) for o in outputs.values())

    def reusable(self, previous: StepRunRecord | None, key: str) -> bool:
        """Whether a step run of this run (before a resume) can stand for a step again."""
        return (
            previous is not None
            and previous.status in DONE
            and previous.cache_key == key
            and self.outputs_exist(previous.outputs)
        )

    def hits(self, keys: list[str]) -> dict[str, StepRunRecord]:
        """For each key, the newest succeeded step run whose outputs still exist."""
        found = self.store.find_cached_many(keys)
        return {key: hit for key, hit in found.items() if self.outputs_exist(hit.outputs)}

    @staticmethod
    def hit_reason(hit: StepRunRecord) -> str:
        """Why a step was a hit (for ``runs show``)."""
        return f"hit: same code, parameters and inputs as {hit.label} in {hit.run_id}"

    def miss_reason(
        self, node: str, instance: str, fingerprint: Fingerprint, *, step_cache: bool = True
    ) -> str:
        """Why a step ran instead of reusing a result, compared with its latest earlier run."""
        if not self.enabled:
            return "miss: the cache is off for this run"
        if not step_cache:
            return "miss: the cache is off for this step (@al.step(cache=False))"
        if self._history is None:
            self._history = self.store.recent_step_runs(self.pipeline, exclude_run=self.run_id)
        before = self._history.get((node, instance))
        if before is None or "components" not in before.cache:
            return "miss: first run of this step"
        changes = fingerprint.changes_since(Fingerprint.from_components(before.cache["components"]))
        if changes:
            return f"miss: since {before.run_id}, " + "; ".join(changes)
        if before.status == "failed":
            return f"miss: the same inputs failed in {before.run_id}"
        return "miss: the earlier result's artifacts are gone"
