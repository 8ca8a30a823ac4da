"""What every CLI command shares: the consoles, and turning errors into exit code 2."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from alambic.errors import AlambicError

__all__ = ["console", "errors", "friendly"]

# Not a terminal (CI logs, a pipe) and no COLUMNS: 140 columns, so tables stay readable.
_WIDTH = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 140
console = Console(highlight=False, width=_WIDTH)
errors = Console(stderr=True, highlight=False)
F = TypeVar("F", bound=Callable[..., Any])


def friendly(fn: F) -> F:
    """Turn alambic errors into a one-line message and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except AlambicError as exc:
            errors.print(Text(f"error: {exc}", style="red"), soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]
