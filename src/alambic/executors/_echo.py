"""A worker process that sends back what it receives (for tests and examples)."""

from __future__ import annotations

import sys

from alambic.executors._processes import child_connection

if __name__ == "__main__":
    connection = child_connection(sys.argv)
    while True:
        try:
            connection.send(connection.recv())
        except (EOFError, OSError):
            break
