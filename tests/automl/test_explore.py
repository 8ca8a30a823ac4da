"""The data exploration: what is wrong with a table, ranked, as HTML and as a notebook."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from alambic.automl import detect, explore

ROWS = 2000


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    """A table with one of each fault: an id, a constant, a column missing on 30% of
    rows, a near copy of another column, unlabelled rows, duplicated rows, five wild rows
    and a rare class; ``signal`` decides the target, ``noise`` does not."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "signal": rng.normal(size=ROWS),
            "noise": rng.normal(size=ROWS),
            "city": rng.choice(["paris", "lyon", "lille"], ROWS),
            "const": 1,
        }
    )
    frame["twin"] = frame["signal"] * 2 + rng.normal(size=ROWS) * 0.01
    frame["sparse"] = np.where(rng.random(ROWS) < 0.3, np.nan, rng.normal(size=ROWS))
    hidden = rng.normal(size=ROWS) * 0.5  # so that signal alone is no leak
    frame["y"] = (frame["signal"] + hidden > 1.5).astype(float)  # about 8% of rows
    frame.loc[:39, "y"] = np.nan
    frame.loc[100:104, ["noise", "sparse"]] = [[80.0 + i, -60.0] for i in range(5)]  # wild
    frame = pd.concat([frame, frame.iloc[200:220]], ignore_index=True)
    frame.insert(0, "id", np.arange(len(frame)))  # copies with their own ids: still copies
    return frame


def test_the_findings_are_measured_and_ranked_by_severity(table: pd.DataFrame) -> None:
    found = explore(table, detect(table, "y"))
    assert found.rows == ROWS + 20 and found.duplicates == 20
    titles = [i.title for i in found.insights]
    severities = [i.severity for i in found.insights]
    assert severities == sorted(severities, key=["high", "medium", "low"].index)
    assert any("40 rows (2.0%) have no target" in t for t in titles), titles
    set_aside = next(i for i in found.insights if "set aside" in i.title)
    assert set_aside.title.startswith("2 columns set aside") and set_aside.severity == "low"
    assert "'id' an identifier" in set_aside.detail and "'const' constant" in set_aside.detail
    assert any("'sparse' is missing on 30% of rows" in t for t in titles), titles
    assert any("imbalanced" in t for t in titles) and any("20 duplicated rows" in t for t in titles)
    assert found.correlated[0]["a"] == "signal" and found.correlated[0]["b"] == "twin"
    assert found.correlated[0]["r"] > 0.99
    columns = {c["name"]: c for c in found.columns}
    assert columns["signal"]["relation"] > 10 * max(columns["noise"]["relation"], 1e-3)
    assert columns["id"]["role"] == "set aside" and columns["city"]["role"] == "category"
    assert columns["sparse"]["missing"] == pytest.approx(0.3 * (ROWS + 20), rel=0.1)
    assert {c["name"] for c in found.columns} == set(table.columns)
    wild = {e["row"] for e in found.anomalies["examples"]}
    assert wild & {100, 101, 102, 103, 104}, found.anomalies
    assert found.target["kind"] == "classes" and sum(found.target["counts"]) == ROWS + 20 - 40


def test_the_report_is_one_offline_page_and_a_notebook_whose_code_runs(
    table: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "table.csv"
    table.to_csv(path, index=False)
    found = explore(table, detect(table, "y"), data_path=str(path))
    written = found.write(tmp_path)
    page = written["html"].read_text()
    assert "<script" not in page and "http://" not in page and "https://" not in page
    for insight in found.insights:
        assert insight.severity in page and insight.title.replace("'", "&#x27;") in page
    assert page.count("<svg") >= 2  # the target's classes, the relation to the target
    notebook = nbformat.read(written["ipynb"], as_version=4)
    nbformat.validate(notebook)
    text = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    assert all(i.title in text for i in found.insights)
    namespace: dict[str, object] = {}
    before = os.getcwd()
    os.chdir(tmp_path)
    try:
        for cell in notebook.cells:
            if cell.cell_type == "code":
                exec(compile(cell.source, "cell", "exec"), namespace)  # noqa: S102
    finally:
        os.chdir(before)
    relation = namespace["relation"]  # the notebook's code measures what the report did
    reported = {c["name"]: c["relation"] for c in found.columns if c["relation"] is not None}
    assert isinstance(relation, pd.Series) and relation.idxmax() in ("signal", "twin")
    assert relation.to_dict() == pytest.approx(reported, abs=1e-9)
    assert namespace["duplicates"] == found.duplicates
    assert int(namespace["anomalous"].sum()) == found.anomalies["rows"]
    pairs = namespace["pairs"]
    assert len(pairs[pairs.abs() >= 0.9]) == len(found.correlated)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_regression_of_categories_and_dates_with_time_zones(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 400
    frame = pd.DataFrame(
        {
            "shop": rng.choice(["north", "south", "east"], n),
            "kind": rng.choice(["a", "b"], n),
            "at": pd.date_range("2026-01-01", periods=n, freq="h", tz="Europe/Paris"),
        }
    )
    frame["sales"] = np.where(frame["shop"] == "north", 100.0, 10.0) * rng.lognormal(0, 1, n)
    found = explore(frame, detect(frame, "sales"))
    assert found.target["kind"] == "histogram" and sum(found.target["counts"]) == n
    columns = {c["name"]: c for c in found.columns}
    assert columns["shop"]["relation"] > columns["kind"]["relation"]
    assert columns["at"]["role"] == "datetime" and columns["shop"]["top"]
    assert any("skewed" in i.title for i in found.insights), [i.title for i in found.insights]
    assert "<svg" in found.html() and found.correlated == []
