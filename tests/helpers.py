"""Small helpers shared by test modules."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def wait_until(predicate: Callable[[], bool], timeout: float = 90.0) -> None:
    """Poll ``predicate`` every 0.1 s; fail the test if it is still false after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout}s"
        time.sleep(0.1)


def resume_cli(run_id: str) -> None:
    """``alambic resume RUN`` in a new process, as a user would; fail with its output."""
    import subprocess
    import sys

    resumed = subprocess.run(
        [sys.executable, "-m", "alambic.cli", "resume", run_id, "-q"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr


@contextmanager
def command_server(
    command: str,
    args: list[str],
    *,
    log: Path,
    health: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``alambic COMMAND ARGS --port P`` in its own process, as a user runs it; yields its
    URL once ``health`` answers 200, and stops it with SIGINT unless the test killed it."""
    import httpx

    port = free_port()
    argv = [sys.executable, "-m", "alambic.cli", command, *args, "--port", str(port)]
    with log.with_name(f"{log.stem}-{port}.log").open("wb") as output:
        process = subprocess.Popen(
            argv, cwd=cwd, env={**os.environ, **(env or {})}, stdout=output,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"alambic {command} exited: {output.name}")
        try:
            if httpx.get(f"{url}{health}", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"alambic {command} did not become ready in 60 s")
        time.sleep(0.1)
    try:
        yield url, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
