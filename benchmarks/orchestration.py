"""Orchestration overhead of alambic's local executor, side by side with Prefect 3.

Prints, for a 200-step pipeline of trivial steps: total time, the steps' own time, and
the overhead per step = (total − own) / steps; then the time of a fully cached re-run
of a 20-step pipeline. The same flows run in Prefect 3 from `benchmarks/.venv-peers`
(`make bench-setup`) and the ratio is printed.

    make bench          # or: .venv/bin/python benchmarks/orchestration.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from peers import run_peer

HERE = Path(__file__).resolve().parent


def measure_alambic(n_steps: int = 200, n_cached: int = 20) -> dict[str, float]:
    os.environ["ALAMBIC_HOME"] = tempfile.mkdtemp(prefix="alambic-bench-")
    sys.path.insert(0, str(HERE))
    from flows import wide

    import alambic as al
    from alambic.executors import stop_idle_workers

    # Warm-up (imports, database creation), as for the peer; not counted.
    al.run(wide, params={"values": [-1, -2]})

    def timed(values: list[int]) -> tuple[float, float]:
        started = time.perf_counter()
        run = al.run(wide, params={"values": values})
        total = time.perf_counter() - started
        if not run.succeeded:
            raise SystemExit(f"benchmark run failed: {run.error}")
        return total, sum(s.duration or 0.0 for s in run.steps)

    # Cold: the run starts its worker processes itself (a CLI run, a fresh process).
    stop_idle_workers()
    cold_total, cold_own = timed([-x - 1000 for x in range(n_steps)])
    # Warm: workers left by the previous run are reused (a notebook, a service).
    total, own = timed(list(range(n_steps)))

    values = list(range(10_000, 10_000 + n_cached))
    al.run(wide, params={"values": values})
    started = time.perf_counter()
    cached = al.run(wide, params={"values": values})
    cached_s = time.perf_counter() - started
    if {s.status for s in cached.steps} != {"cached"}:
        raise SystemExit("the re-run was not fully cached")
    return {
        "total_s": total,
        "own_s": own,
        "overhead_per_step_ms": (total - own) / n_steps * 1e3,
        "cold_total_s": cold_total,
        "cold_overhead_per_step_ms": (cold_total - cold_own) / n_steps * 1e3,
        "cached_rerun_s": cached_s,
        "workers": al.config.settings().max_workers,
    }


def measure_prefect() -> dict[str, Any] | None:
    return run_peer("prefect_flow.py")


def main() -> None:
    ours = measure_alambic()
    print(
        f"alambic  200 trivial steps, cold workers: total {ours['cold_total_s']:.3f}s, "
        f"overhead {ours['cold_overhead_per_step_ms']:.2f} ms/step ({ours['workers']} workers)"
    )
    print(
        f"alambic  200 trivial steps, warm workers: total {ours['total_s']:.3f}s, "
        f"own {ours['own_s']:.4f}s, overhead {ours['overhead_per_step_ms']:.2f} ms/step"
    )
    print(f"alambic  cached re-run of 20 steps: {ours['cached_rerun_s']:.3f}s")
    peer = measure_prefect()
    if peer is None:
        print("prefect  not installed: run `make bench-setup` to compare")
        return
    print(
        f"prefect {peer['version']} 200 trivial tasks: total {peer['total_s']:.3f}s, "
        f"overhead {peer['overhead_per_step_ms']:.2f} ms/task"
    )
    print(f"prefect  cached re-run of 20 tasks: {peer['cached_rerun_s']:.3f}s")
    warm = peer["overhead_per_step_ms"] / ours["overhead_per_step_ms"]
    cold = peer["overhead_per_step_ms"] / ours["cold_overhead_per_step_ms"]
    cached = peer["cached_rerun_s"] / ours["cached_rerun_s"]
    print(
        f"ratio    overhead prefect/alambic = {warm:.1f}x warm, {cold:.1f}x cold; "
        f"cached re-run prefect/alambic = {cached:.1f}x"
    )


if __name__ == "__main__":
    main()
