"""Settings, read from ``ALAMBIC_*`` environment variables and ``alambic.toml``.

The environment wins over the file; the file wins over the defaults. ``alambic.toml``
is looked up in the current folder and its parents, and so is the home, the way git
finds ``.git``: the nearest folder holding an ``alambic.toml`` or an existing
``.alambic`` folder is the project, and its ``.alambic`` is the home (unless
``ALAMBIC_HOME`` or the file's ``home`` says otherwise); with neither, ``./.alambic``::

    # alambic.toml
    home = ".alambic"
    db_url = "postgresql+psycopg://127.0.0.1:5432/mlops"
    artifacts = "s3://my-bucket/alambic"
    executor = "local"
    max_workers = 4

Example:
    >>> from alambic.config import settings
    >>> settings().executor
    'local'
"""

from __future__ import annotations

import math
import os
import tempfile
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from alambic.errors import ConfigError

__all__ = ["Settings", "find_config_file", "find_project", "settings"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Settings:
    """Resolved settings; paths are absolute so child processes see the same store.

    Attributes:
        home: folder holding the default database, artifacts and logs.
        db_url: SQLAlchemy URL of the metadata database.
        artifacts: fsspec URL (or local path) of the artifact store.
        executor: name of the executor plugin that runs steps (``local``).
        max_workers: how many steps run at once.
        allow_pickle: whether values without a materializer may be pickled.
        heartbeat_seconds: how often an orchestrator proves it is alive.
        ray_address: the Ray cluster the ``ray`` executor uses: ``auto`` (a running
            cluster, else a local one), ``local`` (always a new local one), a cluster's
            GCS ``host:port``, or ``ray://host:10001`` (the Ray client).
    """

    home: Path
    db_url: str
    artifacts: str
    executor: str = "local"
    max_workers: int = 1
    allow_pickle: bool = False
    heartbeat_seconds: float = 5.0
    ray_address: str = "auto"

    def env(self) -> dict[str, str]:
        """Return these settings as ``ALAMBIC_*`` variables, for child processes."""
        return {
            "ALAMBIC_HOME": str(self.home),
            "ALAMBIC_DB_URL": self.db_url,
            "ALAMBIC_ARTIFACTS": self.artifacts,
            "ALAMBIC_EXECUTOR": self.executor,
            "ALAMBIC_MAX_WORKERS": str(self.max_workers),
            "ALAMBIC_ALLOW_PICKLE": "true" if self.allow_pickle else "false",
            "ALAMBIC_HEARTBEAT_SECONDS": str(self.heartbeat_seconds),
            "ALAMBIC_RAY_ADDRESS": self.ray_address,
        }


def find_config_file(start: Path | None = None) -> Path | None:
    """Return the nearest ``alambic.toml`` in ``start`` (default: cwd) or a parent."""
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        path = candidate / "alambic.toml"
        if path.is_file():
            return path
    return None


def find_project(start: Path | None = None) -> Path | None:
    """Return the project folder of ``start`` (default: cwd), as git finds a repository.

    The nearest ``alambic.toml`` in ``start`` or a parent declares the project (a
    ``.alambic`` folder below it does not start another one). Without one, the nearest
    folder holding an existing ``.alambic`` home is the project; that search stops
    below the user's home folder and the system's temporary folder, so one home made in
    ``~`` (or in ``/tmp``) does not capture every project (or temporary folder) under it.
    Commands run from any sub-folder then share one home.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     root = Path(tmp).resolve()
        ...     (root / ".alambic").mkdir()
        ...     (root / "examples" / "fraud").mkdir(parents=True)
        ...     print(find_project(root / "examples" / "fraud") == root)
        True
    """
    config = find_config_file(start)
    if config is not None:
        return config.parent
    folder = (start or Path.cwd()).resolve()
    ceilings = {_user_home(), Path(tempfile.gettempdir()).resolve()}
    for candidate in (folder, *folder.parents):
        if candidate in ceilings and candidate != folder:
            break  # ~/.alambic serves commands run in ~ only (and /tmp/.alambic, in /tmp)
        if (candidate / ".alambic").is_dir():
            return candidate
    return None


def _user_home() -> Path | None:
    try:
        return Path.home().resolve()
    except (RuntimeError, KeyError, OSError):  # no HOME and no passwd entry
        return None


def _read_file(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}; fix the file or remove it") from exc
    section = data.get("alambic", data)
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: `alambic` must be a table ([alambic]), not {section!r}")
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(section) - known)
    if unknown:
        raise ConfigError(
            f"{path}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    return dict(section)


def _as_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{key}={value!r} is not a boolean; use true or false")


def _as_number(key: str, value: Any, kind: type[int] | type[float]) -> Any:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key}={value!r} is not a {kind.__name__}") from None
    if not math.isfinite(number) or number <= 0:
        raise ConfigError(f"{key}={value!r} must be a finite number greater than 0")
    return number


def settings() -> Settings:
    """Read the settings now (environment first, then ``alambic.toml``, then defaults).

    Returns:
        The resolved :class:`Settings`.

    Raises:
        ConfigError: a value is malformed; the message names the key.
    """
    config_path = find_config_file()
    raw = _read_file(config_path)
    # A relative path in alambic.toml is relative to that file, not to wherever we run;
    # one from the environment is relative to the current folder.
    base = {key: config_path.parent for key in raw} if config_path is not None else {}
    for f in fields(Settings):
        env_value = os.environ.get(f"ALAMBIC_{f.name.upper()}")
        if env_value is not None and env_value != "":
            raw[f.name] = env_value
            base[f.name] = Path.cwd()

    home = Path(str(raw.get("home", ".alambic"))).expanduser()
    if "home" not in raw:
        home = ((find_project() or Path.cwd()) / home).resolve()
    if not home.is_absolute():
        home = (base.get("home", Path.cwd()) / home).resolve()
    db_url = str(raw.get("db_url") or f"sqlite:///{home / 'alambic.db'}")
    relative_sqlite = db_url.startswith("sqlite:///") and not db_url.startswith("sqlite:////")
    if relative_sqlite and db_url != "sqlite:///:memory:":
        database = base.get("db_url", Path.cwd()) / db_url[len("sqlite:///") :]
        db_url = f"sqlite:///{database.resolve()}"
    artifacts = str(raw.get("artifacts") or home / "artifacts")
    if "://" not in artifacts:
        path = Path(artifacts).expanduser()
        artifacts = str((base.get("artifacts", Path.cwd()) / path).resolve())
    return Settings(
        home=home,
        db_url=db_url,
        artifacts=artifacts,
        executor=str(raw.get("executor", "local")).strip().lower(),
        max_workers=_as_number("max_workers", raw.get("max_workers", os.cpu_count() or 1), int),
        allow_pickle=_as_bool("allow_pickle", raw.get("allow_pickle", False)),
        heartbeat_seconds=_as_number("heartbeat_seconds", raw.get("heartbeat_seconds", 5.0), float),
        ray_address=str(raw.get("ray_address") or "auto").strip(),
    )
