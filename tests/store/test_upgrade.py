"""A home made by an earlier release upgrades in place, losing nothing.

``data/home-0.1.0.sql`` is the database of a home that ``data/make_legacy_home.py``
built with alambic 0.1.0 through its public API. Opening it here migrates it to the
newest schema; every run, step, tracked run, version, alias, audit row, event, endpoint
and token must read back as 0.1.0 read it, and its steps must keep their cache keys.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

import alambic as al
from alambic.store import current_revision, get_engine, head_revision
from tests.store.data.make_legacy_home import read_back

DATA = Path(__file__).parent / "data"


@pytest.fixture
def legacy_home(home: Path) -> dict[str, Any]:
    """The 0.1.0 home, restored into this test's ALAMBIC_HOME (not yet upgraded)."""
    home.mkdir(parents=True, exist_ok=True)
    database = sqlite3.connect(home / "alambic.db")
    database.executescript((DATA / "home-0.1.0.sql").read_text(encoding="utf-8"))
    database.close()
    expected: dict[str, Any] = json.loads((DATA / "home-0.1.0.json").read_text(encoding="utf-8"))
    return expected


def _as_json(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def test_the_0_1_0_home_reads_back_whole_after_the_upgrade(
    legacy_home: dict[str, Any], home: Path
) -> None:
    url = f"sqlite:///{home / 'alambic.db'}"
    assert current_revision(get_engine(url, migrate=False)) == "0004"
    engine = get_engine(url)  # opening migrates
    assert current_revision(engine) == head_revision() != "0004"
    found = _as_json(read_back(legacy_home["made"]))
    for part in ("runs", "tracked", "models", "endpoints", "deleted_endpoint_history", "tokens"):
        assert found[part] == legacy_home[part], part
    assert len(found["runs"]) == 2 and found["runs"][1]["status"] == "failed"
    assert found["models"]["legacy-model"]["aliases"] == {"production": 2, "staging": 2}


def test_every_audit_row_keeps_its_id_and_gets_its_subject_kind(
    legacy_home: dict[str, Any], home: Path
) -> None:
    get_engine(f"sqlite:///{home / 'alambic.db'}")  # migrates
    database = sqlite3.connect(home / "alambic.db")
    rows = database.execute(
        "SELECT id, subject_kind, subject, action FROM audit_log ORDER BY id"
    ).fetchall()
    database.close()
    expected = []
    for row_id, group, action in legacy_home["audit"]:
        kind, _, name = group.partition(":") if ":" in group else ("model_group", "", group)
        expected.append((row_id, kind, name, action))
    assert rows == expected
    kinds = {kind for _, kind, _, _ in rows}
    assert kinds == {"model_group", "endpoint", "token"}
    token_rows = [name for _, kind, name, _ in rows if kind == "token"]
    assert sorted(set(token_rows)) == sorted(legacy_home["made"]["tokens"])


def test_the_upgraded_home_keeps_its_cache_keys(
    legacy_home: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ALAMBIC_EXECUTOR", "inline")
    monkeypatch.syspath_prepend(str(DATA))
    sys.modules.pop("legacy_flows", None)
    from legacy_flows import legacy, write_table  # type: ignore[import-not-found]

    write_table(tmp_path)  # the same file 0.1.0 queried, in the working folder
    run = al.run(legacy, params={"n": 3, "fail": False})
    assert run.succeeded, run.error
    first = {label: key for label, _, key in legacy_home["runs"][0]["steps"]}
    # The artifacts of 0.1.0 are not kept beside its database: each step runs again,
    # under the very key 0.1.0 gave it (a changed key would re-run every cached step),
    # library steps (al.sql, al.register) included, and the explanation of the miss
    # reads what 0.1.0 recorded of the latest run.
    assert {s.label: s.cache_key for s in run.steps} == first
    reasons = {s.label: s.cache["reason"] for s in run.steps}
    assert reasons["rows"] == "miss: the earlier result's artifacts are gone"
    assert reasons["register"] == "miss: the earlier result's artifacts are gone"
    failed_run = legacy_home["runs"][1]["id"]
    assert reasons["total"] == f"miss: since {failed_run}, argument 'fail' changed (True → False)"
    # With 0.1.0's artifacts kept, as in a real home, every one of them is a cache hit:
    # nothing is registered again.
