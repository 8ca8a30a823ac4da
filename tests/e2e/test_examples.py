"""The examples run end to end as `make demo` runs them (on a smaller data set)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd
import pytest

import alambic as al

pytestmark = pytest.mark.slow
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _module(path: Path) -> object:
    spec = importlib.util.spec_from_file_location(f"example_{path.parent.name}_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_fraud_pipeline_trains_gates_and_reruns_only_what_new_data_touches(
    tmp_path: Path,
) -> None:
    generate = _module(EXAMPLES / "fraud" / "generate.py")
    # On these 60,000 seeded listings, auto's and moto's models beat the baseline
    # significantly and are registered; loisir's does not and is held back.
    data = generate.generate(60_000, random_state=7)  # type: ignore[attr-defined]
    source = tmp_path / "listings.parquet"
    data.to_parquet(source, index=False)
    pipeline = al.pipelines.load_pipeline(f"{EXAMPLES / 'fraud' / 'pipeline.py'}:fraud")
    params = {"source": str(source), "n_trials": 4}

    first = al.run(pipeline, params=params)
    assert first.succeeded, first.error
    table = {row["category"]: row for row in first.result()}
    assert set(table) == {"auto", "moto", "loisir"}
    assert all(row["roc_auc"] > 0.75 for row in table.values())  # small data: a weak loisir
    assert all(row["against"] == "baseline" for row in table.values())  # nothing published yet
    # The tuning step tracked 4 trials per category, children of its step run.
    tune_steps = [s for s in first.steps if s.node == "tune_model"]
    trials = al.search_runs("kind = 'trial'")
    assert len(trials) == 12 and set(trials["parent_id"]) == {s.id for s in tune_steps}
    assert {c: row["registered"] for c, row in table.items()} == {
        "auto": "fraud-auto/1",
        "moto": "fraud-moto/1",
        "loisir": "",
    }
    assert [c for c, row in table.items() if row["passed"]] == ["auto", "moto"]
    from alambic import registry

    for category in ("auto", "moto"):  # passing models wait for a person's approval
        version = registry.resolve(table[category]["registered"])
        assert version.ref == f"fraud-{category}/1" and version.status == registry.PENDING
        assert version.lineage["step"].startswith("publish")
        # Upstream data: this category's SQL extract, by content fingerprint.
        assert list(version.lineage["data"]) == [f"extract[{list(table).index(category)}]"]
        low, high = version.evaluation["ci"]["roc_auc"]
        assert low <= version.metrics["roc_auc"] <= high
        assert "| roc_auc |" in registry.model_card(version.ref)

    again = al.run(pipeline, params=params)
    # Only the champion lookup runs again; nobody approved anything, so the reference
    # is unchanged and the assessment is served from cache.
    assert {s.status for s in again.steps if s.node != "champion"} <= {"cached", "skipped"}
    # A person approves moto's version: it becomes the champion new moto models must beat.
    registry.approve("fraud-moto", 1, comment="reviewed")

    # New listings in the moto category only: the other categories' work is reused.
    extra = generate.generate(3_000, random_state=8, start_id=1_000_000)  # type: ignore[attr-defined]
    moto = extra[extra["category"] == "moto"]
    pd.concat([data, moto], ignore_index=True).to_parquet(source, index=False)
    changed = al.run(pipeline, params=params)
    assert changed.succeeded, changed.error
    index = {c: i for i, c in enumerate(["auto", "moto", "loisir"])}
    assert changed.step("tune_model", index["moto"]).status == "succeeded"
    assert changed.step("tune_model", index["auto"]).status == "cached"
    assert changed.step("tune_model", index["loisir"]).status == "cached"
    rows = {row["category"]: row for row in changed.result()}
    # The new moto model was judged against the champion, the approved version 1, did not
    # beat it significantly, and was not registered: the champion stays.
    assert rows["moto"]["against"] == "champion"
    assert rows["moto"]["reference_roc_auc"] > 0.9
    assert not rows["moto"]["passed"] and rows["moto"]["registered"] == ""
    assert [v.version for v in registry.registry_store().versions("fraud-moto")] == [1]
    assert "the data it reads changed" in changed.step("extract", index["auto"]).cache["reason"]


def test_fraud_pipeline_refuses_an_unknown_category_at_its_query(tmp_path: Path) -> None:
    generate = _module(EXAMPLES / "fraud" / "generate.py")
    source = tmp_path / "listings.parquet"
    generate.generate(2_000, random_state=1).to_parquet(source, index=False)  # type: ignore[attr-defined]
    pipeline = al.pipelines.load_pipeline(f"{EXAMPLES / 'fraud' / 'pipeline.py'}:fraud")
    run = al.run(pipeline, params={"source": str(source), "categories": ["car"]})
    assert run.status == "failed"
    extract = run.step("extract", 0)
    assert extract.status == "failed"
    assert "fewer than min_rows=1" in extract.error and "category='car'" in extract.error
    assert {s.status for s in run.steps if s.node != "extract"} <= {"skipped"}  # nothing trained
