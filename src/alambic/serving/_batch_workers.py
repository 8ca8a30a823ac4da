"""Batch transform's scoring: a chunk to its output table, and the worker processes.

Run as ``python -m alambic.serving._batch_workers FD``, a worker loads the model it is
sent first, then scores the chunks it is sent until its socket closes.
"""

from __future__ import annotations

import logging
import os
from typing import Any, cast

from alambic.errors import AlambicError, ModelError
from alambic.serving._batch_io import Folder
from alambic.serving._batch_plan import Plan, Source, describe, load_source
from alambic.serving._predictor import cores

__all__ = ["Scorer", "Workers", "cores", "to_ipc"]

logger = logging.getLogger(__name__)


# -- scoring one chunk ---------------------------------------------------------------
class Scorer:
    """Turns a chunk (an Arrow table) into its output table: ids, prediction, probabilities.

    LightGBM boosters score a float matrix built straight from the Arrow columns
    (categories as the codes they were trained with); other models get a DataFrame with
    the training dtypes.
    """

    def __init__(self, model: Any, plan: Plan, threads: int) -> None:
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
class Workers:
    """``python -m alambic.serving._batch_workers`` processes, each scoring one chunk at a time.

    Plain subprocesses rather than a multiprocessing pool: they never re-import the
    caller's ``__main__`` (a script without a ``__name__`` guard works), each gets its
    share of the cores through the thread variables native libraries read at load, and
    each dies with this process (a killed batch leaves no worker behind). They start
    loading the model at once, while this process checks the input.
    """

    def __init__(self, n: int, source: Source, output: str) -> None:
        import subprocess
        import sys
        from multiprocessing.connection import Connection

        from alambic.executors import spawn

        self.threads = max(1, cores() // n)
        count = str(self.threads)
        env = {**os.environ, "OMP_NUM_THREADS": count, "OPENBLAS_NUM_THREADS": count}
        env.update(MKL_NUM_THREADS=count, PYTHONPATH=os.pathsep.join(filter(None, sys.path)))
        self.idle: list[tuple[subprocess.Popen[bytes], Connection]] = []
        self.busy: dict[Connection, tuple[subprocess.Popen[bytes], int]] = {}
        for _ in range(n):
            self.idle.append(spawn(__name__, env=env))
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

    def start(self, plan: Plan) -> None:
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


def _serve(argv: list[str]) -> None:
    """A worker: load the model sent first, then score chunks until the socket closes."""
    import sys

    from alambic.executors import child_connection
    from alambic.models import package_manifest

    connection = child_connection(argv)
    try:
        init = connection.recv()
    except (EOFError, OSError):
        return
    label = init["label"]
    try:
        if package_manifest(init["model"]).get("flavor") == "lightgbm":
            # A booster scores a float matrix: this worker has no use for scikit-learn,
            # which lightgbm imports when installed (for its sklearn wrappers) and which
            # is most of a worker's start-up. lightgbm treats it as optional.
            sys.modules.setdefault("sklearn", None)  # type: ignore[arg-type]
        source = Source("", label, "", None, None, "", init["model"], init["allow_pickle"])
        model = load_source(source)
    except Exception as exc:
        known = isinstance(exc, AlambicError)
        connection.send((None, str(exc) if known else f"{label}: {type(exc).__name__}: {exc}"))
        return
    connection.send((describe(model), ""))
    import pyarrow as pa

    try:
        scorer, folder = Scorer(model, connection.recv(), init["threads"]), Folder(init["output"])
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


def to_ipc(table: Any) -> bytes:
    """A chunk as Arrow IPC bytes: only its own rows travel, never a parent buffer."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


if __name__ == "__main__":
    # Serve from the importable module, so that the chunks' classes are the same ones.
    import sys

    from alambic.serving import _batch_workers

    _batch_workers._serve(sys.argv)
