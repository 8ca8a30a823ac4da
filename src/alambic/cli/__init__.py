"""The ``alambic`` command line (Typer + Rich)."""

from alambic.cli._app import app, main

__all__ = ["app", "main"]
