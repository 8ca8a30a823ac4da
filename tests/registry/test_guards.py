"""The registry's guards against easy mistakes: a typo in an alias creating a new one, a
rejected version approved again without a reason, a rule approving a rejected model."""

from __future__ import annotations

import pytest

import alambic as al
from alambic import registry
from alambic.errors import RegistryError
from tests.registry.helpers import model


def _snapshot(name: str) -> tuple[object, ...]:
    """What a refused change must leave as it was: aliases, statuses, audit log, events."""
    store = registry.registry_store()
    return (
        store.aliases(name),
        [(v.version, v.status, v.status_comment) for v in store.versions(name, deleted=True)],
        [(a.action, a.version, a.alias, a.comment) for a in registry.history(name)],
        [e.id for e in store.events(name)],
    )


def _two_approved(name: str) -> None:
    for depth in (1, 2):
        al.register(model(depth), name=name)
        registry.approve(name, depth, comment="reviewed")


@pytest.mark.parametrize(
    ("alias", "meant"),
    [
        ("prodution", "production"),
        ("prdouction", "production"),
        ("productions", "production"),
        ("stagign", "staging"),
        ("champoin", "champion"),
        ("champio", "champion"),
    ],
    ids=["deletion", "swap", "insertion", "ruled-alias-not-held", "held-alias", "held-alias-cut"],
)
def test_a_new_alias_a_typo_away_from_a_known_one_is_refused(alias: str, meant: str) -> None:
    _two_approved("m")
    registry.promote("m", 1, to="production")
    registry.promote("m", 1, to="champion")
    before = _snapshot("m")
    with pytest.raises(RegistryError) as refused:
        registry.promote("m", 2, to=alias)
    assert str(refused.value) == (
        f"m has no alias {alias!r}; did you mean {meant!r}? "
        "(pass new_alias=True / --new-alias to create it)"
    )
    assert _snapshot("m") == before  # no alias, no audit row, no event


def test_known_aliases_and_names_far_from_any_move_as_before() -> None:
    _two_approved("m")
    assert registry.promote("m", 1, to="production") is None  # a ruled name, new
    assert registry.promote("m", 2, to="staging") is None
    assert registry.promote("m", 2, to="production") == 1  # held: an exact match
    assert registry.promote("m", 1, to="canary") is None  # far from every known alias
    assert registry.promote("m", 1, to="v1") is None
    assert registry.promote("m", 2, to="v2") is None  # differs from v1 only in a digit
    assert registry.registry_store().aliases("m") == {
        "production": 2,
        "staging": 2,
        "canary": 1,
        "v1": 1,
        "v2": 2,
    }


def test_new_alias_creates_an_alias_close_to_a_known_one() -> None:
    _two_approved("m")
    registry.promote("m", 1, to="production")
    assert registry.promote("m", 2, to="productions", new_alias=True) is None
    assert registry.promote("m", 1, to="productions") == 2  # held now: no flag needed
    assert registry.registry_store().aliases("m") == {"production": 1, "productions": 1}
    moves = [(a.alias, a.version) for a in registry.history("m") if a.action == "move-alias"]
    assert moves == [("production", 1), ("productions", 2), ("productions", 1)]
    with pytest.raises(RegistryError, match="is not allowed"):  # the name rule still holds
        registry.promote("m", 1, to="Prod uction", new_alias=True)


def test_a_rejected_version_is_approved_again_only_with_a_reason() -> None:
    al.register(model(1), name="m")
    registry.reject("m", 1, comment="leaks the label")
    with pytest.raises(RegistryError) as refused:
        registry.promote("m", 1, to="production")
    assert str(refused.value).endswith("approve it first: alambic models approve m/1 --comment WHY")
    before = _snapshot("m")
    for blank in ("", "   "):
        with pytest.raises(RegistryError) as refused:
            registry.approve("m", 1, comment=blank)
        assert str(refused.value) == (
            "m/1 was rejected; approving it again needs a --comment saying why"
        )
    assert _snapshot("m") == before  # still Rejected; no audit row, no event
    again = registry.approve("m", 1, comment="the leak was in the test set, not the model")
    assert again.status == registry.APPROVED
    last = registry.history("m")[-1]
    assert (last.action, last.version, last.comment) == (
        "approve",
        1,
        "the leak was in the test set, not the model",
    )
    assert (last.before, last.after) == (
        {"status": "Rejected", "deleted": False},
        {"status": "Approved", "deleted": False},
    )
    assert registry.promote("m", 1, to="production") is None  # approved again: it may


def test_a_version_holding_production_or_staging_cannot_be_rejected() -> None:
    _two_approved("m")
    for alias in ("staging", "production", "champion"):
        registry.promote("m", 1, to=alias)
    before = _snapshot("m")
    with pytest.raises(RegistryError) as refused:
        registry.reject("m", 1, comment="drifted")
    assert str(refused.value) == (
        "m/1 holds 'production' and 'staging', which a rejected version cannot hold: move "
        "them to another version first (alambic models promote m/VERSION --to production)"
    )
    assert _snapshot("m") == before
    registry.promote("m", 2, to="production")
    with pytest.raises(RegistryError, match=r"holds 'staging', which .* move it to"):
        registry.reject("m", 1)
    registry.promote("m", 2, to="staging")
    assert registry.reject("m", 1, comment="drifted").status == registry.REJECTED
    # champion has no rule: it stays, as the alias rules do not name it.
    assert registry.registry_store().aliases("m") == {
        "champion": 1,
        "production": 2,
        "staging": 2,
    }


def test_auto_approval_never_approves_a_model_that_was_rejected() -> None:
    registry.set_policy("auto", approval="auto", auto_approve={"roc_auc": {"min": 0.9}})
    first = al.register(model(1), name="auto", metrics={"roc_auc": 0.95})
    assert first["status"] == registry.APPROVED
    registry.reject("auto", 1, comment="leaks the label")
    again = al.register(model(1), name="auto", metrics={"roc_auc": 0.95})
    assert (again["version"], again["status"]) == (1, registry.REJECTED)  # the same version
    registry.delete_version("auto", 1)
    assert al.register(model(2), name="auto", metrics={"roc_auc": 0.95})["status"] == "Approved"
    back = al.register(model(1), name="auto", metrics={"roc_auc": 0.95})
    assert (back["version"], back["status"]) == (3, registry.PENDING)
    assert registry.get_version("auto", 3).status_comment == (
        "not auto-approved: the same model was rejected as version 1; approving it needs a "
        "person, with a comment"
    )
