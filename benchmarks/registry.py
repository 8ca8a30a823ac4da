"""Model registry: 50 versions and an alias moved across them, alambic against MLflow.

The workload is defined once in ``peers/mlflow_registry.py`` and shared by both sides:
50 tiny scikit-learn logistic regressions fitted (untimed) on the same seeded 200 rows,
each with its own C so every version holds different model bytes, registered one after
the other as versions of one model, the alias ``champion`` moved to each new version as
it arrives. MLflow (SQLite tracking and registry store, artifacts in a temp dir) runs in
``benchmarks/.venv-peers`` (``make bench-setup``); alambic in a fresh ``ALAMBIC_HOME``
with its default SQLite store. What each timed figure includes:

- register, alambic: ``package(estimator, X, y)`` (signature inference, serialization)
  and ``al.register(model, name, metrics=...)`` (serialization into the artifact store,
  lineage: git commit and package versions, the version row, its audit and event rows).
  MLflow: ``start_run``, ``log_metric``, ``infer_signature``, ``mlflow.sklearn.log_model``
  (serialization, MLmodel and environment files, artifact writes; requirements pinned,
  its inference is timed apart), ``end_run``, ``mlflow.register_model``.
- alias move: ``set_alias(name, "champion", v)`` (promotion rules checked, audited);
  MLflow ``set_registered_model_alias``.
- registry only: alambic as above but packaged beforehand, so one serialization and the
  artifact write are still counted; MLflow ``create_model_version`` on the artifacts
  logged by its first pass (no run, no serialization) and the alias move: MLflow's
  registry rows alone against more work on alambic's side.
- approve + promote (alambic only, MLflow has no approval gate): ``approve`` and
  ``promote(..., to="production")`` for each of the 50 versions.

Each side gets one untimed warm-up registration and alias move first (database creation,
migrations, lazy imports). Prints wall times, per-version figures and MLflow/alambic
ratios.

    .venv/bin/python benchmarks/registry.py
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any

from peers import run_peer
from peers.mlflow_registry import ALIAS, N_VERSIONS, NAME, estimators, score, training_rows


def measure_alambic() -> dict[str, float]:
    os.environ["ALAMBIC_HOME"] = tempfile.mkdtemp(prefix="alambic-bench-")
    import alambic as al
    from alambic import registry
    from alambic.models import package

    features, target = training_rows()
    models = estimators(features, target, N_VERSIONS + 1)  # the last one: warm-up
    scores = [score(m, features, target) for m in models]
    timings = {"package": 0.0, "register": 0.0, "alias": 0.0}

    def one(i: int, name: str, packaged: Any = None) -> int:
        started = time.perf_counter()
        model = packaged if packaged is not None else package(models[i], features, target)
        timings["package"] += time.perf_counter() - started
        version: int = al.register(model, name, metrics={"accuracy": scores[i]})["version"]
        moved = time.perf_counter()
        registry.set_alias(name, ALIAS, version)
        timings["register"] += moved - started
        timings["alias"] += time.perf_counter() - moved
        return version

    def check(name: str) -> None:
        held = registry.resolve(f"{name}@{ALIAS}").version
        count = len(registry.registry_store().versions(name))
        if (held, count) != (N_VERSIONS, N_VERSIONS):
            raise SystemExit(f"{ALIAS} of {name} is on version {held} of {count}")

    one(N_VERSIONS, "warm-up")
    timings.update(package=0.0, register=0.0, alias=0.0)
    started = time.perf_counter()
    for i in range(N_VERSIONS):
        one(i, NAME)
    full = time.perf_counter() - started
    check(NAME)
    per = {k: v / N_VERSIONS * 1e3 for k, v in timings.items()}

    bare_name = f"{NAME}-bare"
    packaged = [package(m, features, target) for m in models[:N_VERSIONS]]
    timings.update(register=0.0, alias=0.0)
    started = time.perf_counter()
    for i in range(N_VERSIONS):
        one(i, bare_name, packaged[i])
    bare = time.perf_counter() - started
    check(bare_name)

    started = time.perf_counter()
    for version in range(1, N_VERSIONS + 1):
        registry.approve(NAME, version)
        registry.promote(NAME, version, to="production")
    promote = time.perf_counter() - started
    if registry.resolve(f"{NAME}@production").version != N_VERSIONS:
        raise SystemExit("production is not on the last version")

    return {
        "full_s": full,
        "register_ms": per["register"],
        "package_ms": per["package"],
        "alias_ms": per["alias"],
        "bare_s": bare,
        "bare_register_ms": timings["register"] / N_VERSIONS * 1e3,
        "bare_alias_ms": timings["alias"] / N_VERSIONS * 1e3,
        "promote_s": promote,
    }


def main() -> None:
    load_before = os.getloadavg()[0]
    peer = run_peer("mlflow_registry.py")
    ours = measure_alambic()
    load_after = os.getloadavg()[0]

    n = N_VERSIONS
    mlflow = f"mlflow {peer['version']}" if peer else "mlflow"
    print(f"registry: {n} versions of one tiny scikit-learn model, alias '{ALIAS}' moved to each")
    print(f"{'':40} {'alambic':>10} {mlflow:>14} {'ratio':>8}")

    def row(label: str, key: str, unit: str) -> None:
        digits = 1 if unit == "ms" else 2
        theirs = f"{peer[key]:.{digits}f} {unit}" if peer else "—"
        ratio = f"{peer[key] / ours[key]:.1f}x" if peer else "—"
        print(f"{label:40} {ours[key]:>7.{digits}f} {unit:2} {theirs:>14} {ratio:>8}")

    row(f"{n} registrations + alias moves, wall", "full_s", "s")
    row("  register, per version", "register_ms", "ms")
    row("  alias move, per version", "alias_ms", "ms")
    row(f"registry only: {n} versions + moves, wall", "bare_s", "s")
    row("  register, per version", "bare_register_ms", "ms")
    row("  alias move, per version", "bare_alias_ms", "ms")
    breakdown = f"alambic package {ours['package_ms']:.1f} ms + al.register"
    breakdown += f" {ours['register_ms'] - ours['package_ms']:.1f} ms"
    if peer is not None:
        breakdown += f"; mlflow run + log_model {peer['log_ms']:.1f} ms + register_model"
        breakdown += f" {peer['register_ms'] - peer['log_ms']:.1f} ms"
    print(f"register per version: {breakdown}")
    promote = ours["promote_s"]
    print(
        f"alambic approve + promote to production, {n} versions: {promote:.2f} s "
        f"({promote / n * 1e3:.1f} ms per version)"
    )
    if peer is None:
        print("mlflow not installed: run `make bench-setup` to compare")
    else:
        infer = peer["infer_requirements_s"]
        print(f"mlflow log_model with its default requirement inference: {infer:.1f} s per model")
    load = f"{load_before:.1f} before, {load_after:.1f} after"
    print(f"load average (1 min) on {os.cpu_count()} cores: {load}; other work skews the figures")


if __name__ == "__main__":
    main()
