"""Parallel hyperparameter tuning: alambic's trials on 1 and 2 workers, side by side with Optuna.

The study: LightGBM (fixed number of trees, ``n_jobs=1``) tuned by seeded 3-fold
cross-validation for ROC AUC on the moto training rows of the seeded fraud data set,
points drawn by a seeded random sampler, no pruning, no refit; the workload is defined
once in ``peers/optuna_tuning.py`` and shared by both sides, and every configuration
evaluates the same points (checked). alambic runs it with ``n_jobs=1`` and ``n_jobs=2``
on the local executor (worker processes) and with ``n_jobs=2`` on Ray; Optuna runs
``study.optimize(n_jobs=1)`` and ``n_jobs=2`` (threads) in ``benchmarks/.venv-peers``
(``make bench-setup``). Each Optuna run comes right before the alambic run it is
compared with, so a neighbour's load shifts both alike. Prints wall times, the speed-up
of 2 workers over 1, and the Optuna/alambic ratios.

Warm-up, not counted: each alambic configuration gets a fresh ``ALAMBIC_HOME`` and first
runs an untimed study of ``n_jobs`` trials there, which starts its workers (or Ray and
its worker pool), imports LightGBM in them and loads the data into them; Optuna gets
one untimed trial (imports, first fit). Everything else is counted: alambic storing the
data for the study, its journal, a tracked run per trial, results through the store.

    .venv/bin/python benchmarks/tuning.py [--trials 100]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from typing import Any

from peers import run_peer
from peers.optuna_tuning import (
    CATEGORY,
    CV,
    ESTIMATOR,
    SEED,
    SPACE,
    TARGET,
    points_digest,
    training_rows,
)


def _study(data: Any, n_trials: int, n_jobs: int, executor: str) -> Any:
    import lightgbm

    import alambic as al

    return al.tune(
        lightgbm.LGBMClassifier(**ESTIMATOR),
        SPACE,
        data=data,
        target=TARGET,
        metric="roc_auc",
        cv=CV,
        n_trials=n_trials,
        n_jobs=n_jobs,
        executor=executor,
        sampler="random",
        random_state=SEED,
        refit=False,
    )


def measure_alambic(data: Any, n_trials: int, n_jobs: int, executor: str) -> dict[str, Any]:
    os.environ["ALAMBIC_HOME"] = tempfile.mkdtemp(prefix="alambic-bench-")
    started = time.perf_counter()
    _study(data, n_jobs, n_jobs, executor)  # warm-up: workers, imports, data in the workers
    warm_up = time.perf_counter() - started
    started = time.perf_counter()
    result = _study(data, n_trials, n_jobs, executor)
    wall = time.perf_counter() - started
    trials = result.trials
    points = [{name: row[f"params.{name}"] for name in SPACE} for _, row in trials.iterrows()]
    return {
        "wall_s": wall,
        "warm_up_s": warm_up,
        "complete": int((trials["state"] == "complete").sum()),
        "best": round(result.best_value, 6),
        "points": points_digest(points),
    }


def measure_ray(data: Any, n_trials: int) -> dict[str, Any] | str:
    """The Ray figures, or why Ray could not run here."""
    try:
        import ray
    except ImportError:
        return "Ray is not installed (pip install 'alambic[ray]')"
    try:
        return measure_alambic(data, n_trials, 2, "ray")
    except Exception as exc:  # an executor being written, a cluster that is not there…
        first = (str(exc).strip().splitlines() or [""])[0]
        return f"{type(exc).__name__}: {first[:200]}"
    finally:
        if ray.is_initialized():
            ray.shutdown()  # a local instance we started: its daemons use CPU


def measure_optuna(n_trials: int, n_jobs: int) -> dict[str, Any] | None:
    os.environ["BENCH_TUNING_TRIALS"] = str(n_trials)
    os.environ["BENCH_TUNING_JOBS"] = str(n_jobs)
    peer = run_peer("optuna_tuning.py")
    return None if peer is None else {**peer[f"jobs{n_jobs}"], "version": peer["version"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100, help="trials per study (100)")
    args = parser.parse_args()
    n = args.trials

    from alambic.executors import stop_idle_workers

    load_before = os.getloadavg()[0]
    data = training_rows()
    optuna1 = measure_optuna(n, 1)
    local1 = measure_alambic(data, n, 1, "local")
    optuna2 = measure_optuna(n, 2)
    local2 = measure_alambic(data, n, 2, "local")
    stop_idle_workers()  # idle workers: out of Ray's way
    ray = measure_ray(data, n)
    load_after = os.getloadavg()[0]

    trees = ESTIMATOR["n_estimators"]
    print(
        f"tuning: {n} trials, LightGBM ({trees} trees) {CV}-fold CV, roc_auc, random sampler, "
        f"on {len(data):,} {CATEGORY} training listings"
    )
    print(f"{'':26} {'wall':>9} {'per trial':>10} {'2 vs 1 worker':>14}")

    def row(label: str, wall: float, speed_up: float | None = None) -> None:
        gain = f"{speed_up:.2f}x" if speed_up is not None else ""
        print(f"{label:26} {wall:>7.1f} s {wall / n * 1e3:>7.0f} ms {gain:>14}")

    one = local1["wall_s"]
    row("alambic local, 1 worker", one)
    row("alambic local, 2 workers", local2["wall_s"], one / local2["wall_s"])
    if isinstance(ray, dict):
        row("alambic ray, 2 workers", ray["wall_s"], one / ray["wall_s"])
    else:
        print(f"ray: unavailable ({ray})")
    if optuna1 is not None and optuna2 is not None:
        row(f"optuna {optuna1['version']} n_jobs=1", optuna1["wall_s"])
        gain = optuna1["wall_s"] / optuna2["wall_s"]
        row(f"optuna {optuna1['version']} n_jobs=2", optuna2["wall_s"], gain)
    warm = f"warm-up (not counted): local {local2['warm_up_s']:.1f} s for 2 workers"
    if isinstance(ray, dict):
        warm += f", ray {ray['warm_up_s']:.1f} s (Ray start-up and its 2 workers)"
    print(warm)
    load = f"{load_before:.1f} before, {load_after:.1f} after"
    print(f"load average (1 min) on {os.cpu_count()} cores: {load}; other work skews the figures")
    if optuna1 is None or optuna2 is None:
        print("optuna not installed: run `make bench-setup` to compare")
        return

    ratios = [
        f"1 worker {optuna1['wall_s'] / one:.2f}x",
        f"2 workers {optuna2['wall_s'] / local2['wall_s']:.2f}x (local)",
    ]
    if isinstance(ray, dict):
        ratios.append(f"{optuna2['wall_s'] / ray['wall_s']:.2f}x (ray)")
    print("ratio optuna/alambic wall time: " + ", ".join(ratios))
    overhead = (one - optuna1["wall_s"]) / n * 1e3
    print(f"alambic's cost per trial over optuna's own loop, 1 worker: {overhead:.0f} ms")

    # The same study everywhere: the same points, the same best score.
    runs = [local1, local2, *([ray] if isinstance(ray, dict) else []), optuna1, optuna2]
    if len({r["points"] for r in runs}) != 1 or len({r["best"] for r in runs}) != 1:
        found = [(r["points"], r["best"], r["complete"]) for r in runs]
        raise SystemExit(f"the configurations evaluated different studies: {found}")
    if any(r["complete"] != n for r in runs):
        raise SystemExit(f"not every trial completed: {[r['complete'] for r in runs]}")
    print(f"same {n} points and best cv roc_auc {optuna1['best']:.4f} in every configuration")


if __name__ == "__main__":
    main()
