"""`alambic models …` as a user runs them, on versions a pipeline registered."""

from __future__ import annotations

import json

from tests.cli.helpers import Alambic, Write

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
