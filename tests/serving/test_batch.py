"""Batch transform: chunks in input order, ids, probabilities, refusals, resume after a kill."""

from __future__ import annotations

import functools
import itertools
import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import lightgbm
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

import alambic as al
from alambic import registry
from alambic.errors import DataError, ModelError, NotFoundError, RegistryError
from alambic.models import Model, package, save_model
from alambic.serving import batch_transform
from alambic.serving._batch_io import Folder
from tests.helpers import wait_until
from tests.serving.flows import features, is_fraud, listings

REPO = Path(__file__).resolve().parents[2]


def _train(n_estimators: int, random_state: int) -> Model:
    frame = listings(3_000, random_state)
    target = is_fraud(frame, random_state)
    estimator = lightgbm.LGBMClassifier(
        n_estimators=n_estimators, num_leaves=31, verbose=-1, n_jobs=1, random_state=random_state
    )
    return package(estimator.fit(features(frame), target), features(frame), target)


@pytest.fixture(scope="module")
def fraud_model() -> Model:
    """A LightGBM classifier on listings, ``brand`` categorical."""
    return _train(40, 0)


@pytest.fixture(scope="module")
def model_file(fraud_model: Model, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_model(fraud_model, tmp_path_factory.mktemp("models") / "fraud.zip")


def _expected(model: Model, frame: pd.DataFrame) -> np.ndarray:
    """The positive-class probability, scored in memory the plain way."""
    return np.asarray(model.predict_proba(features(frame)))[:, 1]


def _parts(folder: Path) -> list[Path]:
    return sorted(folder.glob("part-*.parquet"))


def _read(folder: Path) -> pd.DataFrame:
    """The output parts one by one, in name order: the contract for row order."""
    return pd.concat([pd.read_parquet(p) for p in _parts(folder)], ignore_index=True)


def _write_input(kind: str, frame: pd.DataFrame, tmp_path: Path) -> Path:
    if kind == "csv":
        frame.to_csv(tmp_path / "listings.csv", index=False)
        return tmp_path / "listings.csv"
    if kind == "parquet":
        pq.write_table(pa.Table.from_pandas(frame), tmp_path / "listings.parquet")
        return tmp_path / "listings.parquet"
    folder = tmp_path / "listings"
    folder.mkdir()
    bounds = [0, 1_700, 1_701, 4_500]  # uneven files, one of a single row
    for i, (low, high) in enumerate(itertools.pairwise(bounds)):
        table = pa.Table.from_pandas(frame.iloc[low:high], preserve_index=False)
        pq.write_table(table, folder / f"day-{i:02d}.parquet", row_group_size=333)
    # Skipped: hidden and underscored files, and files of no known format.
    pq.write_table(pa.Table.from_pandas(frame.iloc[:5]), folder / "_partial.parquet")
    (folder / ".day-03.parquet.crc").write_bytes(b"x")
    (folder / "README.txt").write_text("daily listings")
    return folder


@pytest.mark.parametrize(
    ("kind", "n_jobs"),
    [("parquet", 1), ("csv", 1), ("folder", 2)],
    ids=["parquet-file", "csv-file", "parquet-folder-2-workers"],
)
def test_rows_keep_their_order_and_ids(
    kind: str, n_jobs: int, fraud_model: Model, model_file: Path, tmp_path: Path
) -> None:
    frame = listings(4_500, 7, start=10_000)
    frame.loc[::97, "brand"] = "tesla"  # a level the model never saw: scored as missing
    source = _write_input(kind, frame, tmp_path)
    seen: list[tuple[int, int | None]] = []

    result = batch_transform(
        model_file,
        str(source),
        str(tmp_path / "scores"),
        id_columns=["listing_id"],
        chunk_rows=1_000,
        n_jobs=n_jobs,
        on_progress=lambda done, total: seen.append((done, total)),
    )

    names = [p.name for p in _parts(tmp_path / "scores")]
    assert names == [f"part-{i:05d}.parquet" for i in range(5)]
    out = _read(tmp_path / "scores")
    ids = frame["listing_id"].astype(str) if kind == "csv" else frame["listing_id"]  # CSV: text
    assert list(out.columns) == ["listing_id", "prediction", "probability"]
    assert out["listing_id"].tolist() == ids.tolist()
    np.testing.assert_allclose(out["probability"], _expected(fraud_model, frame), rtol=1e-9)
    assert (out["prediction"] == (out["probability"] > 0.5).astype(int)).all()
    assert [len(pd.read_parquet(p)) for p in _parts(tmp_path / "scores")][-1] == 500
    assert result["rows"] == 4_500 and result["chunks"] == result["chunks_scored"] == 5
    assert result["chunks_skipped"] == 0 and not result["already_complete"]
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert seen[-1] == (4_500, None if kind == "csv" else 4_500)
    success = json.loads((tmp_path / "scores" / "_SUCCESS").read_text())
    assert success["rows"] == 4_500 and success["model"] == str(model_file)
    manifest = json.loads((tmp_path / "scores" / "_manifest.json").read_text())
    assert manifest["model"]["hash"] == result["model_hash"] and manifest["chunk_rows"] == 1_000
    # The folder reads back as one table, in order (the _ and . files are skipped).
    assert pd.read_parquet(tmp_path / "scores")["listing_id"].tolist() == ids.tolist()


def test_a_complete_output_returns_at_once(model_file: Path, tmp_path: Path) -> None:
    source = _write_input("parquet", listings(2_000, 1), tmp_path)
    out = tmp_path / "scores"
    batch_transform(model_file, str(source), str(out), chunk_rows=500, n_jobs=1)
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}

    again = batch_transform(model_file, str(source), str(out), chunk_rows=500, n_jobs=1)

    assert again["already_complete"] and again["chunks_skipped"] == 4 == again["chunks"]
    assert again["chunks_scored"] == 0 and again["rows"] == 2_000
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before


def test_classifier_probabilities_and_regression_outputs(tmp_path: Path) -> None:
    frame = listings(600, 3)
    numeric = frame[["price", "mileage", "n_photos"]]
    segment = pd.Series(np.array(["cheap", "mid", "posh"])[pd.qcut(frame["price"], 3).cat.codes])
    classifier = LogisticRegression(max_iter=2_000).fit(numeric, segment)
    save_model(package(classifier, numeric, segment), tmp_path / "segment.zip")
    source = _write_input("parquet", frame, tmp_path)

    batch_transform(tmp_path / "segment.zip", str(source), str(tmp_path / "seg"), n_jobs=1)

    out = _read(tmp_path / "seg")
    assert list(out.columns) == ["prediction", "proba_cheap", "proba_mid", "proba_posh"]
    np.testing.assert_allclose(out.iloc[:, 1:].sum(axis=1), 1.0)
    np.testing.assert_allclose(out.iloc[:, 1:], classifier.predict_proba(numeric))
    assert out["prediction"].tolist() == classifier.predict(numeric).tolist()

    regressor = LinearRegression().fit(numeric[["mileage"]], numeric["price"])
    save_model(package(regressor, numeric[["mileage"]], numeric["price"]), tmp_path / "r.zip")
    batch_transform(
        tmp_path / "r.zip", str(source), str(tmp_path / "price"), id_columns="brand", n_jobs=1
    )
    priced = _read(tmp_path / "price")
    assert list(priced.columns) == ["brand", "prediction"]
    np.testing.assert_allclose(priced["prediction"], regressor.predict(numeric[["mileage"]]))


def test_fsspec_urls_in_and_out(fraud_model: Model, model_file: Path, tmp_path: Path) -> None:
    frame = listings(1_200, 5)
    source = _write_input("folder", pd.concat([frame] * 4, ignore_index=True), tmp_path)
    target = f"file://{tmp_path}/remote-scores"

    result = batch_transform(
        f"file://{model_file}", f"file://{source}", target, chunk_rows=999, n_jobs=1
    )

    assert result["chunks"] == 5 and result["output"] == target
    out = _read(tmp_path / "remote-scores")
    expected = _expected(fraud_model, pd.concat([frame] * 4, ignore_index=True).iloc[:4_500])
    np.testing.assert_allclose(out["probability"], expected)
    again = batch_transform(model_file, f"file://{source}", target, chunk_rows=999)
    assert again["already_complete"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("drop-feature", r"lacks the column\(s\) \['price'\] that .*fraud.zip expects"),
        ("id-missing", r"id column\(s\) \['order_id'\] are not in"),
        (
            "wrong-type",
            r"column 'price' of .* holds (large_)?string values, but .* expects float64",
        ),
    ],
    ids=["missing-feature", "missing-id-column", "wrong-type"],
)
def test_bad_input_is_refused_before_anything_is_written(
    change: str, message: str, model_file: Path, tmp_path: Path
) -> None:
    frame = listings(100, 2)
    if change == "drop-feature":
        frame = frame.drop(columns="price")
    elif change == "wrong-type":
        frame["price"] = frame["price"].astype(str)
    source = _write_input("parquet", frame, tmp_path)
    ids = ["order_id"] if change == "id-missing" else ["listing_id"]

    with pytest.raises(DataError, match=message) as refused:
        batch_transform(model_file, str(source), str(tmp_path / "scores"), id_columns=ids)

    assert "expects" in str(refused.value) or "its columns are" in str(refused.value)
    assert not (tmp_path / "scores").exists()


def test_unknown_models_and_unsafe_ones_are_refused(tmp_path: Path) -> None:
    source = _write_input("parquet", listings(10, 2), tmp_path)
    with pytest.raises(
        NotFoundError, match="no version of 'fraud-auto' holds the alias 'production'"
    ):
        batch_transform("fraud-auto@production", str(source), str(tmp_path / "a"))
    with pytest.raises(RegistryError, match=r"no model file 'models/fraud\.zip' either"):
        batch_transform("models/fraud.zip", str(source), str(tmp_path / "a"))
    frame = listings(50, 2)[["price"]]
    save_model(
        package(_Doubler(), frame, signature=None), tmp_path / "pickled.zip", allow_pickle=True
    )
    for n_jobs in (1, 2):  # refused in this process, and in the workers
        with pytest.raises(ModelError, match="pickled, and loading a pickle runs its code"):
            batch_transform(
                tmp_path / "pickled.zip",
                str(source),
                str(tmp_path / "a"),
                n_jobs=n_jobs,
                chunk_rows=5,
            )
    assert not (tmp_path / "a").exists()


class _Doubler:
    def predict(self, features: Any) -> Any:
        return features["price"] * 2


def _partial(out: Path, keep: int) -> list[Path]:
    """Make a complete output look interrupted: the _SUCCESS and the later parts gone."""
    (out / "_SUCCESS").unlink()
    parts = _parts(out)
    for part in parts[keep:]:
        part.unlink()
    return parts[:keep]


def test_resume_pins_the_registered_version_when_the_alias_moves(
    fraud_model: Model, tmp_path: Path
) -> None:
    other = _train(10, 1)
    for model in (fraud_model, other):
        version = al.register(model, name="fraud-auto")["version"]
        registry.approve("fraud-auto", version)
    registry.promote("fraud-auto", 1, to="production")
    frame = listings(3_000, 4)
    source = _write_input("parquet", frame, tmp_path)
    out = tmp_path / "scores"
    score = functools.partial(batch_transform, "fraud-auto@production", str(source), n_jobs=1)
    first = score(str(out), chunk_rows=1_000)
    assert first["model"] == "fraud-auto/1"
    kept = {p: p.stat().st_mtime_ns for p in _partial(out, keep=1)}
    registry.promote("fraud-auto", 2, to="production")  # between the kill and the restart

    resumed = score(str(out), chunk_rows=1_000)

    assert resumed["model"] == "fraud-auto/1" and resumed["chunks_skipped"] == 1
    assert resumed["chunks_scored"] == 2 and {p: p.stat().st_mtime_ns for p in kept} == kept
    np.testing.assert_allclose(_read(out)["probability"], _expected(fraud_model, frame))
    # A new output follows the alias: version 2 now.
    fresh = score(str(tmp_path / "new"))
    assert fresh["model"] == "fraud-auto/2"


def test_resume_refuses_another_model_input_or_chunk_size(model_file: Path, tmp_path: Path) -> None:
    source = _write_input("parquet", listings(2_000, 6), tmp_path)
    out = tmp_path / "scores"
    batch_transform(model_file, str(source), str(out), chunk_rows=500, n_jobs=1)
    kept = _partial(out, keep=2)
    stamps = [p.stat().st_mtime_ns for p in kept]
    other = save_model(_train(5, 2), tmp_path / "other.zip")

    with pytest.raises(ModelError, match=r"was started with .*fraud.zip .* not .*other.zip"):
        batch_transform(other, str(source), str(out), chunk_rows=500)
    with pytest.raises(DataError, match="started with chunk_rows=500, not 400"):
        batch_transform(model_file, str(source), str(out), chunk_rows=400)
    pq.write_table(pa.Table.from_pandas(listings(2_001, 6)), source)
    with pytest.raises(DataError, match=r"the input changed since .* \['listings.parquet'\]"):
        batch_transform(model_file, str(source), str(out), chunk_rows=500)
    assert _parts(out) == kept and [p.stat().st_mtime_ns for p in kept] == stamps

    over = batch_transform(other, str(source), str(out), chunk_rows=400, n_jobs=1, resume=False)
    assert over["chunks_scored"] == over["chunks"] == 6 and over["chunks_skipped"] == 0
    assert len(_read(out)) == 2_001


def test_csv_id_columns_pass_through_as_text_and_resume(
    fraud_model: Model, model_file: Path, tmp_path: Path
) -> None:
    frame = listings(60_000, 11)
    frame.insert(0, "sku", [f"{i:05d}" for i in range(len(frame))])  # 00123 stays 00123
    frame.insert(0, "order", [str(i) for i in range(1, len(frame) + 1)])
    frame.loc[50_000, "order"] = "L-50001"  # past the first block, which types are guessed from
    source = tmp_path / "listings.csv"
    frame.to_csv(source, index=False)
    assert source.stat().st_size > 2 * 2**20, "the odd id must be past pyarrow's 1 MiB block"
    out = tmp_path / "scores"
    score = functools.partial(
        batch_transform,
        model_file,
        str(source),
        str(out),
        id_columns=["order", "sku", "price"],  # price is a feature too: read as the model needs
        chunk_rows=10_000,
        n_jobs=1,
    )
    score()
    kept = {p: p.stat().st_mtime_ns for p in _partial(out, keep=3)}

    resumed = score()

    assert resumed["chunks_skipped"] == 3 and resumed["chunks_scored"] == 3
    assert {p: p.stat().st_mtime_ns for p in kept} == kept
    table = pq.read_table(out)  # the folder reads as one table: its parts share one schema
    assert all(pq.read_schema(part).equals(table.schema) for part in _parts(out))
    assert table.schema.field("sku").type == table.schema.field("order").type == pa.string()
    assert table.schema.field("price").type == pa.float64()
    assert table.column("sku").to_pylist() == frame["sku"].tolist()
    assert table.column("order").to_pylist() == frame["order"].tolist()
    assert table.column("price").to_pylist() == frame["price"].tolist()
    np.testing.assert_allclose(table.column("probability"), _expected(fraud_model, frame))
    # An output an older alambic started guessed these types: resuming it would mix schemas.
    _partial(out, keep=2)
    manifest = json.loads((out / "_manifest.json").read_text())
    (out / "_manifest.json").write_text(json.dumps({**manifest, "format": 1}))
    with pytest.raises(DataError, match="older alambic, which guessed the types of CSV id"):
        score()


def test_success_is_written_only_once_every_part_is_there(
    model_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _write_input("parquet", listings(2_000, 6), tmp_path)
    out = tmp_path / "scores"
    write_part = Folder.write_part

    def lossy(self: Folder, index: int, table: Any) -> None:
        if index != 2:  # as if written where this process cannot see it
            write_part(self, index, table)

    monkeypatch.setattr(Folder, "write_part", lossy)
    with pytest.raises(
        DataError,
        match=r"1 of the 4 parts are not in .*scores after scoring \(part-00002\.parquet\)",
    ):
        batch_transform(model_file, str(source), str(out), chunk_rows=500, n_jobs=1)
    assert not (out / "_SUCCESS").exists()
    monkeypatch.undo()

    again = batch_transform(model_file, str(source), str(out), chunk_rows=500, n_jobs=1)

    assert again["chunks_scored"] == 1 and again["chunks_skipped"] == 3
    assert (out / "_SUCCESS").exists() and len(_read(out)) == 2_000


def test_a_memory_output_is_scored_in_this_process(
    fraud_model: Model, model_file: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import fsspec

    frame = listings(3_000, 12)
    source = _write_input("parquet", frame, tmp_path)
    memory, folder = fsspec.filesystem("memory"), f"/batch-{tmp_path.name}/scores"
    try:
        with caplog.at_level(logging.INFO, logger="alambic.serving._batch"):
            result = batch_transform(
                model_file,
                str(source),
                f"memory://{folder}",
                id_columns=["listing_id"],
                chunk_rows=1_000,
                n_jobs=2,  # workers would each write to a memory of their own
            )

        assert result["chunks_scored"] == 3
        assert "cannot write: scoring in this process (n_jobs=1)" in caplog.text
        assert [r.levelname for r in caplog.records if "cannot write" in r.getMessage()] == [
            "WARNING"
        ]
        names = sorted(p.rsplit("/", 1)[-1] for p in memory.ls(folder, detail=False))
        assert [n for n in names if n.startswith("part-")] == [
            f"part-{i:05d}.parquet" for i in range(3)
        ]
        table = pq.read_table(folder, filesystem=memory)
        assert table.column("listing_id").to_pylist() == frame["listing_id"].tolist()
        np.testing.assert_allclose(table.column("probability"), _expected(fraud_model, frame))
    finally:
        memory.rm(folder.rsplit("/", 1)[0], recursive=True)


def test_a_parquet_file_of_one_row_group_is_read_in_small_batches(
    model_file: Path, tmp_path: Path
) -> None:
    table = pa.Table.from_pandas(listings(1_200_000, 13), preserve_index=False)
    source = tmp_path / "one-group.parquet"
    pq.write_table(table, source, row_group_size=table.num_rows)
    decoded = table.nbytes
    del table
    baseline, held = pa.total_allocated_bytes(), []

    batch_transform(
        model_file,
        str(source),
        str(tmp_path / "scores"),
        chunk_rows=10_000,
        n_jobs=1,
        on_progress=lambda done, total: held.append(pa.total_allocated_bytes() - baseline),
    )

    # Arrow memory held between chunks: a few batches, not the decoded row group.
    assert len(held) == 121 and max(held) < decoded / 3, (max(held), decoded)


def test_an_output_folder_holding_other_files_is_refused(model_file: Path, tmp_path: Path) -> None:
    source = _write_input("parquet", listings(10, 2), tmp_path)
    (tmp_path / "scores").mkdir()
    (tmp_path / "scores" / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match=r"not empty and was not written by a batch"):
        batch_transform(model_file, str(source), str(tmp_path / "scores"))
    assert [p.name for p in (tmp_path / "scores").iterdir()] == ["notes.txt"]
    with pytest.raises(DataError, match=r"the output .*day-scores is inside the input"):
        batch_transform(model_file, tmp_path, tmp_path / "day-scores")  # its parts: input
    assert not (tmp_path / "day-scores").exists()


def test_a_pipeline_step(model_file: Path, tmp_path: Path) -> None:
    from tests.serving import flows

    frame = listings(1_500, 8)
    source = _write_input("csv", frame, tmp_path)
    params = {"model": str(model_file), "source": str(source), "target": str(tmp_path / "out")}

    run = al.run(flows.nightly, params=params)

    assert run.succeeded, run.error
    result = run.result()
    assert result["rows"] == 1_500 and result["chunks_scored"] == 1
    assert (
        _read(tmp_path / "out")["listing_id"].tolist() == frame["listing_id"].astype(str).tolist()
    )
    again = al.run(flows.nightly, params=params)  # never cached: looks at the files
    assert again.succeeded and again.result()["already_complete"]


# -- the fault: `alambic batch` killed halfway, then run again ------------------------
def _command() -> list[str]:
    """``alambic`` itself once ``batch`` is registered in the app, else the helper."""
    from alambic.cli._app import app
    from alambic.cli._batch import batch

    script = Path(sys.executable).with_name("alambic")
    if script.exists() and any(c.callback is batch for c in app.registered_commands):
        return [str(script)]
    return [sys.executable, "-m", "tests.serving.flows"]


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except (OSError, ValueError):
            continue
        if entry.isdigit() and stat.rpartition(")")[2].split()[1] == str(pid):
            found.append(int(entry))
    return found


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_resume_after_the_command_is_killed_halfway(tmp_path: Path) -> None:
    frame = listings(100_000, 9)
    source = _write_input("parquet", frame, tmp_path)
    save_model(_train(60, 3), tmp_path / "big.zip")
    out = tmp_path / "scores"
    args = [*_command(), "batch", "big.zip", source.name, "scores", "-i", "listing_id"]
    args += ["--chunk-rows", "1000", "--jobs", "2"]  # 100 chunks: time to kill it halfway
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200", "NO_COLOR": "1"}

    started = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL)
    wait_until(lambda: len(_parts(out)) >= 2, timeout=60)
    workers = _children(started.pid)
    started.send_signal(signal.SIGKILL)
    started.wait(timeout=10)
    wait_until(lambda: all(_gone(pid) for pid in workers), timeout=10)  # none left behind
    assert len(workers) == 2 and not (out / "_SUCCESS").exists(), "finished before the kill"
    kept = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in _parts(out)}
    assert 2 <= len(kept) < 100

    done = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"scored 100,000 rows with {tmp_path / 'big.zip'}" in done.stdout
    assert f"chunks: 100 ({100 - len(kept)} scored, {len(kept)} already done)" in done.stdout
    ids = _read(out)["listing_id"]
    assert ids.tolist() == frame["listing_id"].tolist()  # every row once, in order
    assert {
        name: ((out / name).stat().st_ino, (out / name).stat().st_mtime_ns) for name in kept
    } == kept
    summary = json.loads((out / "_SUCCESS").read_text())
    assert summary["chunks_skipped"] == len(kept) and summary["rows"] == 100_000
    assert not list(out.glob(".*.tmp"))
    # Once complete, a run says so and returns.
    again = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "already complete: 100,000 rows in 100 chunks" in again.stdout


def test_command_line_errors_exit_2(model_file: Path, tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from alambic.cli._batch import batch

    app = typer.Typer()
    app.command()(batch)
    source = _write_input("parquet", listings(10, 2).drop(columns="brand"), tmp_path)

    refused = CliRunner().invoke(app, [str(model_file), str(source), str(tmp_path / "out")])

    assert refused.exit_code == 2
    assert "error: " in refused.output and "lacks the column(s) ['brand']" in refused.output
