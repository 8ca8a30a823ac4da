"""Code the core tests import by name: a plugin module the plugin-registry tests load lazily."""

WIDGET = "a widget"
