"""Fixtures shared by every test: an isolated alambic home, and real databases.

It also sorts tests into tiers (see CONTRIBUTING.md): a test that uses a real outside
service through its fixtures (PostgreSQL, the Ray cluster, a served HTTP app) is marked
``integration``; the scenarios of ``tests/e2e`` and the tests that run the ``alambic``
command in its own process are marked ``e2e``. ``make fast`` runs the rest, the unit tier.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from alambic.store import dispose_engines

# No time limit per Hypothesis example: a deadline is a timed assertion, and on a loaded
# machine (two pytest workers on two cores) a first example's imports can take 400 ms.
hypothesis_settings.register_profile("alambic", deadline=None)
hypothesis_settings.load_profile("alambic")

PG_BASE = "postgresql+psycopg://127.0.0.1:5432/test"
# Fixtures that start or reach a real outside service: their tests are integration tests.
INTEGRATION_FIXTURES = frozenset(
    {"postgres_server", "pg_url", "ray_cluster", "ray_address", "serve_app", "serve_process"}
)
# Fixtures that run the ``alambic`` command in a process of its own, as a user does: their
# tests are end-to-end CLI scenarios.
E2E_FIXTURES = frozenset({"alambic"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with its tier, from where it is and the fixtures it uses; order the
    modules for pytest-xdist (``make unit`` keeps this order: ``--no-loadscope-reorder``):
    those marked ``first`` (minutes long) first, so that none runs alone at the end, then
    the others by their number of tests, most first."""
    sizes: dict[str, int] = {}
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        sizes[module] = sizes.get(module, 0) + 1

    def order(item: pytest.Item) -> tuple[bool, int]:
        return item.get_closest_marker("first") is None, -sizes[item.nodeid.split("::", 1)[0]]

    items.sort(key=order)  # stable: a module's tests keep their order
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if "e2e" in item.path.parts or names & E2E_FIXTURES:
            item.add_marker(pytest.mark.e2e)
            continue
        callspec = getattr(item, "callspec", None)
        on_postgres = callspec is not None and callspec.params.get("db_url") == "postgres"
        if names & INTEGRATION_FIXTURES or on_postgres or item.get_closest_marker("postgres"):
            item.add_marker(pytest.mark.integration)


def _postgres_ready() -> bool:
    if shutil.which("pg_isready") is None:
        return False
    ready = subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"], check=False)
    if ready.returncode == 0:
        return True
    versions = Path("/etc/postgresql")
    if versions.is_dir() and shutil.which("pg_ctlcluster"):
        for version in versions.iterdir():
            subprocess.run(
                ["pg_ctlcluster", "--skip-systemctl-redirect", version.name, "main", "start"],
                check=False,
            )
        for _ in range(20):
            if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"], check=False).returncode == 0:
                return True
            import time

            time.sleep(0.5)
    return False


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The PostgreSQL server at 127.0.0.1:5432 (started when it is down)."""
    if not _postgres_ready():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is required in CI and could not be started")
        pytest.skip("PostgreSQL is not available on this machine")
    return PG_BASE


@pytest.fixture
def pg_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL schema for one test, dropped afterwards."""
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_server)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    yield f"{postgres_server}?options=-csearch_path%3D{schema}"
    dispose_engines()
    with admin.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, home: Path) -> str:
    """Each test using it runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{home / 'alambic.db'}"
    return str(request.getfixturevalue("pg_url"))
