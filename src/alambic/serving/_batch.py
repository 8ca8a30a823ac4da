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
    >>> import alambic as al
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.linear_model import LogisticRegression
    >>> x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    >>> model = al.models.package(LogisticRegression(max_iter=5000).fit(x, y), x, y)
    >>> version = al.register(model, "fraud-auto")["version"]
    >>> _ = al.registry.approve("fraud-auto", version)
    >>> al.registry.promote("fraud-auto", version, to="production")
    >>> x.assign(listing_id=range(len(x))).to_csv("listings.csv", index=False)
    >>> result = batch_transform("fraud-auto@production", "listings.csv", "scores",
    ...                          id_columns=["listing_id"], chunk_rows=200, n_jobs=1)
    >>> result["rows"], result["chunks_scored"], result["chunks_skipped"]
    (569, 3, 0)
    >>> batch_transform("fraud-auto@production", "listings.csv", "scores",
    ...                 id_columns=["listing_id"], chunk_rows=200)["already_complete"]
    True
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypedDict

from alambic.errors import DataError, ModelError
from alambic.pipelines import step
from alambic.serving._batch_io import AGAIN, Folder, read_chunks, scan_input
from alambic.serving._batch_plan import Source, describe, load_source, make_plan, model_source
from alambic.serving._batch_workers import Scorer, Workers, cores, to_ipc

__all__ = ["DEFAULT_CHUNK_ROWS", "BatchResult", "batch_transform"]

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_ROWS = 100_000
MANIFEST, SUCCESS, LOCK = "_manifest.json", "_SUCCESS", ".alambic-batch.lock"
_PART = re.compile(r"^part-(\d{5,})\.parquet$")
Progress = Callable[[int, int | None], None]


class BatchResult(TypedDict):
    """What a batch transform did: a plain dict, so it travels between pipeline steps.

    ``rows``/``chunks`` count the whole output; ``chunks_scored``/``rows_scored`` what this
    call scored, ``chunks_skipped`` the parts an interrupted call had written;
    ``rows_per_second`` is ``rows_scored / seconds``; ``model`` is ``name/version`` or the
    file; ``already_complete`` says the output was complete before the call.

    Example:
        >>> sorted(BatchResult.__annotations__)[:4]
        ['already_complete', 'chunks', 'chunks_scored', 'chunks_skipped']
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


# -- the output folder: manifest, resume, lock ---------------------------------------
def _differences(previous: dict[str, Any], manifest: dict[str, Any], output: str) -> None:
    """Refuse to resume an output started with another model, input or chunking."""
    was, now = previous.get("model", {}), manifest["model"]
    if was.get("hash") != now["hash"]:
        raise ModelError(
            f"{output} was started with {was.get('label')} (sha256 {str(was.get('hash'))[:12]}), "
            f"not {now['label']} (sha256 {now['hash'][:12]}): one output is scored by one "
            f"model. Resume with {was.get('ref')}, or {AGAIN}"
        )
    for key in ("chunk_rows", "id_columns"):
        if previous.get(key) != manifest[key]:
            raise DataError(
                f"{output} was started with {key}={previous.get(key)}, not {manifest[key]}: "
                f"its parts would not line up. Resume with the same {key}, or {AGAIN}"
            )
    before, after = previous.get("input", {}), manifest["input"]
    if before.get("files") != after["files"] or before.get("format") != after["format"]:
        old = {f["file"]: f for f in before.get("files", [])}
        new = {f["file"]: f for f in after["files"]}
        changed = sorted(n for n in old.keys() | new.keys() if old.get(n) != new.get(n))
        raise DataError(
            f"the input changed since {output} was started (files added, removed or "
            f"modified: {changed[:5]}): resuming would mix two inputs; {AGAIN}"
        )


@contextlib.contextmanager
def _locked(folder: Folder) -> Iterator[None]:
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


def _names(folder: Folder) -> list[str]:
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


def _check_parts(folder: Folder, chunks: int) -> None:
    """Refuse to mark an output complete unless every part is there to be read."""
    missing = sorted(set(range(chunks)) - _done(folder.names()))
    if missing:
        names = [f"part-{i:05d}.parquet" for i in missing]
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        raise DataError(
            f"{len(missing)} of the {chunks} parts are not in {folder.url} after scoring "
            f"({shown}): the worker processes wrote them where this process cannot see them, "
            "or something deleted them. Write to a folder every process can reach (or pass "
            "n_jobs=1), and run again: the missing chunks are scored again"
        )


def _prepare(folder: Folder, manifest: dict[str, Any], resume: bool) -> set[int]:
    """Under the lock: the chunks already written (resume), or a clean folder."""
    names = _names(folder)
    folder.remove([n for n in names if n.endswith(".tmp")])  # a killed run's half-writes
    previous = folder.read_json(MANIFEST) if MANIFEST in names else None
    if previous is not None and resume:
        _differences(previous, manifest, folder.url)
        csv_ids = manifest["input"]["format"] == "csv" and manifest["id_columns"]
        if previous.get("format") == 1 and csv_ids:  # a complete one is still fine as it is
            raise DataError(
                f"{folder.url} was started by an older alambic, which guessed the types of "
                "CSV id columns (00123 read as 123): its parts and the rest would not share "
                f"one schema; {AGAIN}"
            )
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
    chunks: Iterator[Any],
    *,
    scorer: Scorer | None,
    workers: Workers | None,
    folder: Folder,
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
            payload = to_ipc(table)
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
        id_columns: input columns copied to the output beside the predictions, unchanged:
            from CSV, as the text in the file (``00123`` stays ``00123``); from Parquet,
            with their types. An id column that is also a model input is read as the
            model needs it (a number from CSV: float64), since one column is read once.
        chunk_rows: rows per chunk (and per output part).
        n_jobs: worker processes (default: one per core); 1 scores in this process, as
            does an output that lives in this process's memory (``memory://``).
        resume: False deletes an earlier run's parts in ``output`` and starts over.
        on_progress: called as ``on_progress(rows_done, rows_total)`` after each chunk;
            ``rows_total`` is None when unknown (CSV).

    Returns:
        A :class:`BatchResult` dict.

    Raises:
        DataError: the input misses a column the model expects (nothing is scored), an
            id column is not in the input, the output folder holds other files, it
            was started with another input or chunk size, or parts are missing from it
            once scored (``_SUCCESS`` is then not written).
        ModelError: the model has no signature, is a pickle not allowed, fails on a
            chunk, or differs from the one the output was started with.
        NotFoundError: the registry reference names no version.

    Example (the module's example runs one end to end)::

        batch_transform("fraud-auto@production", "s3://bucket/listings/", "scores/",
                        id_columns=["listing_id"])
    """
    started = time.perf_counter()
    ids = [id_columns] if isinstance(id_columns, str) else [str(c) for c in id_columns]
    _check_sizes(chunk_rows, n_jobs)
    folder = Folder(os.fspath(output))
    names = _names(folder)  # refuses a folder of other files before anything is written
    previous = folder.read_json(MANIFEST) if resume and MANIFEST in names else None
    source = model_source(model, (previous or {}).get("model"))
    inputs = scan_input(input)
    root = os.path.abspath(inputs.url) if inputs.local else ""
    if folder.local and os.path.isdir(root) and os.path.commonpath([root, folder.path]) == root:
        raise DataError(
            f"the output {folder.url} is inside the input {inputs.url}; write elsewhere"
        )
    manifest = {
        "format": 2,  # 2: CSV id columns read as text
        "model": source.pin(),
        "input": {"url": inputs.url, "format": inputs.format, "files": inputs.fingerprint},
        "rows": inputs.rows,
        "chunk_rows": chunk_rows,
        "id_columns": ids,
        "started_at": datetime.now(UTC).isoformat(),
    }
    if previous is not None:
        _differences(previous, manifest, folder.url)
        complete = _already_complete(folder, source, started)
        if complete is not None:
            return complete
    left = None  # chunks left to score, when the input's size is known
    if inputs.rows is not None:
        left = -(-inputs.rows // chunk_rows) - len(_done(names) if previous else ())
    n_jobs = _processes(n_jobs, folder, left)
    workers = Workers(n_jobs, source, folder.url) if n_jobs > 1 else None
    try:  # with workers, only they load the model: this process reads and writes
        tally = _score(
            _Job(source, inputs, folder, ids, chunk_rows, manifest, resume, on_progress, started),
            workers,
        )
    finally:
        if workers is not None:
            workers.close()
    seconds = time.perf_counter() - started
    logger.info("scored %d rows into %s in %.1f s", tally.rows_scored, folder.url, seconds)
    return BatchResult(
        output=folder.url,
        rows=tally.rows,
        chunks=tally.chunks,
        chunks_scored=tally.scored,
        chunks_skipped=tally.chunks - tally.scored,
        rows_scored=tally.rows_scored,
        seconds=seconds,
        rows_per_second=tally.rows_scored / seconds if seconds else 0.0,
        model=source.label,
        model_hash=source.hash,
        already_complete=False,
    )


def _check_sizes(chunk_rows: Any, n_jobs: Any) -> None:
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise DataError(f"chunk_rows={chunk_rows!r}: give a whole number of rows, at least 1")
    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, int)):
        raise DataError(f"n_jobs={n_jobs!r}: give a whole number of processes, or None")


def _already_complete(folder: Folder, source: Source, started: float) -> BatchResult | None:
    """The result of an earlier run that finished (its ``_SUCCESS``), or None."""
    summary = folder.read_json(SUCCESS)
    if summary is None:
        return None
    logger.info("%s is already complete (%s rows)", folder.url, summary.get("rows"))
    rows, parts = int(summary["rows"]), int(summary["chunks"])
    return BatchResult(
        output=folder.url,
        rows=rows,
        chunks=parts,
        chunks_scored=0,
        chunks_skipped=parts,
        rows_scored=0,
        seconds=time.perf_counter() - started,
        rows_per_second=0.0,
        model=source.label,
        model_hash=source.hash,
        already_complete=True,
    )


def _processes(n_jobs: int | None, folder: Folder, left: int | None) -> int:
    """How many worker processes score: one per core by default, never more than chunks
    are left, and none when the output lives in this process's memory."""
    asked, count = n_jobs, cores() if n_jobs is None or n_jobs < 1 else n_jobs
    if count > 1 and folder.in_process:
        # Each worker process would write to a memory file system of its own, lost with it.
        log = logger.warning if asked is not None and asked > 1 else logger.info
        log(
            "%s lives in this process's memory, where worker processes cannot write: "
            "scoring in this process (n_jobs=1)",
            folder.url,
        )
        count = 1
    return count if left is None else max(1, min(count, left))


@dataclass(frozen=True)
class _Job:
    """What one batch transform scores, from where, into where."""

    source: Source
    inputs: Any
    folder: Folder
    ids: list[str]
    chunk_rows: int
    manifest: dict[str, Any]
    resume: bool
    on_progress: Progress | None
    started: float  # time.perf_counter() when the transform began


def _score(job: _Job, workers: Workers | None) -> _Tally:
    """Score every chunk not done yet (in this process, or on ``workers``) and write the
    output's ``_SUCCESS``; the tally of what was scored."""
    source, folder = job.source, job.folder
    loaded = None if workers is not None else load_source(source)
    described = workers.ready(source.label) if workers is not None else describe(loaded)
    plan = make_plan(described, source.label, job.inputs, job.ids)
    folder.make()
    tally = _Tally(job.inputs.rows, job.on_progress)
    with _locked(folder):
        columns = [*job.ids, *plan.outputs]
        done = _prepare(folder, {**job.manifest, "columns": columns}, job.resume)
        logger.info(
            "scoring %s with %s into %s: chunks of %d rows, %d process(es), %d done before",
            job.inputs.url,
            source.label,
            folder.url,
            job.chunk_rows,
            1 if workers is None else len(workers.processes),
            len(done),
        )
        if workers is not None:
            workers.start(plan)
        if job.on_progress is not None:
            job.on_progress(0, job.inputs.rows)
        _score_all(
            read_chunks(job.inputs, plan, job.chunk_rows),
            scorer=None if loaded is None else Scorer(loaded, plan, cores()),
            workers=workers,
            folder=folder,
            done=done,
            tally=tally,
            label=source.label,
        )
        _check_parts(folder, tally.chunks)
        summary = {
            "rows": tally.rows,
            "chunks": tally.chunks,
            "chunks_scored": tally.scored,
            "chunks_skipped": tally.chunks - tally.scored,
            "rows_scored": tally.rows_scored,
            "model": source.label,
            "model_ref": source.ref,
            "model_hash": source.hash,
            "seconds": round(time.perf_counter() - job.started, 3),
            "finished_at": datetime.now(UTC).isoformat(),
        }
        folder.write(SUCCESS, json.dumps(summary, indent=1).encode())
    return tally
