"""Fixtures for the executor tests: a real Ray cluster for the Ray executor.

The cluster is a ``ray start --head --block`` process started once for this package
(not in-process ``ray.init()``): the tests then use the executor exactly as a user
with a cluster does, through a ``host:port`` address. Every port is a free one (the
default GCS port 6379 is Redis's on the test machines), and the cluster gets its own
temp folder, so it never meets another Ray instance. It is stopped by killing its
session — never with ``ray stop``, which would stop every Ray on the machine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.executors.helpers import RayCluster


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _session_members(session: int) -> list[int]:
    """Live processes of a session: Ray workers leave the process group, not the session."""
    members = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # already gone
        fields = stat.rpartition(")")[2].split()  # state, ppid, pgrp, session, …
        if fields[0] != "Z" and fields[3] == str(session):
            members.append(int(entry))
    return members


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the processes `ray start` started (its session), and only those."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=1)
    deadline = time.monotonic() + 15
    while True:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        members = _session_members(process.pid)
        for pid in members:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if not members or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    process.wait(timeout=10)


@pytest.fixture(scope="package")
def ray_cluster() -> Iterator[RayCluster]:
    """A 2-CPU Ray head node on free local ports, for the tests of this package.

    Package-scoped rather than session-scoped so that the cluster, and this process's
    connection to it, are gone before other packages' tests fork processes.
    """
    ray = pytest.importorskip("ray")
    folder = Path(tempfile.mkdtemp(prefix="alambic-ray-"))  # short: Ray puts sockets here
    port, client_port = _free_port(), _free_port()
    ray_cli = Path(sys.executable).with_name("ray")
    command = [
        str(ray_cli),
        "start",
        "--head",
        f"--port={port}",
        f"--ray-client-server-port={client_port}",
        f"--dashboard-agent-listen-port={_free_port()}",
        "--num-cpus=2",
        "--include-dashboard=false",
        "--disable-usage-stats",
        f"--temp-dir={folder}",
        "--block",
    ]
    log = folder / "ray-start.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALAMBIC_", "RAY_"))}
    # Without this, a token left in ~/.ray by any earlier local ray.init() turns token
    # authentication on, and a driver given an explicit address would then be refused.
    env["RAY_AUTH_MODE"] = "disabled"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while "Ray runtime started" not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"`ray start` did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.2)
        yield RayCluster(f"127.0.0.1:{port}", f"ray://127.0.0.1:{client_port}")
    finally:
        if ray.is_initialized():
            ray.shutdown()
        _stop(process)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def ray_address(ray_cluster: RayCluster, home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point ``ALAMBIC_RAY_ADDRESS`` at the test cluster (after ``home`` cleared it)."""
    monkeypatch.setenv("ALAMBIC_RAY_ADDRESS", ray_cluster.address)
    return ray_cluster.address
