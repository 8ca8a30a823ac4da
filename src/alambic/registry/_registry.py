"""The model registry: versions, approval, aliases with promotion rules, the audit log.

Example:
    >>> import alambic as al
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.linear_model import LogisticRegression
    >>> x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    >>> model = al.models.package(LogisticRegression(max_iter=5000).fit(x, y), x, y)
    >>> v = al.register(model, name="fraud-auto", metrics={"roc_auc": 0.97})
    >>> v["ref"], v["status"]
    ('fraud-auto/1', 'PendingManualApproval')
    >>> _ = al.registry.approve("fraud-auto", v["version"], comment="checked")
    >>> al.registry.promote("fraud-auto", v["version"], to="production")  # the alias was free
    >>> al.load_model("fraud-auto@production").predict(x.head(3)).tolist()
    [0, 0, 0]
"""

from __future__ import annotations

import contextlib
import contextvars
import getpass
import logging
import math
import os
import re
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from alambic.core import suggest
from alambic.errors import ModelError, NotFoundError, RegistryError
from alambic.pipelines import step
from alambic.registry._events import deliver_quietly, has_hooks
from alambic.registry._store import (
    AuditRecord,
    Change,
    ModelGroupRecord,
    ModelVersionRecord,
    RegistryStore,
    registry_store,
)

log = logging.getLogger(__name__)

__all__ = [
    "APPROVED",
    "PENDING",
    "REJECTED",
    "approve",
    "current_actor",
    "delete_version",
    "get_version",
    "history",
    "list_models",
    "load_model",
    "parse_ref",
    "pointers",
    "promote",
    "register",
    "registry_store",
    "reject",
    "resolve",
    "set_alias",
    "set_policy",
]

T = TypeVar("T")
PENDING, APPROVED, REJECTED = "PendingManualApproval", "Approved", "Rejected"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
ALIAS = re.compile(r"^[a-z][a-z0-9_-]{0,49}$")
_POLICY_KEYS = {"approval", "auto_approve", "require_staging", "description"}
# The aliases the promotion rules name: always known, so that their typos are caught.
RULED = ("production", "staging")


_acting: contextvars.ContextVar[str | None] = contextvars.ContextVar("alambic_actor", default=None)


@contextlib.contextmanager
def acting_as(actor: str) -> Iterator[None]:
    """Within the block, changes are made (and audited) by ``actor``: a server acting for
    the holder of a token names it (``token:ci-bot``) rather than its own user."""
    reset = _acting.set(actor)
    try:
        yield
    finally:
        _acting.reset(reset)


def current_actor() -> str:
    """Who acts: the :func:`acting_as` block's actor, ``ALAMBIC_USER``, else the
    operating-system user."""
    acting = _acting.get()
    if acting:
        return acting
    user = os.environ.get("ALAMBIC_USER", "").strip()
    if user:
        return user
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name (some containers)
        return f"uid-{os.getuid()}"


def check_name(name: Any) -> str:
    """Refuse a group name that is not a safe identifier."""
    if not isinstance(name, str) or not NAME.match(name):
        raise RegistryError(
            f"model name {name!r} is not allowed: use letters, digits, '.', '_' and '-' "
            f"(1-100 characters, starting with a letter or digit; pattern {NAME.pattern})"
        )
    return name


def _check_alias(alias: Any) -> str:
    if not isinstance(alias, str) or not ALIAS.match(alias):
        raise RegistryError(
            f"alias {alias!r} is not allowed: use lower-case letters, digits, '_' and '-', "
            f"starting with a letter (pattern {ALIAS.pattern})"
        )
    return alias


def parse_ref(ref: str) -> tuple[str, int | None, str | None]:
    """``name/3`` → (name, 3, None); ``name@production`` → (name, None, "production")."""
    if "@" in ref:
        name, _, alias = ref.partition("@")
        return check_name(name), None, _check_alias(alias)
    name, slash, version = ref.partition("/")
    if slash and not version.isdigit():
        raise RegistryError(f"{ref!r}: write NAME/VERSION (a number) or NAME@ALIAS")
    return check_name(name), int(version) if slash else None, None


def resolve(ref: str) -> ModelVersionRecord:
    """The version a reference names: ``name/3``, ``name@alias`` or ``name`` (the latest)."""
    name, version, alias = parse_ref(ref)
    store = registry_store()
    if alias is not None:
        held = store.aliases(name).get(alias)
        if held is None:
            raise NotFoundError(
                f"no version of {name!r} holds the alias {alias!r}; "
                f"see `alambic models show {name}`"
            )
        version = held
    if version is None:
        versions = store.versions(name)
        if not versions:
            raise NotFoundError(f"model {name!r} has no version; see `alambic models list`")
        return versions[-1]
    return store.get_version(name, version)


def load_model(ref: str | os.PathLike[str], *, allow_pickle: bool = False) -> Any:
    """Load a model by registry reference (``name@production``, ``name/3``) or file path."""
    from alambic.config import settings
    from alambic.store import ArtifactRef, ArtifactStore, load_value

    if isinstance(ref, os.PathLike) or os.path.exists(ref):
        from alambic.models import load_model as load_file

        return load_file(os.fspath(ref), allow_pickle=allow_pickle)
    record = resolve(ref)
    store = ArtifactStore(settings().artifacts)
    return load_value(store, ArtifactRef.from_dict(record.model), allow_pickle=allow_pickle)


def _metrics(values: dict[str, Any] | None) -> dict[str, float]:
    out = {}
    for key, value in (values or {}).items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise RegistryError(f"metric {key!r} must be a number, got {value!r}") from None
        if math.isfinite(number):
            out[str(key)] = number
    return out


def _evaluation(evaluation: Any) -> dict[str, Any] | None:
    if evaluation is None:
        return None
    if isinstance(evaluation, dict):
        return evaluation
    as_dict = getattr(evaluation, "to_dict", None)  # an alambic Evaluation
    if callable(as_dict):
        result: dict[str, Any] = as_dict()
        return result
    raise RegistryError(
        f"evaluation must be an alambic Evaluation or a dict, not {type(evaluation).__name__}"
    )


def _decide(policy: dict[str, Any], values: dict[str, Any], rejected: list[int]) -> tuple[str, str]:
    """The status a new version gets under its group's policy.

    ``rejected`` lists the group's rejected versions that hold the same model: a model
    someone rejected is never approved by a rule, only by a person.
    """
    rules = policy.get("auto_approve") or {}
    if policy.get("approval", "manual") != "auto" or not rules:
        return PENDING, ""
    if rejected:
        return PENDING, (
            f"not auto-approved: the same model was rejected as version {rejected[0]}; "
            "approving it needs a person, with a comment"
        )
    metrics = values["metrics"]
    failed = []
    for name, bound in rules.items():
        value = metrics.get(name)
        low, high = bound.get("min"), bound.get("max")
        if (
            value is None
            or (low is not None and value < low)
            or (high is not None and value > high)
        ):
            failed.append(f"{name}={value} (needs {bound})")
    if failed:
        return PENDING, "auto-approval rule not met: " + "; ".join(failed)
    return APPROVED, "auto-approved: " + ", ".join(f"{n} {b}" for n, b in rules.items())


def _packaged(model: Any, X: Any, y: Any) -> Any:
    """The model as the registry keeps it: packaged, with the signature it was fitted on."""
    from alambic.models import Model, package

    if isinstance(model, Model):
        if X is not None or y is not None:
            raise ModelError(
                "this model is packaged already (its signature is set): drop X= and y=, "
                "or pass the bare estimator (model.estimator) with them"
            )
        return model
    if X is None:
        raise ModelError(
            f"register a packaged model (alambic.models.package(estimator, X, y)) or give "
            f"a sample of the input: al.register(estimator, name, X=sample, y=target); "
            f"not a bare {type(model).__name__}: the registry needs its signature"
        )
    return package(model, X, y)


# The step's identity in cache keys: the hash of its 0.1.0 source, kept while what it
# records stays the same, so that upgrading alambic re-registers nothing.
_REGISTER_IDENTITY = "5ea88af95ef3cb2fb73a656dd50068a78b1d10da7a584c30952e4c31406d8660"


@step(code_identity=_REGISTER_IDENTITY)
def register(
    model: Any,
    name: str,
    metrics: dict[str, Any] | None = None,
    *,
    evaluation: Any = None,
    tags: dict[str, Any] | None = None,
    description: str = "",
    X: Any = None,  # the name every scikit-learn user types
    y: Any = None,
    baseline: Any = None,
    calibration: Any = None,
) -> dict[str, Any]:
    """Add a new version of the model group ``name`` (created on first use).

    Usable as a pipeline step (inside ``al.when`` to register only models that pass) and
    from plain Python. Registering the very model the group's latest version holds
    returns that version instead of adding a duplicate (a ``baseline`` or
    ``calibration`` it lacks is added to it, audited).

    Args:
        model: a packaged model (:func:`alambic.models.package`), or a fitted estimator
            given with a sample of its input ``X`` (and its target ``y``), from which
            the signature is inferred, as MLflow infers one from an input example.
        name: the model group.
        metrics: numbers kept with the version (and checked by auto-approval rules).
        evaluation: an evaluation report or a dict of it.
        tags: free labels.
        description: free text.
        X: a sample of the model's input (a DataFrame), for a bare estimator.
        y: a sample of its target, giving the output's type and classes.
        baseline: the training data (a DataFrame or a Parquet/CSV path) or its profile
            (:func:`alambic.monitoring.baseline`), kept with the version as the
            reference monitoring compares served data with
            (``al.monitoring.baseline_of(ref)``).
        calibration: held-out data the model did not train on, with its outcome:
            ``(X_test, y_test)``. Its scores and labels (up to 100,000 rows) are kept with
            the version, to estimate performance before labels arrive
            (``al.monitoring.calibration_of(ref)``, a monitor's ``estimate`` check).

    Returns:
        ``{"name", "version", "ref", "status"}``.

    Raises:
        RegistryError: the name is unsafe or a metric is not a number.
        ModelError: a bare estimator without ``X``, or a packaged model with ``X``; a
            ``calibration`` for a model that gives no class probabilities.

    Example:
        >>> import pandas as pd
        >>> from sklearn.linear_model import LogisticRegression
        >>> X, y = pd.DataFrame({"price": [1.0, 9.0, 2.0, 8.0]}), pd.Series([0, 1, 0, 1])
        >>> version = register(LogisticRegression().fit(X, y), "fraud-auto", X=X, y=y)
        >>> version["ref"]
        'fraud-auto/1'
    """
    from alambic.config import settings
    from alambic.registry._lineage import collect_lineage
    from alambic.store import ArtifactStore, save_value

    check_name(name)
    model = _packaged(model, X, y)
    ref = save_value(ArtifactStore(settings().artifacts), model, what=f"model {name!r}")
    store = registry_store()
    latest = store.latest_version(name)
    if latest is not None and latest.model.get("hash") == ref.hash:
        kept = latest.lineage or {}
        extra = {}  # what the version was registered without, given now: added to it
        if baseline is not None and "baseline" not in kept:
            extra["baseline"] = _stored_baseline(baseline, model)
        if calibration is not None and "calibration" not in kept:
            extra["calibration"] = _stored_calibration(calibration, model)
        if extra:
            store.add_lineage(name, latest.version, extra, actor=current_actor())
        return {"name": name, "version": latest.version, "ref": latest.ref, "status": latest.status}
    lineage = collect_lineage(
        {"size_bytes": ref.meta.get("size_bytes", model.size_bytes), "flavor": model.flavor}
    )
    if baseline is not None:
        lineage["baseline"] = _stored_baseline(baseline, model)
    if calibration is not None:
        lineage["calibration"] = _stored_calibration(calibration, model)
    origin = (model.metadata or {}).get("origin")
    if isinstance(origin, dict):  # what made the model (an AutoML search): kept, shown in cards
        lineage["origin"] = origin
    values = {
        "model": ref.to_dict(),
        "signature": model.signature.to_dict() if model.signature is not None else None,
        "metrics": _metrics(metrics),
        "evaluation": _evaluation(evaluation),
        "tags": {str(k): str(v) for k, v in (tags or {}).items()},
        "description": description,
        "lineage": lineage,
    }
    change = store.register(
        name, actor=current_actor(), values=values, decide=_decide, listening=has_hooks()
    )
    record = _delivered(store, change)
    if record.status == APPROVED and store.get_group(name).policy.get("stage_on_approval"):
        comment = "staged on approval (group policy: approved by its rules)"
        set_alias(name, "staging", record.version, comment=comment)
    return {"name": name, "version": record.version, "ref": record.ref, "status": record.status}


def _stored_baseline(data: Any, model: Any) -> dict[str, Any]:
    """Profile the training data with the model's outputs on it (unless given a profile),
    and store its statistics.json."""
    import json

    from alambic.config import settings
    from alambic.data import Profile, profile
    from alambic.store import ArtifactStore

    if isinstance(data, Profile):
        found = data
    else:
        frame, outputs = _with_outputs(data, model)
        found = profile(frame, predictions=outputs)
    raw = json.dumps(found.statistics(), allow_nan=False).encode()
    key = ArtifactStore(settings().artifacts).put_bytes(raw)
    return {"key": key, "rows": found.rows, "columns": list(found.columns)}


CALIBRATION_ROWS = 100_000


def _stored_calibration(data: Any, model: Any) -> dict[str, Any]:
    """Score held-out ``(X, y)`` with the model and store the scores (``score``, or
    ``proba_0``…) and the labels (``label``: the class's index) as a Parquet artifact."""
    import io

    import numpy as np
    import pandas as pd

    from alambic.config import settings
    from alambic.store import ArtifactStore

    if not (isinstance(data, tuple) and len(data) == 2):
        raise ModelError("calibration= takes held-out data with its outcome: (X_test, y_test)")
    X, y = data
    signature, estimator = model.signature, model.estimator
    if signature is None or not signature.classes or not hasattr(estimator, "predict_proba"):
        raise ModelError(
            "calibration= is for classifiers that give class probabilities (predict_proba): "
            "leave it out for this model"
        )
    if len(X) > CALIBRATION_ROWS:  # a fixed sample, so re-registering stores the same rows
        keep = np.sort(np.random.default_rng(0).choice(len(X), CALIBRATION_ROWS, replace=False))
        X, y = X.iloc[keep], np.asarray(y)[keep]
    index = {label: i for i, label in enumerate(signature.classes)}
    labels = [index.get(value.item() if hasattr(value, "item") else value) for value in y]
    if None in labels:
        unknown = next(v for v, i in zip(y, labels, strict=True) if i is None)
        raise ModelError(
            f"calibration's y holds {unknown!r}, not one of the model's classes "
            f"{list(signature.classes)}"
        )
    inputs = [name for name, _ in signature.inputs]
    proba = np.asarray(estimator.predict_proba(X[inputs]), dtype=float)
    frame = (
        pd.DataFrame({"score": proba[:, 1]})
        if proba.shape[1] == 2
        else pd.DataFrame(proba, columns=[f"proba_{i}" for i in range(proba.shape[1])])
    )
    frame["label"] = labels
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    key = ArtifactStore(settings().artifacts).put_bytes(buffer.getvalue())
    return {"key": key, "rows": len(frame), "classes": [str(c) for c in signature.classes]}


def _with_outputs(data: Any, model: Any) -> tuple[Any, list[str]]:
    """A DataFrame of training data with the model's outputs, named as serving captures
    them (``prediction``; ``score`` or ``proba_0``, ``proba_1``…), so that monitoring
    sees prediction drift; the data alone when the model cannot score it."""
    import numpy as np

    signature, estimator = model.signature, model.estimator
    inputs = [name for name, _ in signature.inputs] if signature is not None else []
    if not hasattr(data, "columns") or not inputs or any(c not in data.columns for c in inputs):
        return data, []
    frame = data[inputs].copy()  # the model's inputs: a target column would be "missing"
    try:
        if signature.classes and hasattr(estimator, "predict_proba"):
            proba = np.asarray(estimator.predict_proba(data[inputs]))
            if proba.shape[1] == 2:
                frame["score"] = proba[:, 1]
            else:
                for i in range(proba.shape[1]):
                    frame[f"proba_{i}"] = proba[:, i]
            frame["prediction"] = [signature.classes[i] for i in proba.argmax(axis=1)]
        else:
            frame["prediction"] = np.asarray(estimator.predict(data[inputs]))
    except Exception:  # a model that cannot score its own sample: the features still profile
        log.warning("could not score the baseline with %s; its outputs are left out", model.flavor)
        return data[inputs], []
    return frame, [c for c in frame.columns if c not in inputs]


def pointers(groups: list[str]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """What references to these groups resolve to now, in one cheap read (for pollers).

    Returns:
        ``(group, alias, version)`` for each alias and ``(group, latest version)`` for each
        group with a live version: when the answer changes, some reference moved.

    Example:
        >>> pointers(["no-such-group"])
        ((), ())
    """
    return registry_store().pointers([check_name(group) for group in groups])


def get_version(name: str, version: int) -> ModelVersionRecord:
    """One version of a group."""
    return registry_store().get_version(check_name(name), version)


def list_models() -> list[dict[str, Any]]:
    """One summary per group: versions, statuses, aliases."""
    store = registry_store()
    rows = []
    for group in store.list_groups():
        versions = store.versions(group.name)
        counts: dict[str, int] = {}
        for v in versions:
            counts[v.status] = counts.get(v.status, 0) + 1
        rows.append(
            {
                "name": group.name,
                "versions": len(versions),
                "latest": versions[-1].version if versions else None,
                "aliases": store.aliases(group.name),
                "statuses": counts,
                "policy": group.policy,
            }
        )
    return rows


def _delivered(store: RegistryStore, change: Change[T]) -> T:
    """Deliver the events a change queued (a failure leaves them queued); its result."""
    deliver_quietly(store, change.queued)
    return change.value


def _set_status(
    name: str,
    version: int,
    status: str,
    comment: str,
    check: Callable[[ModelVersionRecord, list[str]], None],
) -> ModelVersionRecord:
    store = registry_store()
    change = store.set_status(
        check_name(name),
        version,
        status,
        actor=current_actor(),
        comment=comment,
        check=check,
        listening=has_hooks(),
    )
    return _delivered(store, change)


def _may_approve(comment: str) -> Callable[[ModelVersionRecord, list[str]], None]:
    def check(target: ModelVersionRecord, held: list[str]) -> None:
        if target.status == REJECTED and not comment.strip():
            raise RegistryError(
                f"{target.ref} was rejected; approving it again needs a --comment saying why"
            )

    return check


def _may_reject(target: ModelVersionRecord, held: list[str]) -> None:
    ruled = [alias for alias in held if alias in RULED]
    if ruled:
        aliases = " and ".join(f"'{alias}'" for alias in ruled)
        raise RegistryError(
            f"{target.ref} holds {aliases}, which a rejected version cannot hold: move "
            f"{'them' if len(ruled) > 1 else 'it'} to another version first "
            f"(alambic models promote {target.group}/VERSION --to {ruled[0]})"
        )


def approve(name: str, version: int, *, comment: str = "") -> ModelVersionRecord:
    """Approve a version (audited; emits ``version_approved``).

    A rejected version may be approved again, but only with a ``comment`` saying why
    (the audit log keeps the change from Rejected to Approved and the comment). When the
    group's policy says ``stage_on_approval``, the version also takes the ``staging``
    alias (deployments that follow staging pick it up).

    Raises:
        RegistryError: the version was rejected and ``comment`` is empty.
    """
    record = _set_status(name, version, APPROVED, comment, _may_approve(comment))
    if registry_store().get_group(name).policy.get("stage_on_approval"):
        set_alias(name, "staging", version, comment="staged on approval (group policy)")
    return record


def reject(name: str, version: int, *, comment: str = "") -> ModelVersionRecord:
    """Reject a version (audited): it cannot hold ``production`` or ``staging`` unless it
    is approved again, with a comment (:func:`approve`).

    Raises:
        RegistryError: the version holds ``production`` or ``staging``: move the alias to
            another version first.
    """
    return _set_status(name, version, REJECTED, comment, _may_reject)


def _rules(
    alias: str,
) -> Any:
    def check(
        group: ModelGroupRecord,
        target: ModelVersionRecord | None,
        history: Callable[[], list[AuditRecord]],
    ) -> None:
        if target is None or alias != "production":
            if target is not None and target.status == REJECTED and alias == "staging":
                raise RegistryError(
                    f"{target.ref} is Rejected: a rejected version cannot be staged; approve "
                    f"it again (alambic models approve {target.ref} --comment WHY) or register "
                    "a new version"
                )
            return
        if target.status != APPROVED:
            again = " --comment WHY" if target.status == REJECTED else ""
            raise RegistryError(
                f"{target.ref} is {target.status}: only an Approved version may hold "
                f"'production' (rule of {group.name}); approve it first: "
                f"alambic models approve {target.ref}{again}"
            )
        if group.policy.get("require_staging"):
            staged = any(
                a.action == "move-alias" and a.alias == "staging" and a.version == target.version
                for a in history()
            )
            if not staged:
                raise RegistryError(
                    f"{target.ref} never held 'staging', and {group.name}'s policy requires "
                    f"it before production: alambic models promote {target.ref} --to staging"
                )

    return check


def set_alias(name: str, alias: str, version: int | None, *, comment: str = "") -> int | None:
    """Point ``alias`` at a version (None removes it); returns the version it left."""
    store = registry_store()
    change = store.move_alias(
        check_name(name),
        _check_alias(alias),
        version,
        actor=current_actor(),
        check=_rules(alias),
        comment=comment,
        listening=has_hooks(),
    )
    return _delivered(store, change)


def _refuse_a_typo(name: str, alias: str) -> None:
    """Refuse a new alias that looks like a typo of one the group holds or a rule names."""
    held = registry_store().aliases(name)
    if alias in held or alias in RULED:
        return
    # Names that differ only in their digits (v1 and v2, canary-1 and canary-2) are
    # different names on purpose, not typos.
    letters = re.sub(r"\d", "", alias)
    known = [a for a in [*sorted(held), *RULED] if re.sub(r"\d", "", a) != letters]
    close = suggest(alias, known)
    if close is not None:
        raise RegistryError(
            f"{name} has no alias {alias!r}; did you mean {close!r}? "
            "(pass new_alias=True / --new-alias to create it)"
        )


def promote(
    name: str,
    version: int,
    *,
    to: str = "production",
    comment: str = "",
    new_alias: bool = False,
) -> int | None:
    """Move the alias ``to`` (``staging``, ``production``…) to a version, enforcing the
    group's rules; returns the version it left (None if it was new).

    A new alias (one the group does not hold yet) within two edits of one it holds, or
    of ``production`` or ``staging`` (:func:`alambic.core.suggest`), is taken for a typo
    and refused, unless ``new_alias`` says it is meant. Names that differ only in their
    digits (``v1``, ``v2``) are not typos of each other.

    Raises:
        RegistryError: the alias looks like a typo, or a promotion rule forbids the move.

    Example:
        >>> import alambic as al
        >>> import pandas as pd
        >>> from sklearn.linear_model import LogisticRegression
        >>> x, y = pd.DataFrame({"price": [0.0, 1.0]}), pd.Series([0, 1])
        >>> model = al.models.package(LogisticRegression().fit(x, y), x, y)
        >>> v = al.register(model, "fraud-auto")
        >>> try:
        ...     promote("fraud-auto", v["version"], to="prodution")
        ... except RegistryError as exc:
        ...     print(exc)  # doctest: +ELLIPSIS
        fraud-auto has no alias 'prodution'; did you mean 'production'? (pass new_alias=True ...)
    """
    check_name(name)
    _check_alias(to)
    registry_store().get_version(name, version)  # an unknown group or version first
    if not new_alias:
        _refuse_a_typo(name, to)
    return set_alias(name, to, version, comment=comment)


def set_policy(
    name: str,
    *,
    approval: str = "manual",
    auto_approve: dict[str, dict[str, float]] | None = None,
    require_staging: bool = False,
    stage_on_approval: bool = False,
    webhooks: list[dict[str, Any]] | None = None,
    allow_pickle: bool = False,
) -> None:
    """Configure a group: ``approval="auto"`` with ``auto_approve={"roc_auc": {"min": 0.9}}``
    approves versions whose metrics hold; ``require_staging`` makes staging a step before
    production; ``stage_on_approval`` moves ``staging`` to each version approved.
    ``webhooks=[{"url": "https://…", "secret": "…", "events": [...]}]``
    receive the group's events (``secret_env`` names an environment variable instead of
    storing the secret). ``allow_pickle`` lets servers load this group's pickled models
    (code runs on load: only for models you trust). Audited."""
    if approval not in ("manual", "auto"):
        raise RegistryError(f"approval={approval!r}: use 'manual' or 'auto'")
    if approval == "auto" and not auto_approve:
        raise RegistryError("approval='auto' needs auto_approve={'metric': {'min': value}}")
    for metric, bound in (auto_approve or {}).items():
        if not isinstance(bound, dict) or not set(bound) <= {"min", "max"} or not bound:
            raise RegistryError(
                f"auto_approve[{metric!r}] must be {{'min': x}} and/or {{'max': y}}"
            )
    for hook in webhooks or []:
        url = hook.get("url") if isinstance(hook, dict) else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise RegistryError(f"webhook {hook!r} needs an http(s) 'url'")
    policy = {
        "approval": approval,
        "auto_approve": auto_approve or {},
        "require_staging": require_staging,
        "stage_on_approval": stage_on_approval,
        "webhooks": list(webhooks or []),
        "allow_pickle": allow_pickle,
    }
    registry_store().set_policy(check_name(name), policy, actor=current_actor())


def delete_version(name: str, version: int, *, comment: str = "") -> None:
    """Soft-delete a version (it stays in the audit log; aliases must leave it first)."""
    store = registry_store()
    change = store.delete_version(
        check_name(name), version, actor=current_actor(), comment=comment, listening=has_hooks()
    )
    _delivered(store, change)


def history(name: str) -> list[AuditRecord]:
    """The audit log of a group, oldest first."""
    return registry_store().audit(check_name(name))
