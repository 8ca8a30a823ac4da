"""Every block of the README runs as written, in order, on a home made by ``make demo``.

The test copies the repository's README, Makefile and examples into a temporary folder,
runs ``make demo`` there with this environment's virtualenv, then runs each ``bash`` and
``python`` block from that folder as a user would after ``source .venv/bin/activate``;
``toml`` blocks are read as an ``alambic.toml``. A block preceded by
``<!-- readme-test: skip (why) -->`` is skipped, and there are few of them. The only
change made to a block is the serving port (8080 → a free one).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from alambic.config import settings

# The first block's time includes `make demo` (a few minutes on 2 cores).
pytestmark = [pytest.mark.slow, pytest.mark.first, pytest.mark.timeout(1200)]
ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent
FENCE = re.compile(r"^```(\w+)\n(.*?)^```\n", re.DOTALL | re.MULTILINE)
ERROR = re.compile(r"^error: ", re.MULTILINE)  # how the CLI reports a usage error
SKIP = re.compile(r"<!-- readme-test: skip \((.+?)\) -->\n$")

# What a block's output must show, beyond exiting 0 (keyed by a piece of the block).
EXPECTED = {
    "alambic models list": ["fraud-auto", "fraud-moto", "fraud-loisir"],
    "def by_category": ["succeeded"],
    "RUN=$(alambic submit": ["cancelled", "succeeded", "registered fraud-moto/2"],
    "def sql_to_model": ["succeeded", "metrics.roc_auc"],
    "def tune_model": ["roc_auc"],
    # make demo's loop staged fraud-auto/3; the Registry block registers version 4.
    'al.load_model("fraud-auto/1")': ["fraud-auto/4"],
    "alambic endpoints create fraud-ab": [
        '"variant":"champion"',
        '"model":"fraud-auto/4"',
        "90%",
        "10%",
        "1 label",
    ],
    "alambic schedules create fraud-nightly": [
        "schedule fraud-nightly: At 02:00 every day (Europe/Paris)",
        "fraud-health-hourly",
        '{"status":"ok"',
        "succeeded",
        '"name":"fraud-nightly"',
    ],
}


@dataclass(frozen=True)
class Block:
    """One fenced block of the README."""

    language: str
    text: str
    line: int
    skip: str | None

    @property
    def id(self) -> str:
        return f"line-{self.line}-{self.language}"


def readme_blocks(text: str) -> list[Block]:
    """The fenced blocks of a Markdown text, in order, with their skip markers."""
    blocks = []
    for match in FENCE.finditer(text):
        before = text[: match.start()]
        marker = SKIP.search(before[-300:])
        blocks.append(
            Block(match.group(1), match.group(2), before.count("\n") + 1, marker and marker[1])
        )
    return blocks


BLOCKS = readme_blocks((ROOT / "README.md").read_text(encoding="utf-8"))


def test_the_readme_has_runnable_blocks_and_few_skipped() -> None:
    languages = {b.language for b in BLOCKS}
    assert languages <= {"bash", "python", "toml"}, languages  # a new language needs a runner
    assert sum(b.skip is not None for b in BLOCKS) <= 2
    for piece in EXPECTED:  # every expectation still names a block
        assert any(piece in b.text for b in BLOCKS), piece


def _environment() -> dict[str, str]:
    """This environment as a user's shell after ``source .venv/bin/activate``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALAMBIC_")}
    for key in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        env.pop(key, None)
    env.update(
        PATH=f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(VENV),
        COLUMNS="200",
        NO_COLOR="1",
    )
    return env


def _shell(command: list[str], folder: Path) -> subprocess.CompletedProcess[str]:
    """Run a command in ``folder`` as the user's shell would (a generous bound on time)."""
    return subprocess.run(
        command, cwd=folder, env=_environment(), capture_output=True, text=True, timeout=900
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository's user-facing files on which ``make demo`` has run."""
    folder = tmp_path_factory.mktemp("readme") / "alambic"
    folder.mkdir()
    for name in ("README.md", "Makefile", "pyproject.toml"):
        shutil.copy2(ROOT / name, folder / name)
    ignore = shutil.ignore_patterns(".alambic", "__pycache__", "scores", "labels.csv")
    shutil.copytree(ROOT / "examples", folder / "examples", ignore=ignore)
    (folder / ".venv").symlink_to(VENV)  # what `make demo` made in a user's clone
    stamp = VENV / ".demo-installed"
    done = _shell(["make", "demo", f"VENV={VENV}", "-o", str(stamp)], folder)  # no reinstall
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert (folder / ".alambic" / "alambic.db").is_file()  # one home, at the root
    assert not list((folder / "examples").glob("*/.alambic"))
    return folder


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_block(block: Block, folder: Path) -> str:
    """Run a bash or python block in ``folder``; return its output."""
    text = block.text.replace("8080", str(_free_port()))
    if block.language == "bash":
        # A server a failed block left in the background is stopped with the block.
        prologue = "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n"
        command = ["bash", "-c", prologue + text]
    else:
        script = folder / f"readme_{block.line}.py"
        script.write_text(text, encoding="utf-8")
        command = [str(VENV / "bin" / "python"), script.name]
    done = _shell(command, folder)
    output = done.stdout + done.stderr
    transcript = f"README line {block.line} exited {done.returncode}:\n{block.text}\n---\n{output}"
    assert done.returncode == 0, transcript
    assert "Traceback" not in output and not ERROR.search(output), transcript
    return output


def _check_toml(block: Block, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A toml block is a valid alambic.toml whose every key is taken."""
    values = tomllib.loads(block.text)
    (folder / "alambic.toml").write_text(block.text, encoding="utf-8")
    for key in list(os.environ):
        if key.startswith("ALAMBIC_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(folder)
    read = settings()
    for key, value in values.items():
        got = getattr(read, key)
        if key == "home":  # relative to the file's folder
            assert got == (folder / value).resolve(), (key, got, value)
        else:
            assert got == value, (key, got, value)


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_a_readme_block_runs_as_written(
    block: Block, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if block.skip:
        pytest.skip(block.skip)
    if block.language == "toml":
        _check_toml(block, tmp_path, monkeypatch)
        return
    output = _run_block(block, project)
    for piece, expected in EXPECTED.items():
        if piece in block.text:
            missing = [e for e in expected if e not in output]
            assert not missing, f"README line {block.line}: no {missing} in:\n{output}"
