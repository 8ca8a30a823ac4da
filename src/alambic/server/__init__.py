"""The control plane, ``alambic server``: a REST API over runs, schedules, the registry
and monitors, and the scheduler's loop (FastAPI on uvicorn, behind the ``server`` extra).

Example:
    >>> from alambic.server import create_app
    >>> paths = create_app(loops=False).openapi()["paths"]
    >>> sorted(p for p in paths if p.startswith("/api/v1/schedules"))[:2]
    ['/api/v1/schedules', '/api/v1/schedules/{name}']
"""

from typing import TYPE_CHECKING

from alambic.core._lazy import lazy_exports

_EXPORTS = {
    "app_from_env": "._app",
    "create_app": "._app",
    "serve_control_plane": "._app",
    "Caller": "._auth",
    "LEVELS": "._auth",
}
__all__ = ["LEVELS", "Caller", "app_from_env", "create_app", "serve_control_plane"]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from alambic.server._app import app_from_env, create_app, serve_control_plane
    from alambic.server._auth import LEVELS, Caller
