"""`alambic models …` as a user runs them, on versions a pipeline registered."""

from __future__ import annotations

import json

import pytest

import alambic as al
from tests.cli.helpers import Alambic, Result, Write
from tests.registry.helpers import model

REGISTERING = """
import pandas as pd
from sklearn.tree import DecisionTreeClassifier

import alambic as al
from alambic.models import package


@al.step
def train(depth: int):
    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    labels = pd.Series([0, 1, 0, 1])
    return package(DecisionTreeClassifier(max_depth=depth).fit(frame, labels), frame, labels)


@al.pipeline
def release(depth: int = 1):
    model = train(depth)
    return al.register(model, "fraud-auto", {"roc_auc": 0.9})
"""


def test_the_registry_from_the_command_line(alambic: Alambic, write: Write) -> None:
    write("release.py", REGISTERING)
    for depth in ("1", "2"):
        done = alambic("run", "release.py:release", "-q", "-p", f"depth={depth}")
        assert done.code == 0, done.transcript

    listed = alambic("models", "list")
    assert "fraud-auto" in listed.out and "2 PendingManualApproval" in listed.out

    refused = alambic("models", "promote", "fraud-auto/2", "--to", "production")
    assert refused.code == 2 and "only an Approved version" in refused.err, refused.transcript
    assert alambic("models", "reject", "fraud-auto/1", "-m", "overfits").code == 0
    approved = alambic("models", "approve", "fraud-auto/2", "--comment", "reviewed")
    assert "fraud-auto/2 is now Approved" in approved.out, approved.transcript
    promoted = alambic("models", "promote", "fraud-auto/2", "--to", "production")
    assert "fraud-auto@production → fraud-auto/2" in promoted.out, promoted.transcript

    shown = alambic("models", "show", "fraud-auto@production")
    data = json.loads(shown.out)
    assert data["ref"] == "fraud-auto/2" and data["status_comment"] == "reviewed"
    assert data["lineage"]["step"] == "register" and data["lineage"]["params"] == {"depth": 2}

    history = alambic("models", "history", "fraud-auto")
    for action in ("register", "reject", "approve", "move-alias"):
        assert action in history.out, history.transcript
    then = alambic("models", "history", "fraud-auto", "--at", "2100-01-01")
    assert "fraud-auto@production: fraud-auto/2" in then.out, then.transcript

    lineage = alambic("models", "lineage", "fraud-auto/2")
    assert "step register" in lineage.out and "depth = 2" in lineage.out, lineage.transcript
    diff = alambic("models", "diff", "fraud-auto/1", "fraud-auto/2")
    assert "params.depth" in diff.out and "Rejected" in diff.out, diff.transcript

    card = alambic("models", "card", "fraud-auto@production")
    assert card.out.startswith("# Model card: fraud-auto/2"), card.transcript
    assert "## Compared with fraud-auto/1 (Rejected)" in card.out
    events = alambic("models", "events", "fraud-auto")
    assert "version_registered" in events.out and "recorded" in events.out, events.transcript

    assert alambic("models", "delete", "fraud-auto/1").code == 0
    gone = alambic("models", "show", "fraud-auto/1")
    assert gone.code == 2 and "does not exist" in gone.err
    bad = alambic("models", "show", "fraud auto")
    assert bad.code == 2 and "is not allowed" in bad.err


def _error_lines(result: Result) -> list[str]:
    return [line for line in result.err.splitlines() if line.strip()]


def test_a_new_users_slips_are_refused_with_the_way_to_write_them(alambic: Alambic) -> None:
    for depth in (1, 2):  # in this process: the commands under test come after
        al.register(model(depth), name="fraud-auto")
    assert alambic("models", "approve", "fraud-auto/2", "-m", "reviewed").code == 0

    typo = alambic("models", "promote", "fraud-auto/2", "--to", "prodution")
    assert typo.code == 2 and _error_lines(typo) == [
        "error: fraud-auto has no alias 'prodution'; did you mean 'production'? "
        "(pass new_alias=True / --new-alias to create it)"
    ], typo.transcript
    two_words = alambic("models", "promote", "fraud-auto", "2", "--to", "production")
    assert two_words.code == 2 and _error_lines(two_words) == [
        "error: give the version as fraud-auto/2 (NAME/VERSION), not two words"
    ], two_words.transcript
    history = alambic("models", "history", "fraud-auto")
    assert "move-alias" not in history.out, history.transcript  # neither moved anything

    meant = alambic("models", "promote", "fraud-auto/2", "--to", "prodution", "--new-alias")
    assert meant.code == 0, meant.transcript
    assert "fraud-auto@prodution → fraud-auto/2" in meant.out

    assert alambic("models", "reject", "fraud-auto/1", "-m", "overfits").code == 0
    silent = alambic("models", "approve", "fraud-auto/1")
    assert silent.code == 2 and _error_lines(silent) == [
        "error: fraud-auto/1 was rejected; approving it again needs a --comment saying why"
    ], silent.transcript
    said = alambic("models", "approve", "fraud-auto/1", "-m", "the overfit was a data bug")
    assert said.code == 0 and "fraud-auto/1 is now Approved" in said.out, said.transcript
    shown = json.loads(alambic("models", "show", "fraud-auto/1").out)
    assert shown["status_comment"] == "the overfit was a data bug"
    history = alambic("models", "history", "fraud-auto")
    assert '{"status": "Rejected", "deleted": false}' in history.out, history.transcript
    promoted = alambic("models", "promote", "fraud-auto/1", "--to", "production")
    assert promoted.code == 0, promoted.transcript


@pytest.mark.parametrize(
    "args",
    [
        ("show", "fraud-auto", "1"),
        ("approve", "fraud-auto", "1", "-m", "ok"),
        ("reject", "fraud-auto", "1"),
        ("promote", "fraud-auto", "1", "--to", "production"),
        ("delete", "fraud-auto", "1"),
        ("lineage", "fraud-auto", "1"),
        ("card", "fraud-auto", "1"),
    ],
    ids=lambda args: args[0],
)
def test_a_version_given_as_two_words_gets_one_line_saying_how(
    alambic: Alambic, args: tuple[str, ...]
) -> None:
    done = alambic("models", *args)
    assert done.code == 2 and _error_lines(done) == [
        "error: give the version as fraud-auto/1 (NAME/VERSION), not two words"
    ], done.transcript


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ("diff", "fraud-auto", "1", "2"),
            "error: give the versions as fraud-auto/1 fraud-auto/2 (NAME/VERSION each), "
            "not separate words",
        ),
        (
            ("show", "fraud-auto/1", "production"),
            "error: unexpected 'production' after 'fraud-auto/1': `alambic models show` takes "
            "one reference, NAME/VERSION or NAME@ALIAS (e.g. fraud-auto/1)",
        ),
    ],
    ids=["diff", "not-a-number"],
)
def test_other_extra_words_are_named_in_the_error(
    alambic: Alambic, args: tuple[str, ...], error: str
) -> None:
    done = alambic("models", *args)
    assert done.code == 2 and _error_lines(done) == [error], done.transcript


def test_the_help_of_reject_says_what_a_rejection_means(alambic: Alambic) -> None:
    shown = alambic("models", "reject", "--help")
    assert shown.code == 0, shown.transcript
    text = " ".join(shown.out.split())
    assert "it cannot hold production or staging unless it is approved again, with a comment" in (
        text
    )
    assert "never" not in text
