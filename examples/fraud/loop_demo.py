"""Continuous training, the loop closed: drifted traffic → alert → retraining → staging.

Run after ``monitor_demo.py`` (``make demo`` does), whose drifted traffic is still in the
last hour of the ``fraud`` endpoint's capture. It

1. sets fraud-auto's policy: a version that reaches ROC AUC 0.8 is approved by the
   policy and moved to ``staging`` (the pipeline registers only the models that beat
   the champion by its paired-bootstrap gate); ``production`` still needs a person;
2. writes fresh training data: the listings, with this month's drifted market in them;
3. makes a schedule that runs the monitor ``fraud-health`` every 5 seconds, and a
   trigger that retrains fraud-auto on the fresh data when that monitor warns or alerts;
4. starts ``alambic server``, waits for a new version to reach ``staging``, stops it;
5. asks the endpoint ``fraud-staging`` (it serves ``fraud-auto@staging``) to score a
   listing, and prints the timeline: fire → alert → run → version → alias.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from fraud_schema import FEATURES
from monitor_demo import drifted
from serve_demo import HERE, free_port, post, start_server, stop_server

import alambic as al
from alambic.errors import NotFoundError

ROOT = HERE.parent.parent  # the project: the server names pipelines from here
FRESH = HERE / "data" / "fresh.parquet"


def fresh_data(rows: int = 30_000) -> Path:
    """The latest auto listings, the most recent 60% of them as the market now is (the
    test split, the latest quarter, is all of the new market; training sees both)."""
    listings = pd.read_parquet(HERE / "data" / "listings.parquet")
    auto = listings[listings["category"] == "auto"].sort_values("listing_id").tail(rows)
    cut = int(len(auto) * 0.4)
    fresh = pd.concat([auto.iloc[:cut], drifted(auto.iloc[cut:], seed=1)], ignore_index=True)
    fresh.to_parquet(FRESH, index=False)
    return FRESH


def policy_and_staging() -> int:
    """fraud-auto's policy, and its staging alias (on production's version at first)."""
    al.registry.set_policy(
        "fraud-auto", approval="auto", auto_approve={"roc_auc": {"min": 0.8}},
        stage_on_approval=True,
    )  # fmt: skip
    production = al.registry.resolve("fraud-auto@production").version
    try:
        staged = al.registry.resolve("fraud-auto@staging").version
    except NotFoundError:
        al.registry.set_alias("fraud-auto", "staging", production, comment="loop demo")
        staged = production
    try:
        al.serving.get_endpoint("fraud-staging")
    except NotFoundError:
        al.serving.create_endpoint("fraud-staging", variants=["fraud-auto@staging"], public=True)
    return staged


def schedule_and_trigger(source: Path) -> None:
    """The monitor every 5 s, and the retraining it triggers (made again each demo)."""
    for delete, name in ((al.triggers.delete_schedule, "fraud-health-watch"),
                         (al.triggers.delete_trigger, "fraud-retrain")):  # fmt: skip
        try:
            delete(name)
        except NotFoundError:
            pass
    al.schedule("fraud-health-watch", monitor="fraud-health", every="5s", catchup="skip")
    al.triggers.create_trigger(
        "fraud-retrain", on="monitor", monitor="fraud-health", levels=("warn", "alert"),
        run="examples/fraud/pipeline.py:fraud", cwd=ROOT, cooldown="1h", daily_cap=3,
        params={"source": str(source), "categories": ["auto"], "n_trials": 4},
    )  # fmt: skip


def serve_control_plane() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 (our own CLI, fixed arguments)
        [sys.executable, "-m", "alambic.cli", "server", "--port", str(port),
         "--log-level", "warning"],
        cwd=ROOT, env=os.environ.copy(),
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/api/v1/health", timeout=1):  # noqa: S310
                return server, base
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("alambic server did not start") from None
            time.sleep(0.1)


def wait_for_staging(before: int, limit: float = 240.0) -> int:
    """The version staging moves to; prints the trigger's progress as it goes."""
    deadline, shown = time.monotonic() + limit, set()
    while time.monotonic() < deadline:
        for event in al.triggers.trigger_history("fraud-retrain"):
            if (event.id, event.status) not in shown:
                shown.add((event.id, event.status))
                why = f"{event.payload.get('monitor')} {event.payload.get('status')}"
                print(f"  trigger fraud-retrain: {event.status} {event.run_id or ''} ({why})")
        staged = al.registry.resolve("fraud-auto@staging").version
        if staged != before:
            return staged
        time.sleep(1)
    raise SystemExit(
        "no new version reached staging in time; see `alambic triggers show fraud-retrain`"
    )


def timeline(version: int) -> list[tuple[datetime, str]]:
    """Fire → alert → run → version → alias, from what each capability recorded."""
    event = next(e for e in al.triggers.trigger_history("fraud-retrain") if e.status == "started")
    alerting = next(r for r in al.monitoring.monitor_history("fraud-health")
                    if r.id == event.payload["monitor_run"])  # fmt: skip
    fire = next(f for f in al.triggers.schedule_history("fraud-health-watch")
                if f.fire_time <= alerting.started_at)  # fmt: skip
    run = al.get_run(str(event.run_id))
    record = al.registry.get_version("fraud-auto", version)
    moved = [e for e in al.registry.history("fraud-auto") if e.alias == "staging"][-1]
    return [
        (fire.fire_time, "fire      schedule fraud-health-watch runs monitor fraud-health"),
        (alerting.finished_at or alerting.started_at,
         f"{alerting.status:<9} monitor fraud-health (run {alerting.id})"),
        (run.record.created_at, f"run       {run.id} retrains fraud-auto on fresh data"),
        (record.created_at, f"version   fraud-auto/{version}: {record.status} by the policy"),
        (moved.at, f"alias     fraud-auto@staging → {version} ({moved.comment})"),
    ]  # fmt: skip


def ask_staging(version: int) -> None:
    rows = pd.read_parquet(FRESH).tail(1)
    server, base = start_server("fraud-staging")
    try:
        records: Any = rows[FEATURES].to_dict(orient="records")
        status, answer = post(f"{base}/invocations", {"dataframe_records": records}, None)
    finally:
        stop_server(server)
    served = answer.get("model_version", version)
    print(f"fraud-staging answers HTTP {status} with fraud-auto/{served}: "
          f"{answer.get('predictions')}")  # fmt: skip


def main() -> None:
    before = policy_and_staging()
    schedule_and_trigger(fresh_data())
    print(f"fraud-auto@staging is version {before}; starting alambic server")
    server, _ = serve_control_plane()
    started = time.monotonic()
    try:
        version = wait_for_staging(before)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(60)
        al.triggers.pause_schedule("fraud-health-watch")
    print(
        f"fraud-auto/{version} reached staging {time.monotonic() - started:.0f} s after "
        "the server started; production still needs a person"
    )
    ask_staging(version)
    print("\ntimeline")
    for at, what in timeline(version):
        print(f"  {at:%H:%M:%S} {what}")


if __name__ == "__main__":
    main()
