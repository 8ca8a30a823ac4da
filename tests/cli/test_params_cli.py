"""``alambic run -p``, as a new user types it: list parameters, typos, empty queries.

Each test writes a small pipeline into its folder and runs the real console script
there, with its own ALAMBIC_HOME. Exit codes: 0 success, 1 the run failed, 2 usage error.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cli.helpers import Alambic, Result, Show, Write

LISTINGS = """
id,category,price
1,auto,1000
2,moto,500
3,auto,2500
"""

FRAUD = '''
"""One query per category (at least one row each), counted."""
import alambic as al


@al.step
def count_rows(frame) -> int:
    return len(frame)


@al.pipeline
def fraud(categories: tuple[str, ...] = ("auto", "moto"), sizes: tuple[int, ...] = (1,),
          n_trials: int = 12) -> list[int]:
    for category in al.map(categories):
        rows = al.sql.with_options(name="extract")(
            "SELECT * FROM listings WHERE category = $category",
            params={"category": category},
            sources={"listings": "listings.csv"},
            min_rows=1,
        )
        n = count_rows(rows)
    return n
'''

RUN_LINE = re.compile(r"^run (run-\S+) (succeeded|failed)$", re.MULTILINE)


def one_line_usage_error(result: Result, home: Path) -> str:
    """The one ``error:`` line of a refused command, after checking nothing was stored."""
    assert result.code == 2, result.transcript
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.transcript
    assert lines[0].startswith("error: "), result.transcript
    assert "Traceback" not in result.output
    assert result.out == ""
    assert not (home / "alambic.db").exists()  # refused before anything was stored
    return lines[0]


@pytest.mark.parametrize(
    "value",
    ["[auto,moto]", '["auto","moto"]', "auto,moto", "(auto, moto)"],
    ids=["bare-words-in-brackets", "json", "comma", "parentheses"],
)
def test_a_list_parameter_takes_every_spelling_of_a_list(
    alambic: Alambic, write: Write, show: Show, value: str
) -> None:
    write("pipeline.py", FRAUD)
    write("listings.csv", LISTINGS)
    result = alambic("run", "pipeline.py:fraud", "-p", f"categories={value}", "-q")
    assert result.code == 0, result.transcript
    found = RUN_LINE.findall(result.out)
    assert found, result.transcript
    assert show(found[-1][0])["run"]["params"]["categories"] == ["auto", "moto"]
    assert "result: [2, 1]" in result.out


@pytest.mark.parametrize(
    ("param", "fragments"),
    [
        (
            "categories=[auto,moto",
            [
                "parameter 'categories' (tuple[str, ...]): cannot read '[auto,moto' as a list",
                """write -p categories=auto,moto or -p 'categories=["auto","moto"]'""",
            ],
        ),
        (
            "categories=auto,moto]",
            ["cannot read 'auto,moto]' as a list", "-p categories=auto,moto or"],
        ),
        (
            "sizes=1,x",
            ["parameter 'sizes' expects tuple[int, ...]", "item [1] is 'x'"],
        ),
        (
            "n_trial=3",
            [
                "unknown parameter 'n_trial'; did you mean 'n_trials'?",
                "takes: categories, sizes, n_trials",
            ],
        ),
    ],
    ids=["unclosed-list", "unopened-list", "bad-item", "typo-in-name"],
)
def test_a_bad_parameter_exits_2_with_one_line_and_stores_nothing(
    alambic: Alambic, write: Write, home: Path, param: str, fragments: list[str]
) -> None:
    write("pipeline.py", FRAUD)
    write("listings.csv", LISTINGS)
    line = one_line_usage_error(alambic("run", "pipeline.py:fraud", "-p", param), home)
    for fragment in fragments:
        assert fragment in line, line


def test_submit_refuses_a_bad_list_before_starting_a_run(
    alambic: Alambic, write: Write, home: Path
) -> None:
    write("pipeline.py", FRAUD)
    result = alambic("submit", "pipeline.py:fraud", "-p", "categories=(auto,moto")
    assert "cannot read '(auto,moto' as a list" in one_line_usage_error(result, home)


def test_a_category_with_no_rows_fails_its_query_step_by_name(
    alambic: Alambic, write: Write, show: Show
) -> None:
    write("pipeline.py", FRAUD)
    write("listings.csv", LISTINGS)
    result = alambic("run", "pipeline.py:fraud", "-p", "categories=car", "-q")
    assert result.code == 1, result.transcript
    assert (
        "--- extract[0]: DataError: the query returned 0 rows, fewer than min_rows=1: "
        "SELECT * FROM listings WHERE category = $category with category='car'"
    ) in result.out, result.transcript
    data = show(RUN_LINE.findall(result.out)[-1][0])
    steps = {step["node"]: step["status"] for step in data["steps"]}
    assert steps["extract"] == "failed"
    assert steps["count_rows"] != "succeeded"  # no later step ran on no rows
    assert data["run"]["params"]["categories"] == ["car"]
