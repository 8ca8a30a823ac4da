"""Worker processes: a ``python -m MODULE FD`` child on its own socket, that dies with us.

Both the local executor's workers and batch transform's scorers are plain subprocesses
rather than a multiprocessing pool: they never re-import the caller's ``__main__`` (a
script without a ``__name__`` guard works), each gets the environment it is given, and
on Linux each gets SIGKILL when the process that started it dies, so a killed run
leaves no orphan computing.

Example:
    >>> import os, sys
    >>> process, connection = spawn("alambic.executors._echo", env=dict(os.environ))
    >>> connection.send({"ping": 1}); connection.recv()
    {'ping': 1}
    >>> stop(process, connection)
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import socket
import subprocess
import sys
from multiprocessing.connection import Connection
from typing import IO

__all__ = ["child_connection", "die_with_parent", "spawn", "stop"]


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (a no-op elsewhere)."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def spawn(
    module: str,
    *,
    env: dict[str, str],
    stdout: int | IO[bytes] = subprocess.DEVNULL,
    stderr: int | IO[bytes] | None = None,
) -> tuple[subprocess.Popen[bytes], Connection]:
    """Start ``python -m module FD`` with ``env``; return it and our end of its socket."""
    ours, theirs = socket.socketpair()
    process = subprocess.Popen(  # noqa: S603 - our own module, no shell
        [sys.executable, "-m", module, str(theirs.fileno())],
        pass_fds=(theirs.fileno(),),
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        env=env,
        close_fds=True,
    )
    theirs.close()
    return process, Connection(ours.detach())


def child_connection(argv: list[str]) -> Connection:
    """In the child: die with the parent, and open the socket named on the command line."""
    die_with_parent()
    return Connection(int(argv[1]))


def stop(process: subprocess.Popen[bytes], connection: Connection | None = None) -> None:
    """Kill a worker process now, reap it, and close our end of its socket."""
    with contextlib.suppress(ProcessLookupError):
        process.kill()
    with contextlib.suppress(Exception):
        process.wait(timeout=10)
    if connection is not None:
        connection.close()
