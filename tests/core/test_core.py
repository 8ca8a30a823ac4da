"""Base utilities: durations, canonical JSON, hashing, ids and optional imports."""

from __future__ import annotations

import hashlib
import io
import json
import math
import random
import re
import time
from datetime import UTC, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alambic.core import (
    _ids,
    canonical_json,
    new_id,
    optional_import,
    parse_duration,
    sha256_bytes,
    sha256_file,
    sha256_stream,
    sha256_text,
    utcnow,
)
from alambic.errors import AlambicError

# -- parse_duration ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("30m", 1800.0),
        ("2h", 7200.0),
        ("45s", 45.0),
        ("1.5h", 5400.0),
        ("250ms", 0.25),
        ("1d", 86400.0),
        ("90", 90.0),
        (" 10 m ", 600.0),
        (12, 12.0),
        (0.5, 0.5),
    ],
    ids=lambda v: repr(v),
)
def test_parse_duration_understands_units_and_numbers(value: str | float, seconds: float) -> None:
    result = parse_duration(value)
    assert result == pytest.approx(seconds)
    assert isinstance(result, float)


def test_parse_duration_of_none_is_none() -> None:
    assert parse_duration(None) is None


@pytest.mark.parametrize(
    "value",
    ["abc", "-1", "-5m", "0", "0s", "", "10 minutes", "1h30m", "30M", 0, -3, 0.0, True, False],
    ids=lambda v: repr(v),
)
def test_parse_duration_refuses_what_is_not_a_positive_duration(value: object) -> None:
    with pytest.raises(ValueError, match="duration") as caught:
        parse_duration(value)  # type: ignore[arg-type]
    assert repr(value) in str(caught.value)


@pytest.mark.parametrize("value", [math.nan, math.inf, "nan", "inf"], ids=repr)
def test_parse_duration_refuses_nan_and_infinity(value: float | str) -> None:
    # Regression: NaN used to pass `seconds <= 0` and come back as a duration.
    with pytest.raises(ValueError, match="duration"):
        parse_duration(value)


def test_utcnow_is_timezone_aware_utc() -> None:
    now = utcnow()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)
    assert now.tzinfo == UTC


# -- canonical JSON and hashing ------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def _shuffled(value: object, rng: random.Random) -> object:
    """The same JSON value with every dict's keys inserted in another order."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {key: _shuffled(item, rng) for key, item in items}
    if isinstance(value, list):
        return [_shuffled(item, rng) for item in value]
    return value


@given(value=json_values, seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_canonical_json_does_not_depend_on_key_order(value: object, seed: int) -> None:
    reordered = _shuffled(value, random.Random(seed))
    assert canonical_json(reordered) == canonical_json(value)
    assert json.loads(canonical_json(value)) == value


def test_canonical_json_is_compact_sorted_and_keeps_unicode() -> None:
    assert canonical_json({"b": 1, "a": [1.5, None], "é": "ü"}) == (
        '{"a":[1.5,null],"b":1,"é":"ü"}'
    )


@given(data=st.binary(max_size=4096))
def test_sha256_helpers_agree_on_bytes_and_streams(data: bytes) -> None:
    expected = hashlib.sha256(data).hexdigest()
    assert sha256_bytes(data) == expected
    assert sha256_stream(io.BytesIO(data)) == expected


@given(text=st.text())
def test_sha256_text_hashes_the_utf8_encoding(text: str) -> None:
    assert sha256_text(text) == sha256_bytes(text.encode("utf-8"))


@pytest.mark.parametrize(
    "size", [0, 1, (1 << 20) - 1, 1 << 20, (5 << 19) + 3], ids=lambda n: f"{n}B"
)
def test_sha256_file_agrees_with_sha256_bytes_across_chunk_boundaries(
    tmp_path: Path, size: int
) -> None:
    data = random.Random(size).randbytes(size)
    path = tmp_path / "blob"
    path.write_bytes(data)
    assert sha256_file(path) == sha256_bytes(data) == hashlib.sha256(data).hexdigest()
    assert sha256_file(str(path)) == sha256_bytes(data)


# -- ids -----------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["run", "step", "my-prefix"])
def test_new_id_has_the_prefix_and_a_utc_timestamp(prefix: str) -> None:
    before = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    made = new_id(prefix)
    after = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    match = re.fullmatch(rf"{re.escape(prefix)}-(\d{{8}}-\d{{6}})-[0-9a-f]{{6,}}", made)
    assert match is not None, made
    assert before <= match.group(1) <= after


def _frozen_clock(monkeypatch: pytest.MonkeyPatch, stamp: str) -> None:
    monkeypatch.setattr(
        _ids, "time", SimpleNamespace(gmtime=lambda: None, strftime=lambda _fmt, _t: stamp)
    )


def test_new_ids_sort_by_creation_time(monkeypatch: pytest.MonkeyPatch) -> None:
    made = []
    for stamp in ["20261123-235959", "20261124-000000", "20261124-000001"]:
        _frozen_clock(monkeypatch, stamp)
        made.append(new_id("run"))
    assert sorted(made) == made
    assert len(set(made)) == 3


def test_new_ids_made_in_the_same_second_are_unique(monkeypatch: pytest.MonkeyPatch) -> None:
    # Regression: with 24 random bits, 30,000 ids in one second had ~27 collisions.
    _frozen_clock(monkeypatch, "20261123-134501")
    made = [new_id("step") for _ in range(30_000)]
    assert len(set(made)) == len(made)


# -- optional imports ----------------------------------------------------------------


def test_optional_import_returns_the_module() -> None:
    assert optional_import("json", extra="core") is json


def test_optional_import_names_the_extra_to_install() -> None:
    with pytest.raises(AlambicError, match=r"pip install 'alambic\[gpu\]'") as caught:
        optional_import("alambic_no_such_module_xyz", extra="gpu")
    assert "alambic_no_such_module_xyz is not installed" in str(caught.value)
    assert isinstance(caught.value.__cause__, ImportError)
