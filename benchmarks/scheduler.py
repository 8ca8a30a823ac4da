"""The control plane: how late schedules fire, what a fire costs, webhook to run, API latency.

In a fresh ``ALAMBIC_HOME`` (SQLite), ``--schedules`` schedules (1,000 by default) all due
every minute (``* * * * *``) start a one-step pipeline (steps inline in their
orchestrator). ``alambic server`` runs in its own process, as users run it, for
``--minutes`` whole minutes. Measured:

- **fire delay**: for each fire that started a run, the run's creation time minus the
  fire's due time (when the run exists, pending, and its orchestrator process is
  started), p50 and p99; and the delay until its orchestrator took the run.
- **server CPU per fire**: the server process's user and system CPU time over the
  measured minutes (from /proc), divided by the fires it made.
- **webhook to run**: a signed GitHub ``push`` of a new tag to ``/hooks/github`` of a
  git-tag trigger on a local repository, until the event's run is started (its run
  created), over ``--hooks`` tags, measured first, while no schedule exists. The tags
  come back to back (each run's process still starts while the next tag arrives), or
  with ``--idle-hooks`` each once the previous run's orchestrator has started.
- **status GET**: ``GET /api/v1/runs/{id}`` with a read token over one keep-alive
  connection (``http.client``), p50 and p99 over 2,000 calls, after the webhooks.

The runs themselves share the machine's 2 cores with the server: at 1,000 fires a minute
their orchestrators need more CPU than there is, so later fires find the previous run of
their schedule still going and are skipped (concurrency ``skip``, the default); those
count as fires made, not as runs started.

The peers: Prefect's scheduler service makes the runs of its deployments ahead of time,
in a loop that runs every 60 s by default, and its workers poll for due runs every 10 s
or so; SageMaker Pipelines' EventBridge schedules may start 20 minutes late. These are
their documented figures, not measured here.

With ``--postgres URL`` the store is a fresh schema of that PostgreSQL database
(``postgresql+psycopg://127.0.0.1:5432/test``), dropped afterwards; with ``--servers 2``
two servers share it, and the benchmark also counts fires made twice and fires whose
run was not made exactly once (it must find none).

    .venv/bin/python benchmarks/scheduler.py [--schedules 1000] [--minutes 3] [--hooks 20]
        [--postgres URL] [--servers 1]

``--minutes 0`` measures the webhooks and the status reads only.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PIPELINE = """
import alambic as al


@al.step
def tick() -> int:
    return 1


@al.pipeline
def noop() -> int:
    return tick()
"""


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start_server(project: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "alambic.cli", "server", "--port", str(port),
               "--log-level", "warning"]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=project, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/api/v1/health")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"alambic server did not start: {log.read_text()[-2000:]}")


def _fires(minutes: int, pids: list[int]) -> dict[str, Any]:
    """Wait for ``minutes`` whole minutes of fires; the fire delays and the server's CPU."""
    from alambic.triggers import list_schedules, schedule_history

    now = time.time()
    first = (int(now // 60) + 1) * 60  # the next whole minute
    time.sleep(max(0.0, first - time.time() - 2))
    cpu_before = sum(_cpu(pid) for pid in pids)
    time.sleep(max(0.0, first + minutes * 60 - time.time() - 1))
    cpu_after = sum(_cpu(pid) for pid in pids)
    time.sleep(15)  # the last minute's fires settle, and their runs start
    start = datetime.fromtimestamp(first, UTC)
    end = datetime.fromtimestamp(first + (minutes - 1) * 60, UTC)
    fires = [
        f for s in list_schedules() for f in schedule_history(s.name, limit=500)
        if start <= f.fire_time <= end
    ]  # fmt: skip
    return {"fires": fires, "cpu": cpu_after - cpu_before}


def _run_delays(fires: list[Any]) -> tuple[list[float], list[float]]:
    from alambic.config import settings
    from alambic.pipelines import RunStore

    store = RunStore.open(settings().db_url)
    created, taken = [], []
    for fire in fires:
        if fire.status != "started" or not fire.run_id:
            continue
        run = store.find_run(fire.run_id)
        if run is None:
            continue
        created.append((run.created_at - fire.fire_time).total_seconds())
        if run.started_at is not None:
            taken.append((run.started_at - fire.fire_time).total_seconds())
    return created, taken


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def _hooks(project: Path, port: int, count: int, *, idle: bool) -> list[float]:
    """Signed tag pushes to /hooks/github, until each event's run is created; with
    ``idle``, each once the previous run's orchestrator has started (back to back
    otherwise, while the previous runs' processes still start)."""
    from alambic.config import settings
    from alambic.pipelines import RunStore
    from alambic.triggers import create_trigger, trigger_history

    store = RunStore.open(settings().db_url)

    repo = project / "repo"
    repo.mkdir()
    _git(repo, "init", "--quiet", "--initial-branch", "main")
    _git(repo, "config", "user.email", "bench@example.com")
    _git(repo, "config", "user.name", "bench")
    (repo / "noop.py").write_text(PIPELINE)
    _git(repo, "add", "noop.py")
    _git(repo, "commit", "--quiet", "-m", "noop")
    create_trigger("release", on="git-tag", repo=str(repo), secret_env="BENCH_SECRET",  # noqa: S106
                   run="noop.py:noop", daily_cap=count + 1)  # fmt: skip
    delays = []
    for number in range(count):
        tag = f"v{number}"
        _git(repo, "tag", tag)
        commit = _git(repo, "rev-parse", "HEAD")
        body = json.dumps({"ref": f"refs/tags/{tag}", "after": commit}).encode()
        signature = "sha256=" + hmac.new(b"bench", body, hashlib.sha256).hexdigest()
        headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": signature,
                   "Content-Type": "application/json"}  # fmt: skip
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("POST", "/hooks/github", body=body, headers=headers)
        answer = connection.getresponse()
        answer.read()
        if answer.status != 202:
            raise RuntimeError(f"the webhook answered {answer.status}")
        while (status := trigger_history("release", limit=1)[0].status) != "started":
            if status not in ("received", "due"):
                raise RuntimeError(f"the tag's event was {status}, not started")
            time.sleep(0.005)
        delays.append(time.perf_counter() - started)
        if idle:  # the next tag once this run's orchestrator has started: an idle server
            run_id = str(trigger_history("release", limit=1)[0].run_id)
            deadline = time.monotonic() + 30
            while store.find_run(run_id).started_at is None and time.monotonic() < deadline:  # type: ignore[union-attr]
                time.sleep(0.01)
    return delays


def _status_gets(port: int, token: str, run_id: str, count: int = 2000) -> list[float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}"}
    times = []
    for number in range(count + 100):
        started = time.perf_counter()
        connection.request("GET", f"/api/v1/runs/{run_id}", headers=headers)
        answer = connection.getresponse()
        answer.read()
        if number >= 100:  # after a warm-up
            times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=1000)
    parser.add_argument("--minutes", type=int, default=3)
    parser.add_argument("--hooks", type=int, default=20)
    parser.add_argument("--postgres", default=None, help="a PostgreSQL URL (default: SQLite)")
    parser.add_argument("--servers", type=int, default=1, help="servers sharing the store")
    parser.add_argument("--idle-hooks", action="store_true",
                        help="send each tag once the previous run has started")  # fmt: skip
    args = parser.parse_args()
    if args.servers > 1 and not args.postgres:
        parser.error("--servers 2 needs --postgres (on SQLite a second server runs no loops)")
    project = Path(tempfile.mkdtemp(prefix="alambic-bench-scheduler-"))
    os.environ.update({"ALAMBIC_HOME": str(project / ".alambic"), "ALAMBIC_EXECUTOR": "inline",
                       "BENCH_SECRET": "bench"})  # fmt: skip
    schema = _schema(args.postgres)
    try:
        _bench(args, project)
    finally:
        if schema:
            _drop(args.postgres, schema)


def _schema(url: str | None) -> str:
    """A fresh schema of the PostgreSQL database ``url``, made the store's (or "")."""
    if not url:
        return ""
    import sqlalchemy as sa

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    os.environ["ALAMBIC_DB_URL"] = f"{url}?options=-csearch_path%3D{schema}"
    return schema


def _drop(url: str, schema: str) -> None:
    import sqlalchemy as sa

    from alambic.store import dispose_engines

    dispose_engines()
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def _bench(args: Any, project: Path) -> None:
    os.chdir(project)
    (project / "noop.py").write_text(PIPELINE)
    import alambic as al

    token = al.serving.create_token("bench", scope="read")[0]
    port = _free_port()
    server = _start_server(project, port, project / "server.log")
    others = [
        _start_server(project, _free_port(), project / f"server-{number}.log")
        for number in range(1, args.servers)
    ]
    try:
        # With the server idle first: webhooks, then status reads of the last hook's run.
        hooks = _hooks(project, port, args.hooks, idle=args.idle_hooks)
        time.sleep(5)
        last = al.triggers.trigger_history("release", limit=1)[0].run_id
        statuses = _status_gets(port, token, str(last))
        if args.minutes == 0:  # the webhooks and the status reads only
            _print(args, [], 0.0, {"created": [], "taken": [], "hooks": hooks,
                                   "statuses": statuses})  # fmt: skip
            return
        made = time.perf_counter()
        for number in range(args.schedules):
            al.schedule(f"every-minute-{number:04d}", "noop.py:noop", cron="* * * * *")
        made = time.perf_counter() - made
        load = os.getloadavg()[0]
        print(f"{args.schedules} schedules made in {made:.1f} s; server pid {server.pid}; "
              f"load {load:.2f}; measuring {args.minutes} minutes…", flush=True)  # fmt: skip
        measured = _fires(args.minutes, [server.pid] + [o.pid for o in others])
        fires = measured["fires"]
        created, taken = _run_delays(fires)
    finally:
        for process in [server, *others]:
            process.send_signal(signal.SIGINT)
        for process in [server, *others]:
            process.wait(60)
    delays = {"created": created, "taken": taken, "hooks": hooks, "statuses": statuses}
    _print(args, fires, measured["cpu"], delays)
    _exactly_once(fires)


def _exactly_once(fires: list[Any]) -> None:
    """Fires made twice, and fires whose run was made other than once."""
    from alambic.config import settings
    from alambic.pipelines import RunStore

    twice = [key for key, n in Counter((f.schedule, f.fire_time) for f in fires).items() if n > 1]
    started = [f for f in fires if f.status == "started"]
    ids = [str(f.run_id) for f in started]
    states = RunStore.open(settings().db_url).run_states(ids)
    missing = [i for i in ids if i not in states]
    shared = [i for i, n in Counter(ids).items() if n > 1]
    servers = Counter(f.server for f in fires)
    print(f"exactly once: {len(twice)} fire(s) made twice, {len(missing)} started fire(s) "
          f"without a run, {len(shared)} run(s) shared by fires; "
          f"fires by server {dict(servers)}")  # fmt: skip


def _print(args: Any, fires: list[Any], cpu: float, delays: dict[str, list[float]]) -> None:
    counts: dict[str, int] = {}
    for fire in fires:
        counts[fire.status] = counts.get(fire.status, 0) + 1
    expected = args.schedules * args.minutes
    print(f"\nfires made: {len(fires)} of {expected} due ({counts})")
    rows = [
        ("fire delay: run created (s)", delays["created"], "p99 < 1 s"),
        ("fire delay: orchestrator took the run (s)", delays["taken"], ""),
        ("webhook to run created (s)", delays["hooks"], "< 1 s"),
        ("GET /api/v1/runs/{id} (ms)", [s * 1000 for s in delays["statuses"]], "p50 < 5 ms"),
    ]
    print(f"{'measure':44} {'n':>6} {'p50':>9} {'p99':>9} {'max':>9}  aim")
    for label, values, aim in rows:
        top = max(values, default=float("nan"))
        print(f"{label:44} {len(values):>6} {_quantile(values, 0.5):>9.3f} "
              f"{_quantile(values, 0.99):>9.3f} {top:>9.3f}  {aim}")  # fmt: skip
    print(f"server CPU per fire: {cpu / max(1, len(fires)) * 1000:.2f} ms "
          f"({cpu:.1f} s over {args.minutes} min)")  # fmt: skip
    print(
        "peers (documented, not measured): Prefect's scheduler loop every 60 s, its workers "
        "poll every 10 s; SageMaker Pipelines' schedules may start 20 minutes late"
    )


if __name__ == "__main__":
    main()
