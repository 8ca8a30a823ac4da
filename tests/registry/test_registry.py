"""The model registry: versions, approval, aliases and their rules, audit, concurrency."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from pathlib import Path

import pytest
from sklearn.tree import DecisionTreeClassifier

import alambic as al
from alambic import registry
from alambic.errors import ModelError, NotFoundError, RegistryError, StoreError
from alambic.models import load_model, save_model
from tests.registry import helpers
from tests.registry.helpers import FRAME, LABELS, model


def test_the_same_model_loaded_back_registers_as_the_same_version(tmp_path: Path) -> None:
    # Regression: a tree loaded back held garbage in its nodes' padding, so saving it again
    # gave other bytes, and registering it again made a new version.
    fitted = model(3)
    first = al.register(fitted, name="once")
    path = save_model(fitted, tmp_path / "model.zip")
    for _ in range(2):
        again = al.register(load_model(path), name="once")
        assert again["version"] == first["version"] == 1


def test_versions_are_numbered_and_hold_what_was_registered() -> None:
    first = al.register(model(1), name="fraud-auto", metrics={"roc_auc": 0.91}, tags={"t": 1})
    second = al.register(model(2), name="fraud-auto", metrics={"roc_auc": 0.93})
    assert (first["version"], second["version"]) == (1, 2)
    assert first["status"] == registry.PENDING
    record = registry.get_version("fraud-auto", 2)
    assert record.metrics == {"roc_auc": 0.93} and record.signature["task"] == "binary"
    assert record.lineage["packages"]["scikit-learn"] and record.lineage["size_bytes"] > 0
    assert registry.get_version("fraud-auto", 1).tags == {"t": "1"}
    # The same model again is the same version, not a duplicate.
    assert al.register(model(2), name="fraud-auto")["version"] == 2
    loaded = al.load_model("fraud-auto/1")
    assert loaded.metadata["depth"] == 1 and list(loaded.predict(FRAME)) == list(LABELS)
    assert al.load_model("fraud-auto").metadata["depth"] == 2  # latest


def test_approval_and_promotion_rules_are_enforced() -> None:
    al.register(model(1), name="m")
    with pytest.raises(RegistryError, match="PendingManualApproval: only an Approved version"):
        registry.promote("m", 1, to="production")
    registry.reject("m", 1, comment="leaks the label")
    with pytest.raises(RegistryError, match="Rejected: only an Approved version"):
        registry.promote("m", 1, to="production")
    assert registry.registry_store().aliases("m") == {}  # nothing changed
    al.register(model(2), name="m")
    approved = registry.approve("m", 2, comment="looks good")
    assert approved.status == registry.APPROVED and approved.status_comment == "looks good"
    assert registry.promote("m", 2, to="production") is None
    assert al.load_model("m@production").metadata["depth"] == 2
    assert registry.resolve("m@production").version == 2
    with pytest.raises(NotFoundError, match="holds the alias 'staging'"):
        registry.resolve("m@staging")


def test_a_group_may_require_staging_before_production() -> None:
    registry.set_policy("strict", require_staging=True)
    al.register(model(1), name="strict")
    registry.approve("strict", 1)
    with pytest.raises(RegistryError, match="never held 'staging'"):
        registry.promote("strict", 1, to="production")
    registry.promote("strict", 1, to="staging")
    registry.promote("strict", 1, to="production")
    assert registry.registry_store().aliases("strict") == {"staging": 1, "production": 1}


def test_a_group_may_stage_each_approved_version() -> None:
    registry.set_policy("staged", require_staging=True, stage_on_approval=True)
    al.register(model(1), name="staged")
    registry.approve("staged", 1)
    assert registry.registry_store().aliases("staged") == {"staging": 1}
    registry.promote("staged", 1, to="production")  # staging came first: allowed
    assert registry.resolve("staged@production").version == 1


def test_auto_approval_follows_the_metric_threshold() -> None:
    registry.set_policy("auto", approval="auto", auto_approve={"roc_auc": {"min": 0.9}})
    low = al.register(model(1), name="auto", metrics={"roc_auc": 0.85})
    high = al.register(model(2), name="auto", metrics={"roc_auc": 0.95})
    assert low["status"] == registry.PENDING and high["status"] == registry.APPROVED
    assert "roc_auc=0.85" in registry.get_version("auto", 1).status_comment
    with pytest.raises(RegistryError, match="needs auto_approve"):
        registry.set_policy("auto", approval="auto")


def test_a_version_approved_by_the_policy_is_staged_and_production_still_needs_a_person() -> None:
    registry.set_policy(
        "loop", approval="auto", auto_approve={"roc_auc": {"min": 0.9}},
        require_staging=True, stage_on_approval=True,
    )  # fmt: skip
    al.register(model(1), name="loop", metrics={"roc_auc": 0.85})  # pending: not staged
    assert registry.registry_store().aliases("loop") == {}
    al.register(model(2), name="loop", metrics={"roc_auc": 0.95})
    assert registry.registry_store().aliases("loop") == {"staging": 2}
    moved = [e for e in registry.history("loop") if e.alias == "staging"]
    assert "approved by its rules" in moved[0].comment
    with pytest.raises(NotFoundError):
        registry.resolve("loop@production")


def test_the_audit_log_answers_who_did_what_and_when(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALAMBIC_USER", "alice")
    al.register(model(1), name="g")
    registry.approve("g", 1)
    registry.promote("g", 1, to="production")
    monkeypatch.setenv("ALAMBIC_USER", "bob")
    al.register(model(2), name="g")
    registry.approve("g", 2, comment="better")
    registry.promote("g", 2, to="production", comment="rollout")
    registry.set_alias("g", "champion", 1)
    with pytest.raises(StoreError, match="holds alias"):
        registry.delete_version("g", 1)
    registry.set_alias("g", "champion", None)
    registry.delete_version("g", 1, comment="superseded")
    log = registry.history("g")
    actions = [(a.action, a.version, a.actor) for a in log]
    assert actions == [
        ("create-group", None, "alice"),
        ("register", 1, "alice"),
        ("approve", 1, "alice"),
        ("move-alias", 1, "alice"),
        ("register", 2, "bob"),
        ("approve", 2, "bob"),
        ("move-alias", 2, "bob"),
        ("move-alias", 1, "bob"),
        ("remove-alias", None, "bob"),
        ("delete", 1, "bob"),
    ]
    production = [a for a in log if a.alias == "production"]
    assert [(a.before, a.after) for a in production] == [
        ({"version": None}, {"version": 1}),
        ({"version": 1}, {"version": 2}),
    ]
    with pytest.raises(NotFoundError):
        registry.get_version("g", 1)  # soft-deleted: gone from reads, kept in the log
    assert [v.version for v in registry.registry_store().versions("g", deleted=True)] == [1, 2]
    public = [n for n in dir(registry.registry_store()) if "audit" in n and not n.startswith("_")]
    assert public == ["audit"]  # read-only: nothing edits or deletes an audit row


@pytest.mark.parametrize(
    "name",
    ["fraud auto", "../etc", "a/b", "", "-x", "é", "x" * 101],
    ids=["space", "dots", "slash", "empty", "dash-first", "accent", "too-long"],
)
def test_unsafe_names_are_refused_with_the_pattern(name: str) -> None:
    with pytest.raises(RegistryError, match=r"is not allowed: use letters.*pattern"):
        al.register(model(1), name=name)
    assert registry.list_models() == []


def test_a_bare_estimator_needs_a_sample_of_its_input() -> None:
    with pytest.raises(ModelError, match=r"register a packaged model .*X=sample"):
        al.register(DecisionTreeClassifier(), name="m")
    assert registry.list_models() == []


def test_a_bare_estimator_with_a_sample_is_packaged_in_the_same_call() -> None:
    fitted = DecisionTreeClassifier(max_depth=2, random_state=0).fit(FRAME, LABELS)
    version = al.register(fitted, "m", X=FRAME, y=LABELS)
    assert version["ref"] == "m/1"
    record = registry.get_version("m", 1)
    assert [name for name, _ in record.signature["inputs"]] == ["a", "b"]
    assert record.signature["task"] == "binary"  # y gave the output's type
    assert al.load_model("m/1").predict(FRAME).tolist() == fitted.predict(FRAME).tolist()
    # The same estimator and sample again: the same version, not a duplicate.
    assert al.register(fitted, "m", X=FRAME, y=LABELS)["version"] == 1


def test_a_packaged_model_given_a_sample_too_is_refused() -> None:
    with pytest.raises(ModelError, match=r"packaged already .*drop X= and y="):
        al.register(model(1), "m", X=FRAME)
    assert registry.list_models() == []


def test_registering_from_a_pipeline_records_its_lineage() -> None:
    from tests.registry import flows

    run = al.run(flows.registered, params={"threshold": 0.0})
    assert run.succeeded, run.error
    version = registry.get_version("flow-model", 1)
    lineage = version.lineage
    assert lineage["run"] == run.id and lineage["step"] == "register"
    assert lineage["params"] == {"threshold": 0.0}
    assert lineage["pipeline"] == "registered" and lineage["pipeline_hash"]
    skipped = al.run(flows.registered, params={"threshold": 2.0})
    assert skipped.step("register").status == "skipped"  # the gate said no


def _race(
    db_url: str, home: Path, tmp_path: Path, target: Callable[..., None], n: int
) -> list[str]:
    from alambic.store import dispose_engines

    # Forked, not spawned: 20 children share the imports already made (seconds each
    # otherwise). No connection may be inherited, so the parent drops its pools first.
    dispose_engines()
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(n)
    errors = [tmp_path / f"p{i}.err" for i in range(n)]
    processes = [
        context.Process(target=target, args=(str(home), db_url, i, barrier, str(errors[i])))
        for i in range(n)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=180)
        if process.is_alive():
            process.kill()
    return [e.read_text() for e in errors if e.exists()]


@pytest.mark.slow
def test_twenty_processes_register_and_promote_at_once(
    db_url: str, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALAMBIC_DB_URL", db_url)
    assert _race(db_url, home, tmp_path, helpers.register_one, 20) == []
    versions = registry.registry_store().versions("race")
    assert [v.version for v in versions] == list(range(1, 21))  # no gap, no duplicate
    assert len({v.model["hash"] for v in versions}) == 20  # none lost
    for v in versions:
        registry.approve("race", v.version)
    assert _race(db_url, home, tmp_path, helpers.promote_one, 20) == []
    holders = registry.registry_store().aliases("race")
    assert set(holders) == {"production"} and 1 <= holders["production"] <= 20
    moves = [a for a in registry.history("race") if a.alias == "production"]
    assert len(moves) == 20
    assert moves[-1].after == {"version": holders["production"]}  # the last move holds it
    chain = [m.before["version"] for m in moves[1:]]
    assert chain == [m.after["version"] for m in moves[:-1]]  # each move saw the one before


def test_a_model_card_tells_purpose_data_lineage_metrics_comparison_and_limits() -> None:
    from tests.registry import flows

    assert al.run(flows.registered).succeeded
    registry.approve("flow-model", 1)
    registry.promote("flow-model", 1, to="production")
    second = model(3)
    al.register(
        second,
        name="flow-model",
        metrics={"roc_auc": 0.97},
        evaluation={"ci": {"roc_auc": [0.95, 0.99]}},
        tags={"limits": "Not for motorbikes."},
        description="Flags fraudulent car listings.",
    )
    card = registry.model_card("flow-model/2")
    assert card.startswith("# Model card: flow-model/2")
    assert "Flags fraudulent car listings." in card and "Not for motorbikes." in card
    assert "| a | float64 |" in card  # the signature's inputs
    assert "| roc_auc | 0.97 | [0.95, 0.99] |" in card
    assert "## Compared with flow-model/1 (Approved)" in card
    assert "| roc_auc | 1 | 0.97 | -0.03 |" in card
    assert "Run run-" in registry.model_card("flow-model/1")  # registered by a pipeline
    page = registry.model_card("flow-model@production", fmt="html")
    assert page.startswith("<!doctype html>") and "<td>roc_auc</td>" in page
    with pytest.raises(RegistryError, match="use markdown or html"):
        registry.model_card("flow-model/1", fmt="pdf")


def test_lineage_records_the_git_commit_tag_and_dirty_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess

    from alambic.registry import _lineage

    monkeypatch.setattr(_lineage, "_CODE_TTL", 0.0)

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=tmp_path, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    git("init", "-q")
    git("config", "user.email", "t@example.com")
    git("config", "user.name", "t")
    (tmp_path / "train.py").write_text("x = 1\n")
    git("add", "train.py")
    git("commit", "-qm", "first")
    git("tag", "v1.0")
    commit = git("rev-parse", "HEAD")
    al.register(model(1), name="coded")
    code = registry.get_version("coded", 1).lineage["code"]
    assert code == {"commit": commit, "tag": "v1.0", "branch": code["branch"], "dirty": False}
    (tmp_path / "train.py").write_text("x = 2\n")
    al.register(model(2), name="coded")
    assert registry.get_version("coded", 2).lineage["code"]["dirty"] is True
