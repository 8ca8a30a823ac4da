"""Make the small alambic home that the upgrade test opens (``test_upgrade.py``).

Run it with the release whose database the test must keep upgrading, from a checkout of
that release, and commit what it writes:

    git checkout <release> && .venv/bin/python tests/store/data/make_legacy_home.py 0.1.0

It builds a home through alambic's public API only (pipeline runs, a failed and a cached
step, tracked runs with metric histories, model versions in every status, aliases, a
group with a webhook that could not be reached, endpoints changed and deleted, tokens
created and revoked), then writes:

- ``home-<release>.sql``: the metadata database as SQL text (``sqlite3 .dump``), so a
  review sees what it holds and git stores it as text;
- ``home-<release>.json``: what the public API read back from it, plus the raw audit
  rows, which the test expects to find again after the upgrade.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _build(home: Path) -> dict[str, Any]:
    os.environ["ALAMBIC_HOME"] = str(home)
    os.environ["ALAMBIC_EXECUTOR"] = "inline"
    os.environ["ALAMBIC_USER"] = "legacy-maker"
    sys.path.insert(0, str(HERE))
    import numpy as np
    import pandas as pd
    from legacy_flows import legacy, write_table
    from sklearn.linear_model import LogisticRegression

    import alambic as al
    from alambic import registry, serving, tracking
    from alambic.models import package

    os.chdir(home.parent)  # the pipeline queries legacy.csv in the working folder
    write_table(home.parent)
    first = al.run(legacy, params={"n": 3, "fail": False})
    second = al.run(legacy, params={"n": 3, "fail": True})  # a cached step and a failure
    runs = [first.id, second.id]

    with tracking.start_run("baseline", experiment="legacy") as run:
        tracking.log_params({"depth": 3, "kind": "tree"})
        for step in range(4):
            tracking.log_metric("loss", 1.0 / (step + 1), step=step)
        tracking.set_tags({"owner": "legacy"})
    tracked = run.id

    rng = np.random.default_rng(0)
    features = pd.DataFrame({"price": rng.normal(size=40), "age": rng.integers(0, 9, size=40)})
    labels = (features["price"] > 0).astype(int)
    for c in (0.5, 1.0, 2.0, 4.0):
        model = package(LogisticRegression(C=c).fit(features, labels), features, labels)
        al.register(model, name="legacy-model", metrics={"roc_auc": 0.8 + c / 100})
    registry.approve("legacy-model", 1, comment="first look")
    registry.approve("legacy-model", 2, comment="better")
    registry.reject("legacy-model", 3, comment="overfits")
    registry.promote("legacy-model", 1, to="staging")
    registry.promote("legacy-model", 2, to="staging")
    registry.promote("legacy-model", 2, to="production", comment="go")
    registry.set_policy("legacy-hooked", webhooks=[{"url": "http://127.0.0.1:9/unreachable"}])
    al.register(model, name="legacy-hooked")  # its event waits, with one failed attempt

    serving.create_endpoint("legacy", variants=["legacy-model@production"], capture=0.5)
    serving.update_endpoint("legacy", holdout=0.1, comment="holdout for the study")
    serving.create_endpoint("legacy-gone", variants=["legacy-model/1"], public=True)
    serving.delete_endpoint("legacy-gone")
    _, kept = serving.create_token("site", scope="invoke", endpoints=["legacy"])
    _, revoked = serving.create_token("ops", scope="admin")
    serving.revoke_token(revoked.id)
    return {"runs": runs, "tracked": tracked, "tokens": [kept.id, revoked.id]}


def read_back(made: dict[str, Any]) -> dict[str, Any]:
    """What the public API says of the home: the same reads run again after the upgrade."""
    import alambic as al
    from alambic import registry, serving, tracking

    runs = []
    for run_id in made["runs"]:
        run = al.get_run(run_id)
        steps = sorted((s.label, s.status, s.cache_key or "") for s in run.steps)
        runs.append({"id": run.id, "status": run.status, "params": run.params, "steps": steps})
    tracked = tracking.get_tracked_run(made["tracked"])
    models = {}
    for summary in registry.list_models():
        name = summary["name"]
        models[name] = {
            "versions": [
                (v.version, v.status, v.status_comment, v.model["hash"])
                for v in _versions(name, summary["latest"] or 0)
            ],
            "aliases": summary["aliases"],
            "history": [
                (a.action, a.version, a.alias, a.actor, a.comment) for a in registry.history(name)
            ],
            "events": [(e.type, e.version, e.status, e.attempts) for e in _events(name)],
        }
    endpoint_history = _endpoint_history()
    endpoints = {
        e.name: {
            "revision": e.revision,
            "config": e.config,
            "history": [(a.action, a.actor, a.comment) for a in endpoint_history(e.name)],
        }
        for e in serving.list_endpoints()
    }
    gone = [(a.action, a.actor) for a in endpoint_history("legacy-gone")]
    tokens = {
        t.id: {
            "name": t.name,
            "scope": t.scope,
            "endpoints": t.endpoints,
            "revoked": bool(t.revoked_at),
        }
        for t in serving.list_tokens()
    }
    return {
        "runs": runs,
        "tracked": {
            "id": tracked.id,
            "params": tracked.params,
            "metrics": tracked.metrics,
            "tags": tracked.tags,
        },
        "models": models,
        "endpoints": endpoints,
        "deleted_endpoint_history": gone,
        "tokens": tokens,
    }


def _endpoint_history() -> Any:
    """``alambic.serving.endpoint_history`` (0.1.0 kept it in a private module)."""
    import importlib

    from alambic import serving

    found = getattr(serving, "endpoint_history", None)
    return found or importlib.import_module("alambic.serving._endpoints").endpoint_history


def _versions(name: str, latest: int) -> list[Any]:
    from alambic import registry

    return [registry.get_version(name, n) for n in range(1, latest + 1)]


def _events(name: str) -> list[Any]:
    from alambic import registry

    return registry.registry_store().events(name)


def main() -> None:
    release = sys.argv[1] if len(sys.argv) > 1 else "dev"
    with tempfile.TemporaryDirectory(prefix="alambic-legacy-") as folder:
        home = Path(folder) / "home"
        made = _build(home)
        expected = read_back(made)
        database = sqlite3.connect(home / "alambic.db")
        with database:
            database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        audit = database.execute('SELECT id, "group", action FROM audit_log ORDER BY id').fetchall()
        dump = "\n".join(database.iterdump()) + "\n"
        database.close()
    expected["made"] = made
    expected["audit"] = [list(row) for row in audit]
    (HERE / f"home-{release}.sql").write_text(dump, encoding="utf-8")
    text = json.dumps(expected, indent=1, sort_keys=True, default=str)
    (HERE / f"home-{release}.json").write_text(text + "\n", encoding="utf-8")
    print(f"wrote home-{release}.sql and home-{release}.json in {HERE}")


if __name__ == "__main__":
    main()
