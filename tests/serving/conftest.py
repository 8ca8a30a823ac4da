"""Serving fixtures: the toy model in production, real HTTP servers (in-process or not)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

import alambic as al
from tests.serving.helpers import lgbm, register_live, running, serving_process


@pytest.fixture
def toy() -> Any:
    """The toy LightGBM model in production behind the public endpoint ``toy``."""
    model = lgbm()
    register_live(model)
    al.serving.create_endpoint("toy", variants=["toy@production"], public=True)
    return model


@pytest.fixture
def serve_app() -> Callable[..., Any]:
    """``with serve_app(["toy"]) as (url, state):`` a server on a free port (``http=``:
    uvicorn's HTTP protocol, a name or a class)."""
    from alambic.serving import ServerOptions, create_app

    @contextmanager
    def start(
        endpoints: list[str] | None = None, *, http: Any = "auto", **options: Any
    ) -> Iterator[tuple[str, Any]]:
        options.setdefault("poll_seconds", 0.2)
        app = create_app(endpoints, options=ServerOptions(**options))
        with running(app, http=http) as url:
            yield url, app.state.alambic

    return start


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as session:
        yield session


@pytest.fixture
def serve_process() -> Callable[..., Any]:
    """``with serve_process(args, home) as url:`` ``alambic serve`` in its own process."""
    return serving_process
