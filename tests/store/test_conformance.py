"""Built-in materializers pass the conformance check that user materializers run too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest

from alambic.store import Materializer, register_materializer
from alambic.store._materializers import _BUILTINS
from alambic.testing import check_materializer
from alambic.testing._materializers import MaterializerConformanceError

BUILTIN = {m.name: m for m in _BUILTINS}


@pytest.mark.parametrize(
    ("name", "samples", "equal"),
    [
        ("json", [1, 2.5, "x", None, True, {"a": [1, {"b": None}]}], None),
        (
            "pandas-parquet",
            [pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})],
            lambda a, b: a.equals(b),
        ),
        ("pandas-series-parquet", [pd.Series([1.5, 2.5], name="s")], lambda a, b: a.equals(b)),
        ("polars-parquet", [pl.DataFrame({"a": [1, 2]})], lambda a, b: a.equals(b)),
        (
            "numpy-npy",
            [np.arange(6).reshape(2, 3), np.array(3.0)],
            lambda a, b: np.array_equal(a, b) and a.dtype == b.dtype,
        ),
        (
            "numpy-scalar",
            [np.float32(1.5), np.int64(7)],
            lambda a, b: a == b and a.dtype == b.dtype,
        ),
        ("bytes", [b"\x00\x01raw"], None),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_builtin_materializers_conform(name: str, samples: list[Any], equal: Any) -> None:
    check_materializer(BUILTIN[name], samples, equal=equal)


class Point:
    def __init__(self, x: int) -> None:
        self.x = x

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and other.x == self.x

    __hash__ = None  # type: ignore[assignment]


class Timestamped(Materializer):
    """Broken on purpose: writes the time, so equal values get different bytes."""

    name = "test-timestamped-point"
    types = (Point,)

    def save(self, value: Any, path: Path) -> None:
        import time

        path.write_text(f"{value.x} {time.time_ns()}")

    def load(self, path: Path) -> Any:
        return Point(int(path.read_text().split()[0]))


def test_the_check_catches_a_non_deterministic_materializer() -> None:
    materializer = register_materializer(Timestamped())
    with pytest.raises(MaterializerConformanceError, match="different bytes"):
        check_materializer(materializer, [Point(1)])


def test_the_check_catches_an_unregistered_materializer() -> None:
    class Unused(Materializer):
        name = "test-unused"
        types = (complex,)

        def save(self, value: Any, path: Path) -> None: ...

        def load(self, path: Path) -> Any: ...

    with pytest.raises(MaterializerConformanceError, match="is it registered"):
        check_materializer(Unused(), [1 + 2j])
