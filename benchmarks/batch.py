"""Batch transform: ``alambic batch`` against a bare in-process ``predict_proba`` loop.

The workload: N listings (5,000,000 by default) shaped like the fraud data set
(``examples/fraud/generate.py``, seeded, written in blocks of 500,000 rows as one Parquet
file with row groups of 100,000; ``brand`` as plain strings, as an extract would have
it), scored by a LightGBM classifier (200 trees, 31 leaves) trained on 200,000 rows of
the same generator with ``brand`` categorical, saved with
``alambic.models.save_model(package(...))``. The data and the model are made once
in ``--data`` (a temp folder by default, never committed) and reused.

Both sides run in their own process, timed from start to end as a user sees them
(interpreter start, imports, model load included), and the peak RSS of each whole
process tree is sampled every 20 ms from ``/proc`` (Linux):

- bare: ``pyarrow.parquet.ParquetFile.iter_batches`` over the file in record batches
  of ``--chunk-rows`` rows (streaming, so its memory is flat too), ``brand`` made
  categorical with the trained levels, ``model.predict_proba`` of the loaded
  ``alambic.models.Model`` with LightGBM's default threads (all cores); only the
  probabilities' sum is kept, nothing is written.
- alambic: ``alambic batch MODEL INPUT OUTPUT -i listing_id --chunk-rows N`` with its
  default workers (one process per core, one LightGBM thread each), and with
  ``--jobs 1`` (in-process, LightGBM on all cores); it also writes every row's id,
  prediction and probability to Parquet parts.

Each configuration also runs on N/5 rows: equal peak memory at N/5 and N is what
"flat" means. Prints rows/s, peak RSS and alambic/bare ratios (aim: at least 0.90).

    .venv/bin/python benchmarks/batch.py [--rows 5000000] [--chunk-rows 100000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FRAUD = HERE.parent / "examples" / "fraud"
SEED = 42
BLOCK = 500_000


def _fraud() -> tuple[Any, list[str]]:
    sys.path.insert(0, str(FRAUD))
    from fraud_schema import FEATURES
    from generate import generate

    return generate, FEATURES


def make_data(folder: Path, rows: int) -> Path:
    """The seeded listings as one Parquet file (made once per size)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = folder / f"listings-{rows}.parquet"
    if path.exists():
        return path
    generate, features = _fraud()
    temp = path.with_suffix(".tmp")
    writer = None
    for start in range(0, rows, BLOCK):
        block = generate(min(BLOCK, rows - start), random_state=SEED + start, start_id=start)
        table = pa.Table.from_pandas(block[["listing_id", *features]], preserve_index=False)
        writer = writer or pq.ParquetWriter(temp, table.schema)
        writer.write_table(table, row_group_size=100_000)
    if writer is not None:
        writer.close()
    temp.rename(path)
    return path


def make_model(folder: Path) -> Path:
    """A LightGBM fraud classifier as an alambic model file (trained once)."""
    path = folder / "fraud-lightgbm.zip"
    if path.exists():
        return path
    import lightgbm

    from alambic.models import package, save_model

    generate, features = _fraud()
    train = generate(200_000, random_state=SEED - 1)
    x = train[features].copy()
    x["brand"] = x["brand"].astype("category")
    params = {"n_estimators": 200, "num_leaves": 31, "learning_rate": 0.05, "verbose": -1}
    estimator = lightgbm.LGBMClassifier(**params, random_state=SEED).fit(x, train["is_fraud"])
    save_model(package(estimator, x, train["is_fraud"]), path)
    return path


def bare(model_path: str, data_path: str, chunk_rows: int) -> None:
    """The bare side (run in its own process): read in record batches, predict_proba."""
    import numpy as np
    import pandas as pd
    import pyarrow.parquet as pq

    from alambic.models import load_model

    model = load_model(model_path)
    features = [name for name, _ in model.signature.inputs]
    levels = model.estimator.booster_.pandas_categorical[0]
    rows, total = 0, 0.0
    source = pq.ParquetFile(data_path)
    for batch in source.iter_batches(batch_size=chunk_rows, columns=["listing_id", *features]):
        frame = batch.to_pandas()
        brand = frame["brand"].where(frame["brand"].isin(levels))
        frame["brand"] = pd.Categorical(brand, categories=levels)
        probability = model.predict_proba(frame[features])[:, 1]
        rows, total = rows + len(probability), total + float(np.sum(probability))
    print(f"rows={rows} mean={total / rows:.6f}")


def _rss_tree(root: int) -> int:
    """Resident memory of a process and all its descendants, in bytes (Linux /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rpartition(")")[2].split()[1])
    tree, grew = {root}, True
    while grew:
        found = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= found
        grew = bool(found)
    total = 0
    for pid in tree:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


def measure(command: list[str]) -> dict[str, Any]:
    """Run a command; its wall time, its tree's peak RSS, its output."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]

    def sample() -> None:
        while process.poll() is None:
            peak[0] = max(peak[0], _rss_tree(process.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate()
    wall = time.perf_counter() - started
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{out}\n{err}")
    return {"wall_s": wall, "peak_rss": peak[0], "out": out}


def _alambic() -> list[str]:
    """``alambic`` once ``batch`` is registered in its app; until then, the command alone."""
    from alambic.cli._app import app
    from alambic.cli._batch import batch

    if any(c.callback is batch for c in app.registered_commands):
        return [sys.executable, "-m", "alambic.cli", "batch"]
    runner = (
        "import typer; from alambic.cli._batch import batch; "
        "app = typer.Typer(); app.command()(batch); app()"
    )
    return [sys.executable, "-c", runner]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000, help="rows to score (5,000,000)")
    parser.add_argument("--chunk-rows", type=int, default=100_000, help="rows per chunk")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "bench-batch")
    parser.add_argument("--bare", nargs=2, metavar=("MODEL", "DATA"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        bare(args.bare[0], args.bare[1], args.chunk_rows)
        return

    args.data.mkdir(parents=True, exist_ok=True)
    os.environ["ALAMBIC_HOME"] = str(args.data / "home")
    load_before = os.getloadavg()[0]
    model = make_model(args.data)
    sizes = [args.rows // 5, args.rows]
    files = {n: make_data(args.data, n) for n in sizes}
    chunk = ["--chunk-rows", str(args.chunk_rows)]
    configurations = {
        "bare predict_proba": lambda n, out: [
            sys.executable, __file__, "--bare", str(model), str(files[n]), *chunk,
        ],
        "alambic batch": lambda n, out: [
            *_alambic(), str(model), str(files[n]), out, "-i", "listing_id", *chunk, "-q",
        ],
        "alambic batch --jobs 1": lambda n, out: [
            *_alambic(), str(model), str(files[n]), out, "-i", "listing_id", *chunk,
            "-q", "--jobs", "1",
        ],
    }  # fmt: skip
    results: dict[tuple[str, int], dict[str, Any]] = {}
    for n in sizes:
        for name, command in configurations.items():
            out = args.data / "scores"
            shutil.rmtree(out, ignore_errors=True)
            results[name, n] = measure(command(n, str(out)))
            if name.startswith("alambic"):
                import pandas as pd

                scored = pd.read_parquet(out, columns=["listing_id"])["listing_id"]
                if len(scored) != n or not scored.is_monotonic_increasing:
                    raise SystemExit(f"{name}: {len(scored)} rows out of {n}, or out of order")
    shutil.rmtree(args.data / "scores", ignore_errors=True)
    load_after = os.getloadavg()[0]

    print(
        f"batch transform: LightGBM fraud classifier (200 trees) over {args.rows:,} rows "
        f"of Parquet, chunks of {args.chunk_rows:,} rows, {os.cpu_count()} cores"
    )
    print(f"{'':26} {'rows':>11} {'wall':>8} {'rows/s':>10} {'peak RSS':>10} {'vs bare':>8}")
    for n in sizes:
        base = n / results["bare predict_proba", n]["wall_s"]
        for name in configurations:
            r = results[name, n]
            speed = n / r["wall_s"]
            ratio = f"{speed / base:.2f}" if name != "bare predict_proba" else ""
            print(
                f"{name:26} {n:>11,} {r['wall_s']:>6.1f} s {speed:>10,.0f} "
                f"{r['peak_rss'] / 2**20:>7,.0f} MB {ratio:>8}"
            )
    for name in configurations:
        small, large = results[name, sizes[0]], results[name, sizes[1]]
        growth = large["peak_rss"] / max(small["peak_rss"], 1)
        print(f"peak RSS at {sizes[1]:,} / at {sizes[0]:,} rows, {name}: {growth:.2f}x")
    print(
        f"load average (1 min) on {os.cpu_count()} cores: {load_before:.1f} before, "
        f"{load_after:.1f} after; other work skews the figures"
    )
    print("wall times include interpreter start, imports and model load on both sides")


if __name__ == "__main__":
    main()
