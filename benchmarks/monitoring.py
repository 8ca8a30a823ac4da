"""Data drift: ``alambic.monitoring.drift`` against Evidently's ``DataDriftPreset``.

The data: 25 columns, made here from a fixed seed by a process of its own and written
as Parquet (files of at most 250,000 rows, at least 4 files a side, row groups of
65,536 rows; categories as plain strings, as a capture writes them), so that both tools
start from the same files. 17 numeric columns: normal (one with 1% missing), lognormal,
gamma, exponential, uniform, beta, Student's t, and integers with more than 10 distinct
values (Evidently takes an integer column with 10 or fewer as a category; alambic
always as a number); 8 categorical columns of 2 to 50 levels. 5 columns drift in the
current data: ``num_00`` (normal, mean +0.5 sd), ``num_03`` (lognormal, mu +0.15),
``num_05`` (gamma, shape 2 to 2.6), ``cat_01`` (3 levels, shares reversed) and
``cat_03`` (8 levels, first and last swapped): a normed Wasserstein or Jensen-Shannon
distance of 0.25 or more, where the 20 others stay below 0.02 at 100,000 rows (exact).
Each side is drawn from its own seeds (``numpy.random.SeedSequence([42, side, file])``),
so the same size always gives the same files.

Each measurement runs in a fresh process, so its peak memory is its own: ``VmHWM`` from
``/proc/self/status`` (the process's peak RSS) at its end, plus the sum of the peaks of
the executor's worker processes it started (alambic profiles large folders file by file
on them; they stay up, idle, until it ends), shown apart in the ``workers`` column: peaks
that need not have come at once, and shared libraries counted in each, so an upper
bound. Its imports are timed apart
(printed, not in the wall time); the wall time is reading, the drift report over every
column with the data set's verdict, and the HTML file written:

- alambic, Parquet: ``drift(reference_dir, current_dir)``: both folders profiled in
  streaming Arrow batches (DataSketches KLL, HLL, frequent items), the tests read the
  sketches.
- alambic, pandas (up to 1,000,000 rows): ``pandas.read_parquet`` of both folders, then
  ``drift(ref_frame, cur_frame)``: scipy's exact tests on the raw values.
- Evidently (up to 1,000,000 rows; ``peers/evidently_drift.py`` in
  ``benchmarks/.venv-evidently``, made by ``make bench-setup``; Evidently does not import
  with pandas 3, so that venv has pandas 2, where strings are Python objects):
  ``pandas.read_parquet`` of both folders, ``Report([DataDriftPreset()]).run(...)`` with
  its defaults, ``save_html``.

The HTML file is ``DriftReport.to_html()``'s when this alambic has it, else none (said
so). Both tools pick a column's test the same way (more than 1,000 reference values:
Wasserstein distance in reference standard deviations for numbers, Jensen-Shannon
distance for categories, drift at 0.1): the script checks that they chose the same test
per column, and prints the largest difference between their statistics.

Sizes (``--sizes``, rows a side; default 100,000, 1,000,000, 10,000,000 and 100,000,000):
up to 1,000,000 both sides have that many rows and all three run; beyond, the current
side (captured rows) has that many and the reference stays at 1,000,000 rows (a
training set), alambic from Parquet alone. Data is written to a temp folder and removed
at the end (each size's current side as soon as it is measured); a size whose files
would not fit the free disk (in bytes a row measured on the first size) is skipped,
saying why. ``--quick``: 100,000 rows only (under a minute).

How long, seen on 2 shared cores: the default sizes take about 20 minutes, most of it
on 100,000,000 rows (14 GB of Parquet, about 145 bytes a row, written in about 5 minutes,
then alambic's run: 9 minutes, 10 times the 10,000,000-row line); Evidently's run at
1,000,000 rows takes about 3 minutes; ``--sizes 100000 1000000`` about 4 minutes.

Aims: at 1,000,000 rows, alambic from Parquet at least 20 times faster than Evidently
with at most a quarter of its peak memory; the same drifted columns flagged by both at
every compared size; alambic's peak memory under 1 GB at 100,000,000 rows.

    .venv/bin/python benchmarks/monitoring.py [--quick] [--sizes 100000 1000000 ...]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from peers import PEERS

HERE = Path(__file__).resolve()
EVIDENTLY_PYTHON = PEERS.parent / ".venv-evidently" / "bin" / "python"
SEED = 42
SIDES = ("reference", "current")
FILE_ROWS = 250_000
ROW_GROUP = 65_536
COMPARED = 1_000_000  # sizes up to which Evidently and alambic's pandas mode run
REFERENCE_CAP = 1_000_000  # beyond COMPARED, the reference keeps this many rows
SIZES = [100_000, 1_000_000, 10_000_000, 100_000_000]
BYTES_PER_ROW = 200  # a guess until the first size's files are measured
SPARE_BYTES = 2 << 30  # disk left free
TIMEOUT_S = 6 * 3600

# (name, numpy Generator method, reference arguments, current arguments if it drifts)
NUMERIC: tuple[tuple[str, str, tuple[float, ...], tuple[float, ...] | None], ...] = (
    ("num_00", "normal", (0.0, 1.0), (0.5, 1.0)),
    ("num_01", "normal", (100.0, 15.0), None),
    ("num_02", "normal", (-3.0, 0.2), None),
    ("num_03", "lognormal", (0.0, 0.5), (0.15, 0.5)),
    ("num_04", "lognormal", (2.0, 1.0), None),
    ("num_05", "gamma", (2.0, 1.0), (2.6, 1.0)),
    ("num_06", "gamma", (0.5, 3.0), None),
    ("num_07", "exponential", (1.0,), None),
    ("num_08", "uniform", (0.0, 1.0), None),
    ("num_09", "uniform", (-50.0, 50.0), None),
    ("num_10", "normal", (10.0, 2.0), None),
    ("num_11", "beta", (2.0, 5.0), None),
    ("num_12", "standard_t", (5.0,), None),
    ("num_13", "poisson", (1000.0,), None),
    ("num_14", "integers", (0, 1_000_000), None),
    ("num_15", "integers", (18, 91), None),
    ("num_16", "poisson", (30.0,), None),
)
MISSING = {"num_10": 0.01}  # share of missing values


def _zipf(levels: int, a: float) -> tuple[float, ...]:
    weights = [1 / (j + 1) ** a for j in range(levels)]
    return tuple(w / sum(weights) for w in weights)


def _swapped(shares: tuple[float, ...]) -> tuple[float, ...]:
    return (shares[-1], *shares[1:-1], shares[0])


# (name, reference shares of its levels, current shares if it drifts)
CATEGORICAL: tuple[tuple[str, tuple[float, ...], tuple[float, ...] | None], ...] = (
    ("cat_00", (0.7, 0.3), None),
    ("cat_01", (0.5, 0.3, 0.2), (0.2, 0.3, 0.5)),
    ("cat_02", _zipf(5, 0.0), None),
    ("cat_03", _zipf(8, 1.0), _swapped(_zipf(8, 1.0))),
    ("cat_04", _zipf(12, 0.5), None),
    ("cat_05", _zipf(20, 1.0), None),
    ("cat_06", _zipf(30, 0.7), None),
    ("cat_07", _zipf(50, 1.1), None),
)
EXPECTED = [n for n, *_, cur in NUMERIC if cur] + [n for n, _, cur in CATEGORICAL if cur]
# alambic's method names -> Evidently's
METHOD_NAMES = {
    "wasserstein": "Wasserstein distance (normed)",
    "jensenshannon": "Jensen-Shannon distance",
    "ks": "K-S p_value",
    "chisquare": "chi-square p_value",
    "z": "Z-test p_value",
}


# -- the data (a process of its own) --------------------------------------------------
def _table(side: str, rows: int, seed: Any) -> Any:
    """One file's rows of ``side``: every column drawn from ``seed``."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    arrays = {}
    for name, method, ref_args, cur_args in NUMERIC:
        args = cur_args if side == "current" and cur_args else ref_args
        values = getattr(rng, method)(*args, size=rows)
        if name in MISSING:
            values[rng.random(rows) < MISSING[name]] = np.nan
        arrays[name] = pa.array(values)
    for name, ref_shares, cur_shares in CATEGORICAL:
        shares = np.array(cur_shares if side == "current" and cur_shares else ref_shares)
        codes = rng.choice(len(shares), size=rows, p=shares / shares.sum()).astype(np.int32)
        levels = pa.array([f"v{j:02d}" for j in range(len(shares))])
        arrays[name] = pa.DictionaryArray.from_arrays(codes, levels).cast(pa.string())
    return pa.table(arrays)


def _generate(folder: Path, side: str, rows: int) -> None:
    """``rows`` rows of ``side`` in ``folder``, a file at a time (memory stays bounded)."""
    import numpy as np
    import pyarrow.parquet as pq

    files = max(4, math.ceil(rows / FILE_ROWS))
    per_file = math.ceil(rows / files)
    partial = folder.with_name(folder.name + ".partial")
    partial.mkdir(parents=True)
    for i in range(files):
        n = min(per_file, rows - i * per_file)
        if n <= 0:
            break
        seed = np.random.SeedSequence([SEED, SIDES.index(side), i])
        pq.write_table(_table(side, n, seed), partial / f"part-{i:05d}.parquet", ROW_GROUP)
    partial.rename(folder)


# -- alambic's side (a process of its own) --------------------------------------------
def peak_mb() -> float:
    """This process's peak resident memory (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return math.nan


def workers_peak_mb() -> float:
    """The summed peak resident memory (VmHWM) of this process's live children, in MB:
    the executor's worker processes, which stay up (idle) until this process ends."""
    total = 0.0
    me = str(os.getpid())
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            if stat.rpartition(")")[2].split()[1] != me:
                continue
            status = Path(f"/proc/{entry}/status").read_text()
        except (OSError, IndexError):
            continue  # gone meanwhile
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1]) / 1024
    return total


def _alambic(mode: str, reference: str, current: str, html: str) -> dict[str, Any]:
    """One drift report, from the Parquet folders (``parquet``) or DataFrames (``pandas``)."""
    began = time.perf_counter()
    import alambic
    from alambic.monitoring import drift

    if mode == "pandas":
        import pandas as pd
    imported = time.perf_counter()
    ref, cur = reference, current
    if mode == "pandas":
        ref, cur = pd.read_parquet(reference), pd.read_parquet(current)
    read = time.perf_counter()
    report = drift(ref, cur)
    ran = time.perf_counter()
    html_bytes = None
    if hasattr(report, "to_html"):
        Path(html).write_text(report.to_html())
        html_bytes = os.path.getsize(html)
    done = time.perf_counter()
    return {
        "tool": "alambic",
        "version": alambic.__version__,
        "import_s": imported - began,
        "read_s": read - imported,
        "report_s": ran - read,
        "html_s": done - ran if html_bytes is not None else None,
        "wall_s": done - imported,
        "main_mb": (main := peak_mb()),
        "workers_mb": (workers := workers_peak_mb()),
        "peak_mb": main + workers,  # the main process and its executor's workers
        "html_bytes": html_bytes,
        "drifted": report.drifted,
        "share": report.share,
        "dataset_drift": report.dataset_drift,
        "tests": {
            c.column: {"method": c.method, "score": _score(c), "drifted": c.drifted}
            for c in report.columns
        },
    }


def _score(column: Any) -> float | None:
    """What Evidently reports as a column's drift score: a test's p-value, or a distance."""
    return column.p_value if column.p_value is not None else column.statistic


# -- the runs ---------------------------------------------------------------------------
def _child(argv: list[str]) -> dict[str, Any]:
    """Run one measurement process; its last stdout line is JSON (else the error)."""
    env = {**os.environ, "DO_NOT_TRACK": "1", "EVIDENTLY_DISABLE_TELEMETRY": "1"}
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {TIMEOUT_S} s"}
    if out.returncode != 0 or not out.stdout.strip():
        return {"error": f"exit {out.returncode}: {out.stderr.strip()[-600:]}"}
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _data(folder: Path, side: str, rows: int) -> Path:
    """The folder of ``rows`` rows of ``side`` (written by a process of its own)."""
    path = folder / f"{side}-{rows}"
    if not path.exists():
        _progress(f"writing {rows:,} {side} rows")
        subprocess.run(
            [sys.executable, str(HERE), "_generate", str(path), side, str(rows)], check=True
        )
    return path


def _size_of(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _no_room(folder: Path, sizes: tuple[int, int], bytes_per_row: float) -> str | None:
    """Why the files of ``sizes`` (reference, current rows) would not fit, or None."""
    todo = [
        n for side, n in zip(SIDES, sizes, strict=True) if not (folder / f"{side}-{n}").exists()
    ]
    need = sum(todo) * bytes_per_row * 1.1 + SPARE_BYTES
    free = shutil.disk_usage(folder).free
    if need <= free:
        return None
    return f"needs about {need / 2**30:.1f} GiB of disk, {free / 2**30:.1f} GiB free"


def _measure(folder: Path, rows: int) -> dict[str, Any]:
    """Every run on one size: alambic from Parquet, and up to COMPARED the other two."""
    ref_rows = rows if rows <= COMPARED else REFERENCE_CAP
    ref, cur = _data(folder, "reference", ref_rows), _data(folder, "current", rows)
    out = folder / "html"
    out.mkdir(exist_ok=True)
    runs: dict[str, Any] = {}
    plan = [("alambic", "parquet")]
    if rows <= COMPARED:
        plan += [("alambic", "pandas"), ("evidently", "pandas")]
    for tool, mode in plan:
        key = f"{tool}-{mode}"
        html = str(out / f"{key}-{rows}.html")
        if tool == "alambic":
            argv = [sys.executable, str(HERE), "_alambic", mode, str(ref), str(cur), html]
        elif EVIDENTLY_PYTHON.exists():
            argv = [str(EVIDENTLY_PYTHON), str(PEERS / "evidently_drift.py"), str(ref)]
            argv += [str(cur), html]
        else:
            runs[key] = {"error": "not installed: run `make bench-setup` to compare"}
            continue
        _progress(f"{rows:,} rows: {tool} ({mode})")
        runs[key] = _child(argv)
    bytes_per_row = (_size_of(ref) + _size_of(cur)) / (ref_rows + rows)
    shutil.rmtree(cur)  # the references stay: the larger sizes reuse the last one
    return {"rows": rows, "ref_rows": ref_rows, "runs": runs, "bytes_per_row": bytes_per_row}


# -- the report -------------------------------------------------------------------------
LABELS = {
    "alambic-parquet": "alambic, Parquet (sketches)",
    "alambic-pandas": "alambic, pandas (exact)",
    "evidently-pandas": "evidently",
}


def _found(run: dict[str, Any]) -> str:
    got, want = set(run["drifted"]), set(EXPECTED)
    if got == want:
        return f"{len(got)}, as expected"
    extra, missed = sorted(got - want), sorted(want - got)
    return f"{len(got)}: " + ", ".join([*(f"+{c}" for c in extra), *(f"-{c}" for c in missed)])


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _table_rows(results: list[dict[str, Any]]) -> None:
    head = f"{'rows (ref / current)':>25} {'tool':28} {'wall s':>8} {'read s':>7} {'test s':>8}"
    expected = f"drifted (expected {len(EXPECTED)})"
    print(
        f"{head} {'HTML s':>7} {'peak MB':>8} {'workers':>8} {'HTML KB':>8}  {expected:20}  verdict"
    )
    for size in results:
        rows = f"{size['ref_rows']:,} / {size['rows']:,}"
        if "skipped" in size:
            print(f"{rows:>25} skipped: {size['skipped']}")
            continue
        for key, run in size["runs"].items():
            if "error" in run:
                print(f"{rows:>25} {LABELS[key]:28} failed: {run['error']}")
                continue
            html = "—" if run["html_bytes"] is None else f"{run['html_bytes'] / 1024:.0f}"
            verdict = "drift" if run["dataset_drift"] else "no drift"
            cells = [_seconds(run[k]) for k in ("wall_s", "read_s", "report_s", "html_s")]
            print(
                f"{rows:>25} {LABELS[key]:28} {cells[0]:>8} {cells[1]:>7} {cells[2]:>8} "
                f"{cells[3]:>7} {run['peak_mb']:>8.0f} {_workers(run):>8} {html:>8}  "
                f"{_found(run):20}  "
                f"{verdict} ({run['share']:.2f})"
            )


def _workers(run: dict[str, Any]) -> str:
    """Of the peak, the executor's worker processes (alambic, when it used them)."""
    workers = run.get("workers_mb")
    return "—" if not workers else f"{workers:.0f}"


def _compare(ours: dict[str, Any], theirs: dict[str, Any]) -> str:
    """Same tests per column, and the largest difference between the statistics."""
    differ = [
        c
        for c, test in ours["tests"].items()
        if METHOD_NAMES.get(test["method"]) != theirs["tests"].get(c, {}).get("method")
    ]
    gaps = {
        c: abs(test["score"] - theirs["tests"][c]["score"])
        for c, test in ours["tests"].items()
        if c not in differ and test["score"] is not None and c in theirs["tests"]
    }
    worst = max(gaps, key=gaps.__getitem__) if gaps else None
    same = "same test per column" if not differ else f"other tests on {', '.join(differ)}"
    if worst is None:
        return same
    return f"{same}; largest statistic difference {gaps[worst]:.4f} ({worst})"


def _ratios(size: dict[str, Any]) -> None:
    runs = size["runs"]
    theirs = runs.get("evidently-pandas", {})
    if "error" in theirs or not theirs:
        return
    for key in ("alambic-parquet", "alambic-pandas"):
        ours = runs.get(key, {})
        if "error" in ours or not ours:
            continue
        speed = theirs["wall_s"] / ours["wall_s"]
        memory = ours["peak_mb"] / theirs["peak_mb"]
        same = "same" if set(ours["drifted"]) == set(theirs["drifted"]) else "DIFFERENT"
        print(
            f"{size['rows']:>11,} rows, {LABELS[key] + ':':29} {speed:6.1f}x faster, "
            f"{memory:.2f} of evidently's peak memory, {same} drifted columns; "
            f"{_compare(ours, theirs)}"
        )


def _aims(results: list[dict[str, Any]]) -> None:
    def verdict(ok: bool) -> str:
        return "meets" if ok else "misses"

    by_rows = {r["rows"]: r["runs"] for r in results if "runs" in r}
    at = by_rows.get(COMPARED, {})
    ours, bare, theirs = (at.get(k, {}) for k in LABELS)
    if ours and theirs and "error" not in ours and "error" not in theirs:
        speed, memory = theirs["wall_s"] / ours["wall_s"], ours["peak_mb"] / theirs["peak_mb"]
        line = f"aim: >= 20x faster than evidently at {COMPARED:,} rows: {speed:.1f}x, "
        line += verdict(speed >= 20)
        if bare and "error" not in bare:
            exact = theirs["wall_s"] / bare["wall_s"]
            line += f" (pandas, exact: {exact:.1f}x, {verdict(exact >= 20)})"
        print(line)
        print(
            f"aim: <= 1/4 of evidently's peak memory at {COMPARED:,} rows: "
            f"{ours['peak_mb']:.0f} / {theirs['peak_mb']:.0f} MB = {memory:.2f}, "
            f"{verdict(memory <= 0.25)}"
        )
    else:
        print(f"aim: 20x faster, 1/4 of the memory at {COMPARED:,} rows: not measured")
    _same_aim(by_rows, verdict)
    big = by_rows.get(SIZES[-1], {}).get("alambic-parquet", {})
    if big and "error" not in big:
        ok = big["peak_mb"] < 1024
        print(
            f"aim: peak memory < 1 GB at {SIZES[-1]:,} rows: {big['peak_mb']:.0f} MB, {verdict(ok)}"
        )
    else:
        print(f"aim: peak memory < 1 GB at {SIZES[-1]:,} rows: not measured")


def _same_aim(by_rows: dict[int, dict[str, Any]], verdict: Any) -> None:
    """Both tools flag the same columns (the expected ones) at every compared size."""
    checked = []
    for rows, runs in sorted(by_rows.items()):
        theirs = runs.get("evidently-pandas", {})
        if not theirs or "error" in theirs:
            continue
        for key in ("alambic-parquet", "alambic-pandas"):
            ours = runs.get(key, {})
            if ours and "error" not in ours:
                same = set(ours["drifted"]) == set(theirs["drifted"]) == set(EXPECTED)
                checked.append((f"{rows:,} {key.split('-')[1]}", same))
    if not checked:
        print("aim: the same drifted columns as evidently: not measured")
        return
    wrong = [name for name, same in checked if not same]
    detail = "all" if not wrong else f"not at {', '.join(wrong)}"
    print(
        f"aim: the same drifted columns as evidently, the expected 5 "
        f"({', '.join(name for name, _ in checked)}): {detail}, {verdict(not wrong)}"
    )


def _header(results: list[dict[str, Any]]) -> None:
    print(
        f"monitoring: drift report over {len(NUMERIC) + len(CATEGORICAL)} columns "
        f"({len(NUMERIC)} numeric, {len(CATEGORICAL)} categorical), {len(EXPECTED)} drifted "
        f"({', '.join(EXPECTED)}); each run a fresh process; wall time: read + report + "
        "HTML (imports apart)"
    )
    runs = [run for r in results for run in r.get("runs", {}).values() if "error" not in run]
    mine = next((r for r in runs if r["tool"] == "alambic"), None)
    theirs = next((r for r in runs if r["tool"] == "evidently"), None)
    if mine is not None:
        html = "yes" if mine["html_bytes"] is not None else "not available in this version"
        print(f"alambic {mine['version']}, imports {mine['import_s']:.2f} s; HTML report: {html}")
    if theirs is not None:
        print(
            f"evidently {theirs['version']} (pandas {theirs['pandas']}) in "
            f".venv-evidently, imports {theirs['import_s']:.2f} s"
        )
    elif not EVIDENTLY_PYTHON.exists():
        print("evidently not installed: run `make bench-setup` to compare")


def _run_sizes(folder: Path, sizes: list[int]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    bytes_per_row: float = BYTES_PER_ROW
    for rows in sorted(set(sizes)):
        ref_rows = rows if rows <= COMPARED else REFERENCE_CAP
        reason = _no_room(folder, (ref_rows, rows), bytes_per_row)
        if reason is not None:
            results.append({"rows": rows, "ref_rows": ref_rows, "skipped": reason})
            _progress(f"{rows:,} rows skipped: {reason}")
            continue
        results.append(_measure(folder, rows))
        bytes_per_row = results[-1]["bytes_per_row"]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 rows only")
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES, help="rows a side")
    args = parser.parse_args()
    sizes = [100_000] if args.quick else args.sizes
    load_before = os.getloadavg()[0]
    folder = Path(tempfile.mkdtemp(prefix="alambic-bench-monitoring-"))
    try:
        results = _run_sizes(folder, sizes)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    load_after = os.getloadavg()[0]
    _header(results)
    _table_rows(results)
    for size in results:
        if "runs" in size:
            _ratios(size)
    _aims(results)
    load = f"{load_before:.1f} before, {load_after:.1f} after"
    print(f"load average (1 min) on {os.cpu_count()} cores: {load}; other work skews the figures")


if __name__ == "__main__":
    if sys.argv[1:2] == ["_generate"]:
        path, side, rows = sys.argv[2:]
        _generate(Path(path), side, int(rows))
    elif sys.argv[1:2] == ["_alambic"]:
        print(json.dumps(_alambic(*sys.argv[2:6])))
    else:
        main()
