"""Batch transform: score a file, a folder or a URL with a model, chunk by chunk, on all cores.

The input (CSV or Parquet: one file, a folder of them, or any fsspec URL) is streamed in
chunks of ``chunk_rows`` rows, so memory stays flat whatever its size. Worker processes
(one per core by default) each load the model once and score the chunks they are sent;
each chunk becomes one Parquet part, ``part-00000.parquet``, ``part-00001.parquet``…,
written atomically, so reading the parts in name order gives the input's row order.

The output folder keeps a manifest (``_manifest.json``) that pins the model version
(name/version and content hash), the input (file names, sizes, modification stamps)
and the chunk size. Run again on the same output after a crash or a kill, and the chunks
whose part exists are not scored again: every input row ends up in the output exactly
once. ``_SUCCESS`` marks a complete output (rows, chunks, model, seconds). Parquet
readers skip names starting with ``_`` or ``.``, so the folder reads as one table.

Example:
    >>> from alambic.serving import batch_transform  # doctest: +SKIP
    >>> result = batch_transform(
    ...     "fraud-auto@production", "s3://bucket/listings/", "scores/", id_columns=["listing_id"]
    ... )  # doctest: +SKIP
    >>> result["rows"], result["chunks_scored"], result["chunks_skipped"]  # doctest: +SKIP
    (5000000, 50, 0)
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, TypedDict, cast

from alambic.errors import AlambicError, DataError, ModelError, RegistryError
from alambic.pipelines import step

__all__ = ["DEFAULT_CHUNK_ROWS", "BatchResult", "batch_transform"]

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_ROWS = 100_000
MANIFEST, SUCCESS, LOCK = "_manifest.json", "_SUCCESS", ".alambic-batch.lock"
_PART = re.compile(r"^part-(\d{5,})\.parquet$")
_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".csv.gz": "csv"}
_STAMPS = ("mtime", "LastModified", "last_modified", "updated", "ETag", "etag", "md5Hash")
_AGAIN = "start over with resume=False (--no-resume), or write to another folder"
Progress = Callable[[int, int | None], None]


class BatchResult(TypedDict):
    """What a batch transform did: a plain dict, so it travels between pipeline steps.

    ``rows``/``chunks`` count the whole output; ``chunks_scored``/``rows_scored`` what this
    call scored, ``chunks_skipped`` the parts an interrupted call had written;
    ``rows_per_second`` is ``rows_scored / seconds``; ``model`` is ``name/version`` or the
    file; ``already_complete`` says the output was complete before the call.

    Example:
        >>> from alambic.serving import batch_transform  # doctest: +SKIP
        >>> batch_transform("fraud-auto/3", "in.csv", "out")["chunks_skipped"]  # doctest: +SKIP
        0
    """

    output: str
    rows: int
    chunks: int
    chunks_scored: int
    chunks_skipped: int
    rows_scored: int
    seconds: float
    rows_per_second: float
    model: str
    model_hash: str
    already_complete: bool


# -- where files live: plain os calls on a local disk, fsspec behind a URL -------------
def _filesystem(url: str) -> tuple[Any, str, bool]:
    """(fsspec file system or None, path in it, whether it is a plain local path)."""
    if "://" not in url:
        return None, os.path.abspath(os.path.expanduser(url)), True
    try:
        import fsspec

        fs, path = fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise DataError(
            f"cannot open {url!r}: {exc}; install the fsspec backend for this protocol "
            "(for example s3fs for s3://)"
        ) from exc
    return fs, path, False


class _Folder:
    """The output folder; a file appears whole or not at all."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.fs, self.path, self.local = _filesystem(url)

    def join(self, name: str) -> str:
        return os.path.join(self.path, name) if self.local else f"{self.path.rstrip('/')}/{name}"

    def names(self) -> list[str]:
        try:
            if self.local:
                return sorted(os.listdir(self.path))
            return sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(self.path, False))
        except (FileNotFoundError, NotADirectoryError):
            return []

    def make(self) -> None:
        if self.local:
            os.makedirs(self.path, exist_ok=True)
        else:
            self.fs.makedirs(self.path, exist_ok=True)

    def write(self, name: str, data: bytes) -> None:
        if not self.local:  # object stores publish an object once its upload is complete
            self.fs.pipe_file(self.join(name), data)
            return
        temp = self.join(f".{name}.{uuid.uuid4().hex}.tmp")
        try:
            with open(temp, "wb") as handle:
                handle.write(data)
            os.replace(temp, self.join(name))
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)

    def write_part(self, index: int, table: Any) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        self.write(f"part-{index:05d}.parquet", sink.getvalue().to_pybytes())

    def read_json(self, name: str) -> dict[str, Any] | None:
        try:
            if self.local:
                with open(self.join(name), "rb") as handle:
                    data = handle.read()
            else:
                data = self.fs.cat_file(self.join(name))
            loaded: dict[str, Any] = json.loads(data)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except ValueError:
            raise DataError(f"{self.join(name)} is not valid JSON; {_AGAIN}") from None
        return loaded

    def remove(self, names: Sequence[str]) -> None:
        for name in names:
            with contextlib.suppress(FileNotFoundError):
                if self.local:
                    os.unlink(self.join(name))
                else:
                    self.fs.rm(self.join(name))


# -- the model: pinned to one version and its content hash ---------------------------
@dataclass(frozen=True)
class _Source:
    ref: str  # as the caller gave it
    label: str  # name/version, or the file
    kind: str  # "registry" or "file"
    name: str | None
    version: int | None
    hash: str
    data: bytes = field(repr=False)
    allow_pickle: bool

    def pin(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k not in ("data", "allow_pickle")}


def _model_source(model: str | os.PathLike[str], pinned: dict[str, Any] | None) -> _Source:
    ref = os.fspath(model)
    if isinstance(model, os.PathLike) or "://" in ref or os.path.exists(ref):
        if "://" in ref:
            fs, path, _ = _filesystem(ref)
            data = fs.cat_file(path)
        else:
            ref = os.path.abspath(ref)
            with open(ref, "rb") as handle:
                data = handle.read()
        return _Source(ref, ref, "file", None, None, hashlib.sha256(data).hexdigest(), data, False)

    from alambic.config import settings
    from alambic.errors import NotFoundError
    from alambic.registry import get_version, registry_store, resolve
    from alambic.store import ArtifactStore

    if pinned is not None and pinned.get("kind") == "registry" and pinned.get("ref") == ref:
        # The alias may have moved since this output was started: its parts are the
        # pinned version's, so the rest must be too.
        record = get_version(str(pinned["name"]), int(pinned["version"]))
        with contextlib.suppress(AlambicError):
            now = resolve(ref)
            if now.version != record.version:
                logger.warning("%s now names %s; resuming with %s", ref, now.ref, record.ref)
    else:
        try:
            record = resolve(ref)
        except (NotFoundError, RegistryError) as exc:
            if "/" in ref or os.sep in ref or ref.endswith(".zip"):
                raise type(exc)(f"{exc}; there is no model file {ref!r} either") from None
            raise
    if record.model.get("materializer") not in ("alambic-model", "alambic-estimator"):
        raise ModelError(f"{record.ref} does not hold a model package; register it again")
    allow = registry_store().get_group(record.group).policy.get("allow_pickle") is True
    data = ArtifactStore(settings().artifacts).get_bytes(record.model["hash"])
    hash_ = record.model["hash"]
    return _Source(ref, record.ref, "registry", record.group, record.version, hash_, data, allow)


def _load(source: _Source) -> Any:
    from alambic.models import loads_model

    try:
        return loads_model(source.data, allow_pickle=source.allow_pickle)
    except ModelError as exc:
        if "pickle" not in str(exc):
            raise
        raise ModelError(
            f"{source.label} is pickled, and loading a pickle runs its code: batch transform "
            "loads one only from a registry group whose policy says allow_pickle: true. "
            "Store the model in a safe format (alambic.models.package), or set that policy"
        ) from None


# -- the input: files, their fingerprint, their columns ------------------------------
@dataclass
class _Input:
    url: str
    fs: Any
    local: bool
    format: str
    columns: dict[str, dict[str, Any]]  # file -> column -> Arrow type (None for CSV)
    rows: int | None
    fingerprint: list[dict[str, Any]]


def _format_of(path: str) -> str | None:
    lower = path.lower()
    return next((kind for suffix, kind in _FORMATS.items() if lower.endswith(suffix)), None)


def _stamp(info: dict[str, Any]) -> str:
    """What says a file changed: its modification time, else its ETag or checksum."""
    return next((str(info[key]) for key in _STAMPS if info.get(key) is not None), "")


def _scan_input(url: str | os.PathLike[str]) -> _Input:
    fs, root, local = _filesystem(os.fspath(url))
    if fs is None:
        from fsspec.implementations.local import LocalFileSystem

        fs = LocalFileSystem()
    try:
        info = fs.info(root)
    except FileNotFoundError:
        raise DataError(
            f"input {url} does not exist; give a CSV or Parquet file, a folder of them, "
            "or an fsspec URL"
        ) from None
    entries = [(root, os.path.basename(root), info)]
    if info["type"] == "directory":
        found = fs.find(root, detail=True)
        entries = []
        for path in sorted(found):  # sorted: a deterministic order, the same on resume
            relative = path[len(root.rstrip("/")) :].strip("/")
            hidden = any(part.startswith((".", "_")) for part in relative.split("/"))
            if not hidden and _format_of(path) is not None:
                entries.append((path, relative, found[path]))
    kinds = {_format_of(path) for path, _, _ in entries}
    if not entries or None in kinds or len(kinds) > 1:
        raise DataError(
            f"input {url}: give CSV files (*.csv, *.csv.gz) or Parquet files (*.parquet), "
            "one file or a folder of files of one format"
        )
    kind = str(kinds.pop())
    fingerprint = [{"file": r, "size": i.get("size"), "stamp": _stamp(i)} for _, r, i in entries]
    columns: dict[str, dict[str, Any]] = {}
    rows: int | None = 0 if kind == "parquet" else None  # a CSV's rows: unknown until read
    try:
        for path, _, _ in entries:
            if kind == "parquet":
                import pyarrow.parquet as pq

                meta = pq.read_metadata(path, filesystem=None if local else fs)
                columns[path] = {f.name: f.type for f in meta.schema.to_arrow_schema()}
                rows = (rows or 0) + meta.num_rows
            else:
                with fs.open(path, "rb", compression="infer") as handle:
                    header = handle.readline().decode("utf-8-sig")
                columns[path] = dict.fromkeys(next(csv.reader([header]), []))
    except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
        raise DataError(f"cannot read the input {url}: {exc}") from exc
    return _Input(os.fspath(url), fs, local, kind, columns, rows, fingerprint)


# -- the plan: what to read, how to score, what to write -----------------------------
@dataclass(frozen=True)
class _Plan:
    ids: list[str]
    features: list[tuple[str, str]]  # (column, kind: number, bool, category, other)
    dtypes: dict[str, str]
    categories: dict[str, list[Any]]
    classes: list[Any]
    outputs: list[str]
    argmax: bool  # the prediction is the class of highest probability

    @property
    def columns(self) -> list[str]:
        return list(dict.fromkeys([*self.ids, *(name for name, _ in self.features)]))


def _kind(dtype: str) -> str:
    if dtype in ("category", "boolean"):
        return {"category": "category", "boolean": "bool"}[dtype]
    import numpy as np

    try:
        code = np.dtype(dtype.lower()).kind  # Int64, Float32: pandas' nullable types
    except TypeError:
        return "other"
    return {"b": "bool", "i": "number", "u": "number", "f": "number"}.get(code, "other")


def _fits(arrow_type: Any, kind: str, levels: list[Any] | None) -> bool:
    import pyarrow as pa

    t = arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type
    numeric = pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
    text = pa.types.is_string(t) or pa.types.is_large_string(t)
    if pa.types.is_null(t) or kind == "other":
        return True
    if kind in ("number", "bool"):
        return bool(numeric or pa.types.is_boolean(t))
    return bool(text or (numeric and levels and not all(isinstance(v, str) for v in levels)))


def _describe(model: Any) -> dict[str, Any]:
    """What the plan needs to know of a loaded model (JSON-able: workers send it)."""
    estimator = model.estimator
    booster = getattr(estimator, "booster_", None)
    return {
        "signature": None if model.signature is None else model.signature.to_dict(),
        "flavor": model.flavor,
        "classes": [
            c.item() if hasattr(c, "item") else c for c in getattr(estimator, "classes_", [])
        ],
        "proba": hasattr(estimator, "predict_proba"),
        "trained": [list(v) for v in getattr(booster, "pandas_categorical", None) or []],
    }


def _make_plan(model: dict[str, Any], label: str, inputs: _Input, ids: list[str]) -> _Plan:
    """Check the input against the model's signature, before anything is scored."""
    from alambic.models import Signature

    if model["signature"] is None:
        raise ModelError(
            f"{label} has no signature, so its input columns are unknown; package it with "
            "alambic.models.package(estimator, X, y) and register or save it again"
        )
    signature = Signature.from_dict(model["signature"])
    dtypes = dict(signature.inputs)
    features = [(name, _kind(dtype)) for name, dtype in signature.inputs]
    categories = {k: list(v) for k, v in (getattr(signature, "categories", None) or {}).items()}
    categorical = [name for name, kind in features if kind == "category"]
    if len(model["trained"]) == len(categorical):  # LightGBM keeps its training levels
        for name, levels in zip(categorical, model["trained"], strict=True):
            categories.setdefault(name, levels)
    for path, columns in inputs.columns.items():
        missing = [c for c in dtypes if c not in columns]
        if missing:
            raise DataError(
                f"{path} lacks the column(s) {missing} that {label} expects (its inputs: "
                f"{list(dtypes)}); nothing was scored. Add them, or use the model trained on "
                "these columns"
            )
        absent = [c for c in ids if c not in columns]
        if absent:
            raise DataError(
                f"id column(s) {absent} are not in {path}; its columns are {list(columns)}. "
                "Pass id columns the input has"
            )
        for name, kind in features:
            arrow_type = columns[name]
            if arrow_type is not None and not _fits(arrow_type, kind, categories.get(name)):
                raise DataError(
                    f"column {name!r} of {path} holds {arrow_type} values, but {label} expects "
                    f"{dtypes[name]}; nothing was scored. Convert the column, or check that "
                    "this is the input meant for this model"
                )
    classes = (model["classes"] or list(signature.classes)) if model["proba"] else []
    outputs = ["prediction", *(["probability"] if len(classes) == 2 else [])]
    outputs += [f"proba_{c}" for c in classes] if len(classes) > 2 else []
    if set(ids) & set(outputs) or len(set(ids)) != len(ids):
        raise DataError(
            f"id columns {ids} repeat a name or clash with the output columns {outputs}; "
            "pass each id column once, and rename input columns named like an output"
        )
    argmax = model["flavor"] in ("lightgbm", "xgboost") and bool(classes)
    return _Plan(ids, features, dtypes, categories, classes, outputs, argmax)


# -- scoring one chunk ---------------------------------------------------------------
class _Scorer:
    """Turns a chunk (an Arrow table) into its output table: ids, prediction, probabilities.

    LightGBM boosters score a float matrix built straight from the Arrow columns
    (categories as the codes they were trained with); other models get a DataFrame with
    the training dtypes.
    """

    def __init__(self, model: Any, plan: _Plan, threads: int) -> None:
        self.plan, self.threads = plan, threads
        self.estimator = model.estimator
        lightgbm = model.flavor == "lightgbm"
        self.booster = getattr(self.estimator, "booster_", None) if lightgbm else None
        self._warned = False

    def _matrix(self, table: Any) -> Any:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        matrix = np.empty((table.num_rows, len(self.plan.features)), dtype=np.float64)
        for j, (name, kind) in enumerate(self.plan.features):
            column = table.column(name)
            if kind == "category":
                if pa.types.is_dictionary(column.type):
                    column = column.cast(column.type.value_type)
                levels = pa.array(self.plan.categories[name])
                if levels.type != column.type:
                    levels, column = levels.cast(pa.string()), column.cast(pa.string())
                column = pc.index_in(column, value_set=levels)  # unknown levels: missing
            matrix[:, j] = column.cast(pa.float64()).to_numpy()  # nulls become NaN
        return matrix

    def _frame(self, table: Any) -> Any:
        import pandas as pd

        frame = table.select([name for name, _ in self.plan.features]).to_pandas()
        for name, kind in self.plan.features:
            if kind == "category" and name in self.plan.categories:
                levels = self.plan.categories[name]
                known = frame[name].where(frame[name].isin(levels))  # unknown: missing
                frame[name] = pd.Categorical(known, categories=levels)
            elif kind == "category":
                if not self._warned:
                    logger.warning("the levels of %s are unknown: each chunk has its own", name)
                    self._warned = True
                frame[name] = frame[name].astype("category")
            elif kind in ("number", "bool") and not frame[name].isna().any():
                frame[name] = frame[name].astype(self.plan.dtypes[name])
        return frame

    def score(self, table: Any) -> Any:
        """The output table of one chunk."""
        import numpy as np
        import pyarrow as pa

        plan = self.plan
        labels: Any = None
        scores: Any = None
        if table.num_rows == 0:
            label = pa.array(plan.classes).type if plan.classes else pa.float64()
            types = [label] + [pa.float64()] * (len(plan.outputs) - 1)
            arrays = [pa.array([], type=t) for t in types]
        elif self.booster is not None:
            scores = np.asarray(self.booster.predict(self._matrix(table), num_threads=self.threads))
            if plan.classes and scores.ndim == 1:  # a binary booster: the positive class
                scores = np.column_stack([1.0 - scores, scores])
            labels = None if plan.classes else scores
        else:
            frame = self._frame(table)
            scores = self.estimator.predict_proba(frame) if plan.classes else None
            labels = None if plan.argmax else np.asarray(self.estimator.predict(frame))
        if table.num_rows:
            if labels is None:  # argmax keeps the first class on ties, as predict() does
                labels = np.asarray(plan.classes)[np.argmax(scores, axis=1)]
            arrays = [pa.array(labels)]
            if plan.classes:
                wanted = [1] if len(plan.classes) == 2 else range(len(plan.classes))
                arrays += [pa.array(scores[:, i]) for i in wanted]
        ids = [table.column(name) for name in plan.ids]
        return pa.Table.from_arrays([*ids, *arrays], names=[*plan.ids, *plan.outputs])


# -- worker processes ----------------------------------------------------------------
class _Workers:
    """``python -m alambic.serving._batch`` processes, each scoring one chunk at a time.

    Plain subprocesses rather than a multiprocessing pool: they never re-import the
    caller's ``__main__`` (a script without a ``__name__`` guard works), each gets its
    share of the cores through the thread variables native libraries read at load, and
    each dies with this process (a killed batch leaves no worker behind). They start
    loading the model at once, while this process checks the input.
    """

    def __init__(self, n: int, source: _Source, output: str) -> None:
        import socket
        import subprocess
        import sys
        from multiprocessing.connection import Connection

        self.threads = max(1, _cores() // n)
        count = str(self.threads)
        env = {**os.environ, "OMP_NUM_THREADS": count, "OPENBLAS_NUM_THREADS": count}
        env.update(MKL_NUM_THREADS=count, PYTHONPATH=os.pathsep.join(filter(None, sys.path)))
        self.idle: list[tuple[subprocess.Popen[bytes], Connection]] = []
        self.busy: dict[Connection, tuple[subprocess.Popen[bytes], int]] = {}
        for _ in range(n):
            mine, theirs = socket.socketpair()
            process = subprocess.Popen(  # noqa: S603 - our own module, no shell
                [sys.executable, "-m", __name__, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env=env,
            )
            theirs.close()
            self.idle.append((process, Connection(mine.detach())))
        self.processes = [process for process, _ in self.idle]
        init = {"model": source.data, "allow_pickle": source.allow_pickle, "output": output}
        init["label"] = source.label
        for _, connection in self.idle:
            _send(connection, {**init, "threads": self.threads})

    def ready(self, label: str) -> dict[str, Any]:
        """Wait until every worker has loaded the model; return its description."""
        replies = []
        for _, connection in self.idle:
            try:
                replies.append(connection.recv())
            except (EOFError, OSError):
                replies.append((None, "its worker process died"))
        for _, error in replies:
            if error:
                raise ModelError(f"{error} (while loading {label})")
        description: dict[str, Any] = replies[0][0]
        return description

    def start(self, plan: _Plan) -> None:
        for _, connection in self.idle:
            _send(connection, plan)

    def submit(self, index: int, payload: bytes) -> None:
        process, connection = self.idle.pop()
        _send(connection, (index, payload))
        self.busy[connection] = (process, index)

    def collect(self, label: str) -> list[int]:
        """Wait for at least one chunk; return the rows of each one finished."""
        from multiprocessing.connection import Connection, wait

        finished = []
        for ready in wait(list(self.busy)):
            connection = cast(Connection, ready)
            process, index = self.busy.pop(connection)
            try:
                rows, error = connection.recv()
            except (EOFError, OSError):
                error = "its worker process died (out of memory, or killed)"
            if error:
                raise ModelError(
                    f"{label} failed on chunk {index}: {error}; fix those rows (or lower "
                    "chunk_rows or n_jobs) and run again: the finished chunks are kept"
                )
            self.idle.append((process, connection))
            finished.append(rows)
        return finished

    def close(self) -> None:
        """Stop every worker now: parts are written whole or not at all, so none is lost."""
        for process in self.processes:
            process.kill()
        for process in self.processes:
            process.wait()
        for connection in [*(c for _, c in self.idle), *self.busy]:
            connection.close()


def _send(connection: Any, message: Any) -> None:
    try:
        connection.send(message)
    except OSError:  # BrokenPipeError, ConnectionResetError: it is gone
        raise ModelError(
            "a worker process died (out of memory, or killed); lower chunk_rows or n_jobs and "
            "run again: the finished chunks are kept"
        ) from None


def _serve(fd: int) -> None:
    """A worker: load the model sent first, then score chunks until the socket closes."""
    import io
    import sys
    import zipfile
    from multiprocessing.connection import Connection

    from alambic.models._model import _MANIFEST
    from alambic.pipelines._worker import _die_with_parent

    _die_with_parent()
    connection = Connection(fd)
    try:
        init = connection.recv()
    except (EOFError, OSError):
        return
    label = init["label"]
    try:
        with zipfile.ZipFile(io.BytesIO(init["model"])) as package:
            flavor = json.loads(package.read(_MANIFEST)).get("flavor")
        if flavor == "lightgbm":
            # A booster scores a float matrix: this worker has no use for scikit-learn,
            # which lightgbm imports when installed (for its sklearn wrappers) and which
            # is most of a worker's start-up. lightgbm treats it as optional.
            sys.modules.setdefault("sklearn", None)  # type: ignore[arg-type]
        model = _load(_Source("", label, "", None, None, "", init["model"], init["allow_pickle"]))
    except Exception as exc:
        known = isinstance(exc, AlambicError)
        connection.send((None, str(exc) if known else f"{label}: {type(exc).__name__}: {exc}"))
        return
    connection.send((_describe(model), ""))
    import pyarrow as pa

    try:
        scorer, folder = _Scorer(model, connection.recv(), init["threads"]), _Folder(init["output"])
        while True:
            index, payload = connection.recv()
            try:
                table = pa.ipc.open_stream(payload).read_all()
                folder.write_part(index, scorer.score(table))
                connection.send((table.num_rows, ""))
            except Exception as exc:
                connection.send((0, f"{type(exc).__name__}: {exc}"))
    except (EOFError, OSError):  # the parent is done, or gave up
        return


def _ipc(table: Any) -> bytes:
    """A chunk as Arrow IPC bytes: only its own rows travel, never a parent buffer."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# -- reading in chunks ---------------------------------------------------------------
def _batches(inputs: _Input, plan: _Plan) -> Iterator[Any]:
    """The input's record batches, file after file, one row group or CSV block at a time.

    Not through a dataset scanner: it reads ahead as far as a whole file, so memory
    would grow with the file's size.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    types = {"number": pa.float64(), "bool": pa.bool_(), "category": pa.string()}
    known = {name: types[kind] for name, kind in plan.features if kind in types}
    for name, levels in plan.categories.items():  # categories of numbers: as they are
        if levels and not all(isinstance(v, str) for v in levels):
            known.pop(name, None)
    convert = pacsv.ConvertOptions(column_types=known, include_columns=plan.columns)
    schema, parquet = None, inputs.format == "parquet"
    for path in inputs.columns:
        with contextlib.ExitStack() as stack:
            if not inputs.local:
                unzip = None if parquet else "infer"  # a local .csv.gz: pyarrow unzips it
                path = stack.enter_context(inputs.fs.open(path, "rb", compression=unzip))
            if parquet:
                reader = stack.enter_context(pq.ParquetFile(path))
                batches = (  # by row group: iter_batches keeps memory it no longer needs
                    batch
                    for group in range(reader.num_row_groups)
                    for batch in reader.read_row_group(group, columns=plan.columns).to_batches()
                )
            else:
                reader = pacsv.open_csv(path, convert_options=convert)
                batches = iter(reader)
            for batch in batches:
                yield batch.select(plan.columns)
            schema = schema or (reader.schema_arrow if parquet else reader.schema)
    if schema is not None:
        yield pa.RecordBatch.from_pylist([], schema=schema).select(plan.columns)  # typed end


def _chunks(inputs: _Input, plan: _Plan, chunk_rows: int) -> Iterator[Any]:
    """Tables of exactly ``chunk_rows`` rows (the last one: the rest), in input order.

    Chunks do not follow files or row groups, so their bounds depend only on the input's
    rows and ``chunk_rows``: a resumed run cuts the same chunks. An empty input gives one
    empty chunk, so that the output still has a typed part.
    """
    import pyarrow as pa

    pending: list[Any] = []
    held, cut = 0, False
    try:
        for batch in _batches(inputs, plan):
            if batch.num_rows == 0 and not pending and not cut:
                pending.append(batch)  # kept only if the whole input is empty
            while batch.num_rows:
                take = min(chunk_rows - held, batch.num_rows)
                pending.append(batch.slice(0, take))
                held, batch = held + take, batch.slice(take)
                if held == chunk_rows:
                    yield _table(pending)
                    pending, held, cut = [], 0, True
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        raise DataError(
            f"cannot read the input {inputs.url}: {exc}; fix the file (the finished chunks "
            "are kept: run again to resume)"
        ) from exc
    if pending:
        yield _table(pending)


def _table(batches: list[Any]) -> Any:
    """One table of batches; files whose types differ a little (int, float) are unified."""
    import pyarrow as pa

    tables = [pa.Table.from_batches([batch]) for batch in batches]
    return pa.concat_tables(tables, promote_options="permissive")


# -- the output folder: manifest, resume, lock ---------------------------------------
def _differences(previous: dict[str, Any], manifest: dict[str, Any], output: str) -> None:
    """Refuse to resume an output started with another model, input or chunking."""
    was, now = previous.get("model", {}), manifest["model"]
    if was.get("hash") != now["hash"]:
        raise ModelError(
            f"{output} was started with {was.get('label')} (sha256 {str(was.get('hash'))[:12]}), "
            f"not {now['label']} (sha256 {now['hash'][:12]}): one output is scored by one "
            f"model. Resume with {was.get('ref')}, or {_AGAIN}"
        )
    for key in ("chunk_rows", "id_columns"):
        if previous.get(key) != manifest[key]:
            raise DataError(
                f"{output} was started with {key}={previous.get(key)}, not {manifest[key]}: "
                f"its parts would not line up. Resume with the same {key}, or {_AGAIN}"
            )
    before, after = previous.get("input", {}), manifest["input"]
    if before.get("files") != after["files"] or before.get("format") != after["format"]:
        old = {f["file"]: f for f in before.get("files", [])}
        new = {f["file"]: f for f in after["files"]}
        changed = sorted(n for n in old.keys() | new.keys() if old.get(n) != new.get(n))
        raise DataError(
            f"the input changed since {output} was started (files added, removed or "
            f"modified: {changed[:5]}): resuming would mix two inputs; {_AGAIN}"
        )


@contextlib.contextmanager
def _locked(folder: _Folder) -> Iterator[None]:
    """One writer per local output folder (the lock goes with its process, even killed)."""
    try:
        import fcntl
    except ImportError:  # not a Unix: no lock
        fcntl = None  # type: ignore[assignment]
    if fcntl is None or not folder.local:
        yield
        return
    handle = os.open(folder.join(LOCK), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataError(
                f"another batch transform is writing to {folder.url}; wait for it to end, "
                "or write to another folder"
            ) from None
        yield
    finally:
        os.close(handle)


def _ours(name: str) -> bool:
    return bool(_PART.match(name)) or name in (MANIFEST, SUCCESS, LOCK) or name.endswith(".tmp")


def _names(folder: _Folder) -> list[str]:
    """The folder's files, refusing a folder holding files no batch transform wrote."""
    names = folder.names()
    if MANIFEST not in names and [n for n in names if n != LOCK]:
        foreign = [n for n in names if not _ours(n)] or names
        raise DataError(
            f"{folder.url} is not empty and was not written by a batch transform "
            f"(it holds {foreign[:3]}); write to a new or empty folder"
        )
    return names


def _done(names: list[str]) -> set[int]:
    return {int(m.group(1)) for m in map(_PART.match, names) if m}


def _prepare(folder: _Folder, manifest: dict[str, Any], resume: bool) -> set[int]:
    """Under the lock: the chunks already written (resume), or a clean folder."""
    names = _names(folder)
    folder.remove([n for n in names if n.endswith(".tmp")])  # a killed run's half-writes
    previous = folder.read_json(MANIFEST) if MANIFEST in names else None
    if previous is not None and resume:
        _differences(previous, manifest, folder.url)
        return _done(names)
    folder.remove([n for n in names if _ours(n) and n != LOCK])
    folder.write(MANIFEST, json.dumps(manifest, indent=1, default=str).encode())
    return set()


# -- the transform -------------------------------------------------------------------
@dataclass
class _Tally:
    total: int | None
    on_progress: Progress | None
    rows: int = 0
    chunks: int = 0
    scored: int = 0
    rows_scored: int = 0

    def add(self, rows: int, *, scored: bool) -> None:
        self.rows, self.chunks = self.rows + rows, self.chunks + 1
        if scored:
            self.scored, self.rows_scored = self.scored + 1, self.rows_scored + rows
        if self.on_progress is not None:
            self.on_progress(self.rows, self.total)


def _score_all(
    scorer: _Scorer | None,
    workers: _Workers | None,
    chunks: Iterator[Any],
    folder: _Folder,
    done: set[int],
    tally: _Tally,
    label: str,
) -> None:
    for index, table in enumerate(chunks):  # read ahead while the workers score
        if index in done:
            tally.add(table.num_rows, scored=False)
        elif scorer is not None:  # in this process: LightGBM's own threads use the cores
            try:
                folder.write_part(index, scorer.score(table))
            except Exception as exc:
                raise ModelError(
                    f"{label} failed on chunk {index}: {type(exc).__name__}: {exc}; fix those "
                    "rows and run again: the finished chunks are kept"
                ) from exc
            tally.add(table.num_rows, scored=True)
        elif workers is not None:
            payload = _ipc(table)
            while not workers.idle:
                for rows in workers.collect(label):
                    tally.add(rows, scored=True)
            workers.submit(index, payload)
    while workers is not None and workers.busy:
        for rows in workers.collect(label):
            tally.add(rows, scored=True)


@step(cache=False)  # the input and output live outside alambic: each run looks at them again
def batch_transform(
    model: str | os.PathLike[str],
    input: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    id_columns: Sequence[str] = (),
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    n_jobs: int | None = None,
    resume: bool = True,
    on_progress: Progress | None = None,
) -> BatchResult:
    """Score every row of a CSV/Parquet file, folder or URL with a model, into Parquet parts.

    The input is read in chunks of ``chunk_rows`` rows (memory stays flat); ``n_jobs``
    worker processes each load the model once and score chunks, each written as
    ``OUTPUT/part-NNNNN.parquet`` (name order is input order) with the ``id_columns``,
    ``prediction`` and, for classifiers, ``probability`` (binary: of the second class,
    the positive one) or ``proba_<class>`` (multiclass). Calling it again on the same
    output resumes: chunks already written are not scored again, and a complete output
    returns at once. Also a pipeline step (never cached: it looks at the files each run).

    Args:
        model: a registry reference (``fraud-auto@production``, ``fraud-auto/3``,
            ``fraud-auto`` for the latest) or a model file (``alambic.models.save_model``).
            The version is pinned in the output's manifest: a resumed run uses it even if
            the alias has moved since. A pickled model loads only if its group's policy
            says ``allow_pickle: true``.
        input: a ``.csv``/``.parquet`` file, a folder of them (read in sorted name order,
            skipping names starting with ``.`` or ``_``), or an fsspec URL of either.
        output: the output folder, a path or an fsspec URL.
        id_columns: input columns copied to the output beside the predictions.
        chunk_rows: rows per chunk (and per output part).
        n_jobs: worker processes (default: one per core); 1 scores in this process.
        resume: False deletes an earlier run's parts in ``output`` and starts over.
        on_progress: called as ``on_progress(rows_done, rows_total)`` after each chunk;
            ``rows_total`` is None when unknown (CSV).

    Returns:
        A :class:`BatchResult` dict.

    Raises:
        DataError: the input misses a column the model expects (nothing is scored), an
            id column is not in the input, the output folder holds other files, or it
            was started with another input or chunk size.
        ModelError: the model has no signature, is a pickle not allowed, fails on a
            chunk, or differs from the one the output was started with.
        NotFoundError: the registry reference names no version.

    Example:
        >>> from alambic.serving import batch_transform  # doctest: +SKIP
        >>> batch_transform("fraud-auto@production", "listings.parquet", "scores",
        ...                 id_columns=["listing_id"])["rows"]  # doctest: +SKIP
        200000
    """
    started = time.perf_counter()
    ids = [id_columns] if isinstance(id_columns, str) else [str(c) for c in id_columns]
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise DataError(f"chunk_rows={chunk_rows!r}: give a whole number of rows, at least 1")
    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, int)):
        raise DataError(f"n_jobs={n_jobs!r}: give a whole number of processes, or None")
    folder = _Folder(os.fspath(output))
    names = _names(folder)  # refuses a folder of other files before anything is written
    previous = folder.read_json(MANIFEST) if resume and MANIFEST in names else None
    source = _model_source(model, (previous or {}).get("model"))
    inputs = _scan_input(input)
    root = os.path.abspath(inputs.url) if inputs.local else ""
    if folder.local and os.path.isdir(root) and os.path.commonpath([root, folder.path]) == root:
        raise DataError(
            f"the output {folder.url} is inside the input {inputs.url}; write elsewhere"
        )
    manifest = {
        "format": 1,
        "model": source.pin(),
        "input": {"url": inputs.url, "format": inputs.format, "files": inputs.fingerprint},
        "rows": inputs.rows,
        "chunk_rows": chunk_rows,
        "id_columns": ids,
        "started_at": datetime.now(UTC).isoformat(),
    }
    if previous is not None:
        _differences(previous, manifest, folder.url)
        summary = folder.read_json(SUCCESS)
        if summary is not None:
            logger.info("%s is already complete (%s rows)", folder.url, summary.get("rows"))
            seconds = time.perf_counter() - started
            rows, parts = int(summary["rows"]), int(summary["chunks"])
            return BatchResult(
                output=folder.url, rows=rows, chunks=parts, chunks_scored=0,
                chunks_skipped=parts, rows_scored=0, seconds=seconds, rows_per_second=0.0,
                model=source.label, model_hash=source.hash, already_complete=True,
            )  # fmt: skip
    n_jobs = _cores() if n_jobs is None or n_jobs < 1 else n_jobs
    if inputs.rows is not None:  # no more workers than chunks left to score
        left = -(-inputs.rows // chunk_rows) - len(_done(names) if previous else ())
        n_jobs = max(1, min(n_jobs, left))
    workers = _Workers(n_jobs, source, folder.url) if n_jobs > 1 else None
    try:  # with workers, only they load the model: this process reads and writes
        loaded = None if workers is not None else _load(source)
        described = workers.ready(source.label) if workers is not None else _describe(loaded)
        plan = _make_plan(described, source.label, inputs, ids)
        folder.make()
        tally = _Tally(inputs.rows, on_progress)
        with _locked(folder):
            done = _prepare(folder, {**manifest, "columns": [*ids, *plan.outputs]}, resume)
            logger.info(
                "scoring %s with %s into %s: chunks of %d rows, %d process(es), %d done before",
                inputs.url, source.label, folder.url, chunk_rows, n_jobs, len(done),
            )  # fmt: skip
            if workers is not None:
                workers.start(plan)
            if on_progress is not None:
                on_progress(0, inputs.rows)
            scorer = None if loaded is None else _Scorer(loaded, plan, _cores())
            chunks = _chunks(inputs, plan, chunk_rows)
            _score_all(scorer, workers, chunks, folder, done, tally, source.label)
            seconds = time.perf_counter() - started
            summary = {
                "rows": tally.rows,
                "chunks": tally.chunks,
                "chunks_scored": tally.scored,
                "chunks_skipped": tally.chunks - tally.scored,
                "rows_scored": tally.rows_scored,
                "model": source.label,
                "model_ref": source.ref,
                "model_hash": source.hash,
                "seconds": round(seconds, 3),
                "finished_at": datetime.now(UTC).isoformat(),
            }
            folder.write(SUCCESS, json.dumps(summary, indent=1).encode())
    finally:
        if workers is not None:
            workers.close()
    logger.info("scored %d rows into %s in %.1f s", tally.rows_scored, folder.url, seconds)
    return BatchResult(
        output=folder.url, rows=tally.rows, chunks=tally.chunks, chunks_scored=tally.scored,
        chunks_skipped=tally.chunks - tally.scored, rows_scored=tally.rows_scored,
        seconds=seconds, rows_per_second=tally.rows_scored / seconds if seconds else 0.0,
        model=source.label, model_hash=source.hash, already_complete=False,
    )  # fmt: skip


if __name__ == "__main__":
    # Serve from the importable module, so that the chunks' classes are the same ones.
    import sys

    from alambic.serving import _batch

    _batch._serve(int(sys.argv[1]))
