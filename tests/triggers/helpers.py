"""A real git repository for the git-tag triggers' tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

RELEASE = """
import alambic as al


@al.step
def stamp(tag: str) -> dict:
    return {"asked": tag, **al.registry.code_version()}


@al.pipeline
def release(tag: str = "") -> dict:
    return stamp(tag)
"""


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def make_repo(folder: Path) -> Path:
    """A real git repository holding a release pipeline, tagged v1."""
    folder.mkdir()
    git(folder, "init", "--quiet", "--initial-branch", "main")
    git(folder, "config", "user.email", "ci@example.com")
    git(folder, "config", "user.name", "ci")
    (folder / "release.py").write_text(RELEASE)
    git(folder, "add", "release.py")
    git(folder, "commit", "--quiet", "-m", "first")
    git(folder, "tag", "v1")
    return folder


def commit_and_tag(repo: Path, tag: str, text: str = RELEASE) -> str:
    (repo / "release.py").write_text(text + f"\n# {tag}\n")
    git(repo, "commit", "--quiet", "-am", f"release {tag}")
    git(repo, "tag", "-a", tag, "-m", tag)
    return git(repo, "rev-parse", "HEAD")
