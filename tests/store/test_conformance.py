"""Built-in materializers pass the conformance suite that user materializers run too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest

from alambic.errors import ConformanceError
from alambic.store import (
    Materializer,
    get_materializer,
    materializer_registry,
    register_materializer,
)
from alambic.testing import MaterializerConformance, check_materializer


class Builtin(MaterializerConformance):
    """A built-in materializer, by name, with its samples."""

    name = ""
    values: tuple[Any, ...] = ()

    def make_materializer(self) -> Materializer:
        return get_materializer(self.name)

    def samples(self) -> list[Any]:
        return list(self.values)


class FrameEqual:
    def equal(self, loaded: Any, sample: Any) -> bool:
        return bool(loaded.equals(sample))


class ArrayEqual:
    def equal(self, loaded: Any, sample: Any) -> bool:
        return bool(np.array_equal(loaded, sample) and loaded.dtype == sample.dtype)


class TestJson(Builtin):
    name = "json"
    values = (1, 2.5, "x", None, True, {"a": [1, {"b": None}]})


class TestPandas(FrameEqual, Builtin):
    name = "pandas-parquet"
    values = (pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}),)


class TestPandasSeries(FrameEqual, Builtin):
    name = "pandas-series-parquet"
    values = (pd.Series([1.5, 2.5], name="s"),)


class TestPolars(FrameEqual, Builtin):
    name = "polars-parquet"
    values = (pl.DataFrame({"a": [1, 2]}),)


class TestNumpy(ArrayEqual, Builtin):
    name = "numpy-npy"
    values = (np.arange(6).reshape(2, 3), np.array(3.0))


class TestNumpyScalar(ArrayEqual, Builtin):
    name = "numpy-scalar"
    values = (np.float32(1.5), np.int64(7))


class TestBytes(Builtin):
    name = "bytes"
    values = (b"\x00\x01raw",)


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
    with materializer_registry.preserved():
        materializer = register_materializer(Timestamped())
        with pytest.raises(ConformanceError, match="different bytes"):
            check_materializer(materializer, [Point(1)])


def test_the_check_catches_an_unregistered_materializer() -> None:
    class Unused(Materializer):
        name = "test-unused"
        types = (complex,)

        def save(self, value: Any, path: Path) -> None: ...

        def load(self, path: Path) -> Any: ...

    with pytest.raises(ConformanceError, match="is it registered"):
        check_materializer(Unused(), [1 + 2j])
