"""Values in and out of the artifact store through materializers: no pickle unless asked."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from alambic.core import canonical_json
from alambic.errors import ArtifactError, IntegrityError, MaterializerError
from alambic.store import (
    ArtifactRef,
    ArtifactStore,
    Materializer,
    _materializers,
    find_materializer,
    get_materializer,
    load_value,
    register_materializer,
    save_value,
)

BUILTIN_NAMES = [m.name for m in _materializers._BUILTINS] + [_materializers.PICKLE.name]


@pytest.fixture(autouse=True)
def registry() -> Iterator[None]:
    """Materializers registered by a test vanish after it."""
    with _materializers.materializer_registry.preserved():
        yield


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(str(tmp_path / "artifacts"))


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> ArtifactStore:
    """One store for every Hypothesis example: content addressing makes sharing harmless."""
    return ArtifactStore(str(tmp_path_factory.mktemp("artifacts")))


def round_trip(store: ArtifactStore, value: Any, **options: Any) -> tuple[ArtifactRef, Any]:
    ref = save_value(store, value, **options)
    assert ref.size == len(store.get_bytes(ref.hash))
    return ref, load_value(store, ref, **options)


class Point:
    """A plain class alambic knows nothing about."""

    def __init__(self, x: int) -> None:
        self.x = x


# -- pandas and polars ---------------------------------------------------------------


def test_pandas_dataframe_round_trips_with_dtypes_and_index(store: ArtifactStore) -> None:
    frame = pd.DataFrame(
        {
            "ints": pd.array([1, None, 3], dtype="Int64"),
            "floats": [1.5, math.nan, -0.0],
            "text": ["a", None, "ç"],
            "flags": [True, False, True],
            "when": pd.to_datetime(["2020-01-01", "2021-06-30", "2022-12-31"]).tz_localize("UTC"),
            "kind": pd.Categorical(["x", "y", "x"]),
        },
        index=pd.Index(["r1", "r2", "r3"], name="row"),
    )
    ref, loaded = round_trip(store, frame)
    assert ref.materializer == "pandas-parquet"
    assert ref.type_name == "pandas.DataFrame"
    assert ref.meta == {"rows": 3, "columns": list(frame.columns)}
    pd.testing.assert_frame_equal(loaded, frame)


@pytest.mark.parametrize(
    "columns",
    [
        pd.Index([10, 20]),
        pd.Index([0.5, 1.5]),
        pd.MultiIndex.from_tuples([("a", 1), ("a", 2)]),
        pd.DatetimeIndex(["2020-01-01", "2020-01-02"]),
    ],
    ids=["int", "float", "multi-index", "timestamps"],
)
def test_pandas_dataframe_with_non_string_column_labels_round_trips(
    store: ArtifactStore, columns: pd.Index
) -> None:
    # Regression: labels used to be renamed with str() before writing Parquet.
    frame = pd.DataFrame(np.arange(6).reshape(3, 2), columns=columns)
    ref, loaded = round_trip(store, frame)
    assert ref.materializer == "pandas-parquet"
    pd.testing.assert_frame_equal(loaded, frame)


@pytest.mark.parametrize(
    "name",
    [
        None,
        "price",
        0,
    ],
    ids=["unnamed", "named", "int-name"],
)
def test_pandas_series_round_trips(store: ArtifactStore, name: str | int | None) -> None:
    series = pd.Series([1.5, 2.5, math.nan], index=[3, 1, 2], name=name)
    ref, loaded = round_trip(store, series)
    assert ref.materializer == "pandas-series-parquet"
    assert ref.meta["name"] == name
    pd.testing.assert_series_equal(loaded, series)


def test_polars_dataframe_round_trips(store: ArtifactStore) -> None:
    frame = pl.DataFrame({"a": [1, 2, None], "b": ["x", "y", "z"], "c": [0.5, None, 1.5]})
    ref, loaded = round_trip(store, frame)
    assert ref.materializer == "polars-parquet"
    assert ref.meta == {"rows": 3, "columns": ["a", "b", "c"]}
    assert loaded.equals(frame)
    assert loaded.schema == frame.schema


def test_a_dataframe_parquet_cannot_hold_is_a_materializer_error(store: ArtifactStore) -> None:
    # Regression: pyarrow's ArrowInvalid used to escape save_value untranslated.
    frame = pd.DataFrame({"points": [Point(1), Point(2)]})
    with pytest.raises(MaterializerError, match="'pandas-parquet' materializer") as caught:
        save_value(store, frame, what="output 'points' of step 'load'")
    message = str(caught.value)
    assert message.startswith("output 'points' of step 'load' (pandas.DataFrame)")
    assert "register a materializer" in message
    assert not list(Path(store.url).rglob("*")), "nothing was written"


# -- numpy ---------------------------------------------------------------------------

DTYPES = ["bool", "int8", "uint16", "int64", "float16", "float32", "float64", "complex128"]


@given(
    array=hnp.arrays(
        dtype=st.sampled_from(DTYPES).map(np.dtype),
        shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
    )
)
def test_numpy_arrays_round_trip(shared_store: ArtifactStore, array: np.ndarray) -> None:
    ref, loaded = round_trip(shared_store, array)
    assert ref.materializer == "numpy-npy"
    assert ref.meta == {"shape": list(array.shape), "dtype": str(array.dtype), "scalar": False}
    assert isinstance(loaded, np.ndarray)
    assert loaded.dtype == array.dtype
    np.testing.assert_array_equal(loaded, array)


@pytest.mark.parametrize(
    "array",
    [
        np.array(["a", "bcd"], dtype="<U3"),
        np.array(["2020-01-01", "2021-02-03"], dtype="datetime64[ns]"),
        np.zeros(3, dtype=[("x", "<i4"), ("y", "<f8")]),
        np.asfortranarray(np.arange(12.0).reshape(3, 4)),
        np.empty((0, 4)),
    ],
    ids=["unicode", "datetime64", "structured", "fortran-order", "empty"],
)
def test_numpy_arrays_of_other_kinds_round_trip(store: ArtifactStore, array: np.ndarray) -> None:
    ref, loaded = round_trip(store, array)
    assert ref.materializer == "numpy-npy"
    assert loaded.dtype == array.dtype
    assert loaded.shape == array.shape
    np.testing.assert_array_equal(loaded, array)


@pytest.mark.parametrize(
    "scalar",
    [
        np.float32(1.5),
        np.float64(-2.25),
        np.int64(-3),
        np.uint8(200),
        np.bool_(True),
        np.complex64(1 + 2j),
        np.datetime64("2020-01-01"),
    ],
    ids=lambda v: type(v).__name__,
)
def test_numpy_scalars_come_back_as_the_same_scalar_type(
    store: ArtifactStore, scalar: np.generic
) -> None:
    ref, loaded = round_trip(store, scalar)
    assert ref.materializer == "numpy-scalar", "numpy scalars are not JSON, even float64"
    assert ref.meta["scalar"] is True
    assert type(loaded) is type(scalar)
    assert loaded == scalar


def test_zero_dimensional_arrays_stay_arrays(store: ArtifactStore) -> None:
    # Regression: 0-d arrays used to load back as numpy scalars.
    ref, loaded = round_trip(store, np.asarray(5))
    assert ref.materializer == "numpy-npy"
    assert isinstance(loaded, np.ndarray)
    assert loaded.shape == ()
    assert loaded == 5


# -- JSON, bytes and files -----------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and infinities included
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.lists(children, max_size=4).map(tuple)
        | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def _shape(value: Any) -> Any:
    """The value's nesting and container types, with tuples read as the lists they become."""
    if isinstance(value, list | tuple):
        return [_shape(item) for item in value]
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    return type(value).__name__


def _types_of(value: Any) -> set[type]:
    if isinstance(value, list | tuple):
        return {type(value)}.union(*(_types_of(item) for item in value))
    if isinstance(value, dict):
        return {dict}.union(*(_types_of(item) for item in value.values()))
    return {type(value)}


@given(value=json_values)
def test_json_values_round_trip(shared_store: ArtifactStore, value: Any) -> None:
    ref, loaded = round_trip(shared_store, value)
    assert ref.materializer == "json"
    # canonical_json tells 1 from 1.0 and True, -0.0 from 0.0, and compares NaN as text;
    # it writes tuples like lists, so _shape checks that they load as real lists.
    assert canonical_json(loaded) == canonical_json(value)
    assert _shape(loaded) == _shape(value)
    assert tuple not in _types_of(loaded)


@pytest.mark.parametrize(
    ("value", "meta"),
    [
        (42, {"kind": "int", "value": 42}),
        ("x" * 201, {"kind": "str"}),
        (math.inf, {"kind": "float"}),
        ((1, 2), {"kind": "tuple"}),
    ],
    ids=["small-int", "long-text", "infinity", "tuple"],
)
def test_json_metadata_keeps_small_scalars_only(
    store: ArtifactStore, value: Any, meta: dict[str, Any]
) -> None:
    assert save_value(store, value).meta == meta


@pytest.mark.parametrize(
    "value",
    [{1: "int key"}, {"a": {"b": object()}}, [1, 2, {3}]],
    ids=["int-key", "nested-object", "set-inside"],
)
def test_almost_json_values_are_not_json(value: Any) -> None:
    with pytest.raises(MaterializerError, match="without pickle"):
        find_materializer(value)


@pytest.mark.parametrize(
    "value", [b"\x00\xffraw", bytearray(b"mutable")], ids=["bytes", "bytearray"]
)
def test_bytes_round_trip_as_bytes(store: ArtifactStore, value: bytes | bytearray) -> None:
    ref, loaded = round_trip(store, value)
    assert ref.materializer == "bytes"
    assert ref.hash == store.put_bytes(bytes(value)), "bytes are stored verbatim"
    assert type(loaded) is bytes
    assert loaded == bytes(value)


def test_a_path_to_a_file_round_trips_as_a_private_copy(
    store: ArtifactStore, tmp_path: Path
) -> None:
    source = tmp_path / "report.csv"
    source.write_text("a,b\n1,2\n")
    ref, loaded = round_trip(store, source)
    assert ref.materializer == "file"
    assert ref.meta == {"filename": "report.csv"}
    assert isinstance(loaded, Path)
    assert loaded.read_text() == "a,b\n1,2\n"
    loaded.write_text("scribbled")  # the copy is private: the stored blob stays intact
    store.verify(ref.hash)
    assert load_value(store, ref).read_text() == "a,b\n1,2\n"


def test_a_loaded_path_keeps_the_file_name(store: ArtifactStore, tmp_path: Path) -> None:
    source = tmp_path / "model.onnx"
    source.write_bytes(b"onnx")
    _, loaded = round_trip(store, source)
    assert loaded.name == "model.onnx"


@pytest.mark.parametrize("kind", ["folder", "missing"])
def test_a_path_that_is_not_a_file_is_refused(
    store: ArtifactStore, tmp_path: Path, kind: str
) -> None:
    target = tmp_path / kind
    if kind == "folder":
        target.mkdir()
    with pytest.raises(MaterializerError, match="is not a file"):
        save_value(store, target)


def test_a_corrupted_value_is_refused_on_load(store: ArtifactStore) -> None:
    ref = save_value(store, {"metric": 0.9})
    Path(store.path(ref.hash)).write_text('{"metric": 1.0}')
    with pytest.raises(IntegrityError, match=ref.hash):
        load_value(store, ref)


def test_a_failing_store_write_is_not_blamed_on_the_materializer(
    store: ArtifactStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises((OSError, ArtifactError)) as caught:
        save_value(store, {"metric": 0.5})
    assert "disk full" in str(caught.value)
    assert not isinstance(caught.value, MaterializerError), str(caught.value)


# -- no pickle unless asked ----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        (Point(1), "tests.store.test_materializers.Point"),
        (np.array([Point(1), None], dtype=object), "numpy.ndarray"),
        (np.array([1, "a"], dtype=object), "numpy.ndarray"),
        ({1, 2}, "builtins.set"),
    ],
    ids=["class-instance", "object-array", "mixed-object-array", "set"],
)
def test_values_without_a_materializer_are_refused(
    store: ArtifactStore, value: Any, type_name: str
) -> None:
    with pytest.raises(MaterializerError) as caught:
        save_value(store, value, what="output 'model' of step 'train'")
    message = str(caught.value)
    assert message.startswith(f"output 'model' of step 'train' is a {type_name}")
    assert "Register a materializer" in message
    assert "allow_pickle=True" in message
    assert "ALAMBIC_ALLOW_PICKLE=true" in message
    assert not list(Path(store.url).rglob("*")), "nothing was written"


def test_an_instance_of_a_local_class_round_trips_with_allow_pickle(
    store: ArtifactStore,
) -> None:
    @dataclasses.dataclass
    class Model:
        weights: list[float]
        name: str

    model = Model([0.5, -1.0], "tiny")
    ref, loaded = round_trip(store, model, allow_pickle=True)
    assert ref.materializer == "cloudpickle"
    assert ref.type_name.endswith("Model")
    assert loaded == model


def test_allow_pickle_does_not_pickle_what_a_materializer_handles(
    store: ArtifactStore,
) -> None:
    assert save_value(store, [1, 2], allow_pickle=True).materializer == "json"
    assert save_value(store, np.arange(3), allow_pickle=True).materializer == "numpy-npy"


def test_a_pickled_artifact_is_not_loaded_without_allow_pickle(store: ArtifactStore) -> None:
    ref = save_value(store, Point(3), allow_pickle=True)
    with pytest.raises(MaterializerError, match="was pickled") as caught:
        load_value(store, ref)
    assert "allow_pickle=True" in str(caught.value)
    assert load_value(store, ref, allow_pickle=True).x == 3


# -- user materializers --------------------------------------------------------------


class PointMaterializer(Materializer):
    name = "test-point"
    types = (Point,)

    def save(self, value: Any, path: Path) -> dict[str, Any]:
        path.write_text(str(value.x))
        return {"x": value.x}

    def load(self, path: Path) -> Any:
        return Point(int(path.read_text()))


class UpperDictMaterializer(Materializer):
    """Takes dicts away from the built-in JSON materializer."""

    name = "test-upper-dict"
    types = (dict,)

    def save(self, value: Any, path: Path) -> None:
        path.write_text(json.dumps({k.upper(): v for k, v in value.items()}))

    def load(self, path: Path) -> Any:
        return json.loads(path.read_text())


def test_a_registered_materializer_stores_its_type(store: ArtifactStore) -> None:
    register_materializer(PointMaterializer())
    ref, loaded = round_trip(store, Point(7))
    assert ref.materializer == "test-point"
    assert ref.meta == {"x": 7}
    assert isinstance(loaded, Point)
    assert loaded.x == 7


def test_user_materializers_are_tried_before_the_builtins(store: ArtifactStore) -> None:
    assert find_materializer({"a": 1}).name == "json"
    register_materializer(UpperDictMaterializer())
    ref, loaded = round_trip(store, {"a": 1})
    assert ref.materializer == "test-upper-dict"
    assert ref.meta == {}
    assert loaded == {"A": 1}
    assert find_materializer([1]).name == "json", "other types still reach the built-ins"


def test_the_latest_registration_wins_and_a_name_is_replaced() -> None:
    class Other(UpperDictMaterializer):
        name = "test-other-dict"

    first = register_materializer(UpperDictMaterializer())
    second = register_materializer(Other())
    assert find_materializer({}) is second
    again = register_materializer(UpperDictMaterializer())
    assert again is not first
    assert find_materializer({}) is again
    tried = [m.name for m in _materializers.materializer_registry.ordered()]
    mine = [n for n in tried if n in ("test-upper-dict", "test-other-dict")]
    assert mine == ["test-upper-dict", "test-other-dict"]
    assert tried.index("test-other-dict") < tried.index("json"), "before the built-ins"


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_a_builtin_name_cannot_be_registered(name: str) -> None:
    impostor = type("Impostor", (PointMaterializer,), {"name": name})()
    with pytest.raises(MaterializerError, match="built-in materializer name"):
        register_materializer(impostor)
    assert get_materializer(name, allow_pickle=True) is not impostor
    assert find_materializer(Point(1), allow_pickle=True) is _materializers.PICKLE


def test_only_materializer_instances_can_be_registered() -> None:
    with pytest.raises(MaterializerError, match="not a Materializer instance"):
        register_materializer(PointMaterializer)  # type: ignore[arg-type]


def test_loading_with_an_unknown_materializer_name_is_refused(store: ArtifactStore) -> None:
    ref = save_value(store, "text")
    orphan = dataclasses.replace(ref, materializer="from-a-plugin-not-imported")
    with pytest.raises(MaterializerError, match="from-a-plugin-not-imported") as caught:
        load_value(store, orphan)
    assert "register_materializer" in str(caught.value)


# -- references ----------------------------------------------------------------------


@given(
    ref=st.builds(
        ArtifactRef,
        hash=st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
        materializer=st.sampled_from(BUILTIN_NAMES),
        type_name=st.text(max_size=40),
        size=st.integers(min_value=0, max_value=2**53),
        meta=st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8)),
    )
)
def test_artifact_refs_round_trip_through_json(ref: ArtifactRef) -> None:
    assert ArtifactRef.from_dict(json.loads(json.dumps(ref.to_dict()))) == ref
