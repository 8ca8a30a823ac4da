"""The one plugin registry behind executors, materializers and flavors."""

from __future__ import annotations

import importlib.metadata
import sys
from typing import Any

import pytest

from alambic.core import BUILTIN, USER, PluginRegistry, load_path
from alambic.errors import ConfigError


def registry(**options: Any) -> PluginRegistry[Any]:
    return PluginRegistry("widget", error=ConfigError, **options)


def test_plugins_are_found_by_name_and_unknown_names_say_what_is_known() -> None:
    widgets = registry()
    widgets.register("a", 1)
    assert widgets.get("a") == 1 and "a" in widgets and widgets.names() == ["a"]
    with pytest.raises(ConfigError, match="unknown widget 'b'; known: a"):
        widgets.get("b")
    custom = registry(missing=lambda name, known: f"no {name}, try {known}")
    with pytest.raises(ConfigError, match=r"no b, try \[\]"):
        custom.get("b")


def test_a_path_is_imported_only_when_the_plugin_is_first_used() -> None:
    widgets = registry()
    sys.modules.pop("tests.core.flows", None)
    widgets.register("lazy", "tests.core.flows:WIDGET")
    assert "tests.core.flows" not in sys.modules
    assert widgets.get("lazy") == "a widget"
    assert "tests.core.flows" in sys.modules
    widgets.register("broken", "tests.core.no_such_module:X")
    with pytest.raises(ConfigError, match=r"'broken' cannot be loaded from tests\.core\.no_such"):
        widgets.get("broken")


def test_plugins_are_tried_by_precedence_then_newest_first() -> None:
    widgets = registry()  # a str is an import path: these plugins are (name, rank) tuples
    widgets.register_all([("first", ("first", 1)), ("second", ("second", 2))], precedence=BUILTIN)
    assert widgets.ordered() == [("first", 1), ("second", 2)], "built-ins in the order given"
    widgets.register("mine", ("mine", 0), precedence=USER)
    widgets.register("newer", ("newer", 0), precedence=USER)
    assert [w[0] for w in widgets.ordered()] == ["newer", "mine", "first", "second"]
    assert widgets.first(lambda w: w[0].startswith("m")) == ("mine", 0)
    assert widgets.first(lambda w: w[0] == "none") is None
    widgets.register("first", ("first again", 9), precedence=USER)  # replaced, and newest
    assert widgets.ordered()[0] == ("first again", 9)


def test_adapt_checks_what_is_registered_and_preserved_undoes_changes() -> None:
    def only_numbers(value: Any) -> int:
        if not isinstance(value, int):
            raise ConfigError(f"{value!r} is not a number")
        return value * 10

    widgets = registry(adapt=only_numbers)
    widgets.register("a", 1)
    with pytest.raises(ConfigError, match="is not a number"):
        widgets.register("b", 2.5)
    with widgets.preserved():
        widgets.register("c", 2)
        widgets.unregister("a")
        assert widgets.ordered() == [20]
    assert widgets.ordered() == [10] and "c" not in widgets


def test_entry_points_are_read_once_when_a_lookup_finds_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = []
    point = importlib.metadata.EntryPoint("ext", "tests.core.flows:WIDGET", "widgets")

    def entry_points(group: str) -> list[importlib.metadata.EntryPoint]:
        calls.append(group)
        return [point] if group == "alambic.widgets" else []

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    widgets = registry(group="alambic.widgets")
    widgets.register("own", ["own"])
    assert widgets.get("own") == ["own"] and calls == [], "no scan while names are known"
    assert widgets.get("ext") == "a widget"
    assert widgets.first(lambda w: w == "missing") is None  # no second scan
    assert widgets.names() == ["ext", "own"]
    assert calls == ["alambic.widgets"], "read once"


def test_load_path_takes_colon_or_dotted_paths() -> None:
    assert load_path("json:dumps") is load_path("json.dumps")
    assert load_path("os.path:join") is load_path("os.path.join")


def test_entry_points_come_after_the_builtins_so_reading_them_changes_no_choice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    point = importlib.metadata.EntryPoint("ext", "tests.core.flows:WIDGET", "widgets")
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [point])
    widgets = registry(group="alambic.widgets")
    widgets.register("builtin", ("a widget, built in",), precedence=BUILTIN)
    widgets.register("mine", ["mine"])

    def takes_widgets(plugin: Any) -> bool:
        return "widget" in str(plugin)

    before = widgets.first(takes_widgets)
    assert widgets.names() == ["builtin", "ext", "mine"]  # entry points read now
    assert widgets.first(takes_widgets) == before == ("a widget, built in",)
    assert widgets.ordered() == [["mine"], ("a widget, built in",), "a widget"]


def test_a_plugin_that_fails_to_load_is_skipped_when_tried_and_refused_by_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    widgets = registry()
    widgets.register("good", ("good",), precedence=BUILTIN)
    widgets.register("broken", "tests.core.no_such_module:X")
    with caplog.at_level("WARNING", logger="alambic.core._plugins"):
        assert widgets.first(lambda w: True) == ("good",)
        assert widgets.first(lambda w: True) == ("good",)
    assert [r.getMessage() for r in caplog.records] == [
        "widget 'broken' cannot be loaded from tests.core.no_such_module:X: "
        "No module named 'tests.core.no_such_module'; it is left out"
    ], "logged once"
    with pytest.raises(ConfigError, match="'broken' cannot be loaded"):
        widgets.get("broken")
