"""One plugin mechanism for every extension point: executors, materializers, model flavors.

A :class:`PluginRegistry` holds the plugins of one kind by name. A plugin is registered
as an object or as a ``"module:attr"`` path imported only when it is first needed, so
registering costs nothing; third-party packages add plugins through an entry-point
group (``alambic.executors``, ``alambic.materializers``, ``alambic.flavors``), read only
when a lookup finds nothing registered. Plugins chosen by trying each in turn (a
materializer for a value, a flavor for a model) are tried by precedence, highest first;
among equals, the one registered last first, so that a user's plugin overrides an
earlier one. Entry points come after the built-ins: they take what alambic's own plugins
do not, so reading them late never changes which plugin a value goes to. A plugin that
fails to load is skipped (and logged) when plugins are tried in turn; asked for by name,
it raises.

Example:
    >>> from alambic.errors import ExecutorError
    >>> codecs = PluginRegistry("codec", error=ExecutorError)
    >>> codecs.register("json", "json:dumps")
    >>> codecs.get("json")([1])
    '[1]'
    >>> codecs.get("yaml")
    Traceback (most recent call last):
    ...
    alambic.errors.ExecutorError: unknown codec 'yaml'; known: json
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

from alambic.errors import AlambicError

__all__ = ["BUILTIN", "ENTRY_POINT", "USER", "PluginRegistry", "load_path"]

log = logging.getLogger(__name__)
T = TypeVar("T")
ENTRY_POINT = -100  # plugins of other packages' entry points: after alambic's own
BUILTIN = 0  # the precedence of alambic's own plugins
USER = 100  # the default precedence of plugins registered at run time: tried first
_order = itertools.count()


def load_path(path: str) -> Any:
    """Import ``"module:attr"`` (or ``"module.attr"``) and return the attribute.

    Raises:
        ImportError, AttributeError: the module does not import or lacks the attribute.
    """
    module, colon, attr = path.partition(":")
    if not colon:
        module, _, attr = path.rpartition(".")
    target: Any = importlib.import_module(module)
    for part in attr.split("."):
        target = getattr(target, part)
    return target


class _Entry:
    __slots__ = ("broken", "loaded", "order", "precedence", "target")

    def __init__(self, target: Any, precedence: int, order: int, *, loaded: bool) -> None:
        self.target = target  # the plugin, or its "module:attr" path until it is loaded
        self.precedence, self.order, self.loaded = precedence, order, loaded
        self.broken = False  # its path failed to load: skipped when plugins are tried


class PluginRegistry(Generic[T]):
    """The plugins of one kind, by name.

    Args:
        kind: what a plugin is, for messages (``executor``).
        error: the error raised for an unknown or broken plugin.
        group: the entry-point group third-party packages register in.
        adapt: turns what was registered or loaded into the plugin (e.g. instantiates
            a class, or checks its type); it may raise ``error``.
        missing: the message for an unknown name, from the name and the known names
            (default: ``unknown <kind> 'name'; known: …``).
    """

    def __init__(
        self,
        kind: str,
        *,
        error: type[AlambicError],
        group: str | None = None,
        adapt: Callable[[Any], T] | None = None,
        missing: Callable[[str, list[str]], str] | None = None,
    ) -> None:
        self.kind, self.error, self.group = kind, error, group
        self._adapt, self._missing = adapt, missing
        self._entries: dict[str, _Entry] = {}
        self._ordered: list[T] | None = None  # ordered(), until the next change
        self._entry_points_read = False
        self._lock = threading.RLock()

    # -- registering -----------------------------------------------------------------
    def register(self, name: str, plugin: T | str, *, precedence: int = USER) -> None:
        """Add (or replace) the plugin called ``name``; a ``str`` is a lazy import path."""
        with self._lock:
            path = isinstance(plugin, str)
            if not path and self._adapt is not None:
                plugin = self._adapt(plugin)
            self._entries[name] = _Entry(plugin, precedence, next(_order), loaded=not path)
            self._ordered = None

    def register_all(self, plugins: Iterable[tuple[str, T | str]], *, precedence: int) -> None:
        """Register several plugins, to be tried in the order given."""
        for name, plugin in reversed(list(plugins)):
            self.register(name, plugin, precedence=precedence)

    def unregister(self, name: str) -> None:
        """Remove a plugin (no error if it is not there)."""
        with self._lock:
            self._entries.pop(name, None)
            self._ordered = None

    @contextlib.contextmanager
    def preserved(self) -> Iterator[None]:
        """Undo, at the end of the block, every registration made in it (for tests)."""
        with self._lock:
            saved = {
                name: _Entry(e.target, e.precedence, e.order, loaded=e.loaded)
                for name, e in self._entries.items()
            }
        try:
            yield
        finally:
            with self._lock:
                self._entries, self._ordered = saved, None

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    # -- looking up ------------------------------------------------------------------
    def names(self) -> list[str]:
        """Every plugin's name, entry points included, sorted."""
        self._read_entry_points()
        with self._lock:
            return sorted(self._entries)

    def get(self, name: str) -> T:
        """The plugin called ``name`` (importing it on first use).

        Raises:
            error: no plugin has that name, or it cannot be imported.
        """
        entry = self._entries.get(name)
        if entry is None:
            self._read_entry_points()
            entry = self._entries.get(name)  # read again: another thread may have read them
        if entry is None:
            known = sorted(self._entries)
            if self._missing is not None:
                raise self.error(self._missing(name, known))
            raise self.error(f"unknown {self.kind} {name!r}; known: {', '.join(known) or 'none'}")
        return self._loaded(name, entry)

    def ordered(self) -> list[T]:
        """Every plugin that loads, highest precedence first (among equals, the latest
        registered); one that fails to load is logged and left out."""
        ordered = self._ordered
        if ordered is None:
            with self._lock:
                entries = sorted(
                    self._entries.items(), key=lambda item: (item[1].precedence, item[1].order)
                )
                ordered = []
                for name, entry in reversed(entries):
                    try:
                        ordered.append(self._loaded(name, entry))
                    except AlambicError as exc:
                        if not entry.broken:
                            log.warning("%s; it is left out", exc)
                            entry.broken = True
                self._ordered = ordered
        return ordered

    def first(self, accepts: Callable[[T], bool]) -> T | None:
        """The first plugin, in :meth:`ordered` order, that ``accepts``; entry points are
        read (once) when none of the registered ones does."""
        ordered = self.ordered()
        for plugin in ordered:
            if accepts(plugin):
                return plugin
        self._read_entry_points()
        if self.ordered() is not ordered:  # entry points (or a registration) came meanwhile
            return self.first(accepts)
        return None

    # -- internals -------------------------------------------------------------------
    def _loaded(self, name: str, entry: _Entry) -> T:
        if not entry.loaded:
            with self._lock:
                if not entry.loaded:
                    entry.target, entry.loaded = self._load(name, entry.target), True
        plugin: T = entry.target
        return plugin

    def _load(self, name: str, path: str) -> Any:
        try:
            loaded = load_path(path)
        except (ImportError, AttributeError, ValueError) as exc:
            raise self.error(f"{self.kind} {name!r} cannot be loaded from {path}: {exc}") from exc
        return self._adapt(loaded) if self._adapt is not None else loaded

    def _read_entry_points(self) -> bool:
        """Register the group's entry points not registered yet; whether any was new."""
        if self.group is None or self._entry_points_read:
            return False
        import importlib.metadata  # only now: reading entry points costs milliseconds

        with self._lock:
            if self._entry_points_read:  # another thread read them meanwhile
                return False
            found = importlib.metadata.entry_points(group=self.group)
            new = [ep for ep in found if ep.name not in self._entries]
            for ep in new:
                entry = _Entry(ep.value, ENTRY_POINT, next(_order), loaded=False)
                self._entries[ep.name] = entry
            self._ordered = None
            self._entry_points_read = True  # last: a reader that sees it sees the entries
            return bool(new)
