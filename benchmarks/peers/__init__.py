"""Peer tools' side of the benchmarks; they run in `benchmarks/.venv-peers`, never here."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

PEERS = Path(__file__).resolve().parent
PEER_PYTHON = PEERS.parent / ".venv-peers" / "bin" / "python"


def run_peer(script: str) -> dict[str, Any] | None:
    """Run ``peers/SCRIPT`` in the peer venv and return the JSON line it prints.

    Returns None when the peer venv is missing (`make bench-setup` creates it).
    """
    if not PEER_PYTHON.exists():
        return None
    out = subprocess.run(
        [str(PEER_PYTHON), str(PEERS / script)],
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result
