"""A plugin module that the plugin-registry tests import lazily."""

WIDGET = "a widget"
