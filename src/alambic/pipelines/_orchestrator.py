"""The orchestrator: a durable state machine that drives one run to its end.

All state that matters lives in the metadata database: a run can be resumed by any
process after its orchestrator died. Map fan-out is expanded as soon as its list is
known; a step instance starts when its inputs and conditions are resolved, unless an
earlier result with the same cache key can be reused.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import os
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cloudpickle

from alambic.config import Settings
from alambic.core import new_id, utcnow
from alambic.errors import AlambicError
from alambic.executors import BaseExecutor, Task, TaskResult, create_executor
from alambic.pipelines._cache import Fingerprint, StepCache
from alambic.pipelines._dsl import Step
from alambic.pipelines._graph import Graph, Node
from alambic.pipelines._resolve import DONE, Resolver, Skip, Wait, first_blocker
from alambic.pipelines._store import ArtifactRecord, RunRecord, RunStore, StepRunRecord
from alambic.pipelines._tracked import StepTracker
from alambic.store import ArtifactStore
from alambic.tracking import TrackingStore

log = logging.getLogger(__name__)

__all__ = ["Orchestrator", "StepState"]

TERMINAL = frozenset({"succeeded", "cached", "failed", "skipped", "cancelled"})


_CANCEL_POLL_SECONDS = 1.0  # how soon a running orchestrator notices `alambic cancel`


class _Heartbeat(threading.Thread):
    """Proves the orchestrator alive from its own thread, whatever the loop is doing.

    It notices a cancel request, and a take-over by another orchestrator (after which
    this one must stop without writing).
    """

    def __init__(self, store: RunStore, run_id: str, identity: str, interval: float) -> None:
        super().__init__(name=f"alambic-heartbeat-{run_id}", daemon=True)
        self.store, self.run_id, self.identity, self.interval = store, run_id, identity, interval
        self.stop = threading.Event()
        self.cancel = threading.Event()
        self.lost = threading.Event()

    def run(self) -> None:
        # A cancel is looked for every second (a read), the heartbeat written every interval.
        poll = min(_CANCEL_POLL_SECONDS, self.interval)
        beaten = time.monotonic()
        while not self.stop.wait(poll):
            try:
                if time.monotonic() - beaten >= self.interval - poll / 2:
                    owned, cancel = self.store.heartbeat(self.run_id, self.identity)
                    beaten = time.monotonic()
                else:
                    owned, cancel = True, self.store.cancel_requested(self.run_id)
            except Exception:  # a database hiccup: try again at the next beat
                log.warning("heartbeat of run %s failed", self.run_id, exc_info=True)
                continue
            if cancel:
                self.cancel.set()
            if not owned:
                self.lost.set()
                return


@dataclass(frozen=True)
class Prepared:
    """A step instance whose inputs are resolved: what it runs on, and its cache key."""

    inputs: dict[str, Any]
    key: str
    fingerprint: Fingerprint


@dataclass
class StepState:
    """The orchestrator's view of one step instance."""

    node: Node
    index: tuple[int, ...]
    record: StepRunRecord
    status: str = "pending"
    outputs: dict[str, Any] = field(default_factory=dict)
    attempt: int = 0
    not_before: float = 0.0
    deadline: float | None = None
    task_id: str | None = None
    started: float = 0.0
    skip_failed: bool = False
    reason: str = ""
    prepared: Prepared | None = None

    @property
    def label(self) -> str:
        """``train`` or ``train[1]``."""
        return self.record.label


class Orchestrator:
    """Drives one run: expands maps, resolves inputs, uses the cache, runs and retries steps.

    It holds a :class:`Resolver` (expressions against the step states), a
    :class:`StepCache` (keys, hits, why a step missed) and a :class:`StepTracker` (each
    step as a tracked run); it owns the scheduling and the writes to the run store.

    Args:
        graph: the pipeline's graph.
        run: the run record (already in the store).
        store: the run store.
        settings: where artifacts and logs go, how many workers.
        cache: whether earlier results may be reused.
        on_change: called after every state change (for progress views).
    """

    def __init__(
        self,
        graph: Graph,
        run: RunRecord,
        store: RunStore,
        settings: Settings,
        *,
        cache: bool = True,
        executor: str | None = None,
        max_workers: int | None = None,
        on_change: Callable[[Orchestrator], None] | None = None,
        steps: dict[str, Step[Any, Any]] | None = None,
    ) -> None:
        self.graph = graph
        self.run = run
        self.store = store
        self.settings = settings
        self.artifacts = ArtifactStore(settings.artifacts)
        self.executor_name = executor
        self.max_workers = max_workers
        self.on_change = on_change
        self.steps = steps or {}
        self.identity = f"{socket.gethostname()}:{os.getpid()}"
        self.states: dict[tuple[str, tuple[int, ...]], StepState] = {}
        self.resolver = Resolver(
            graph,
            run.params,
            self.artifacts,
            states=self.states,
            allow_pickle=settings.allow_pickle,
        )
        self.errors = self.resolver.errors  # one list: a map that cannot fan out fails the run
        self.step_cache = StepCache(
            store, self.artifacts, pipeline=graph.name, run_id=run.id, enabled=cache
        )
        # Every executed step is a tracked run (child of the pipeline's), written at flush.
        self.tracker = StepTracker(TrackingStore(store.engine), run, graph.name)
        self.order = graph.topological_order()
        self.previous = {(s.node, s.instance): s for s in store.step_runs(run.id)}
        self._executor: BaseExecutor | None = None
        self._running: dict[str, StepState] = {}
        self._unprepared: list[StepState] = []  # pending, inputs not resolved yet
        self._ready: list[StepState] = []  # inputs resolved, waiting for a worker or a retry
        self._complete: set[str] = set()  # nodes whose instances all exist
        self._lookups: list[StepState] = []  # prepared this round: their keys to look up
        # Writes are batched: one transaction per scheduling round (see _flush).
        self._writes: dict[str, dict[str, Any]] = {}
        self._new_artifacts: list[ArtifactRecord] = []
        self._flushed_at = time.monotonic()
        self._cancelled = False
        self._log_dir = settings.home / "logs" / run.id

    # -- public ----------------------------------------------------------------------
    def execute(self) -> RunRecord:
        """Run to the end; return the final run record."""
        self.store.update_run(
            self.run.id,
            status="running",
            started_at=self.run.started_at or utcnow(),
            ended_at=None,
            error=None,
        )
        self.tracker.started()
        beat = _Heartbeat(self.store, self.run.id, self.identity, self.settings.heartbeat_seconds)
        beat.start()
        lost = False
        try:
            lost = self._loop(beat)
        except KeyboardInterrupt:
            self._cancel_all("interrupted (Ctrl-C)")
            raise
        finally:
            beat.stop.set()
            beat.join()  # no heartbeat may land after the final state below
            if self._executor is not None:
                self._executor.shutdown()
            if not lost:
                self._finish()
        return self.store.get_run(self.run.id)

    def _loop(self, beat: _Heartbeat) -> bool:
        """Schedule, wait and collect until nothing is left; True if the run was taken over."""
        while True:
            if beat.lost.is_set():
                # Another orchestrator took the run over: stop, write nothing.
                log.warning("run %s was taken over by another orchestrator", self.run.id)
                return True
            if beat.cancel.is_set() and not self._cancelled:
                self._cancel_all("cancelled on request")
            if self._cancelled:
                return False
            progressed = self._schedule()
            self._check_deadlines()
            if not self._running and not progressed and not self._ready:
                return False
            wakeup = min(self.settings.heartbeat_seconds, _CANCEL_POLL_SECONDS, self._next_wakeup())
            timeout = max(0.0, wakeup)
            if self._running:
                self._collect(timeout)
            elif not progressed:
                self._flush()
                time.sleep(timeout)  # only retries are due later

    def _collect(self, timeout: float) -> None:
        """Take the results that arrive within ``timeout``, flushing while idle."""
        # Under load results arrive within milliseconds: collect them before writing, so
        # one commit covers many steps. Idle, flush, then block.
        results = self._get_executor().wait(min(timeout, 0.005))
        if not results:
            self._flush()
            results = self._get_executor().wait(timeout)
        for result in results:
            self._on_result(result)
        if time.monotonic() - self._flushed_at > 0.25:
            self._flush()

    def snapshot(self) -> list[StepState]:
        """The step instances known so far, in graph order."""
        rank = {node: i for i, node in enumerate(self.order)}
        # list() copies in one step under the GIL: safe while the loop adds states.
        return sorted(list(self.states.values()), key=lambda s: (rank[s.node.id], s.index))

    # -- scheduling ------------------------------------------------------------------
    def _get_executor(self) -> BaseExecutor:
        if self._executor is None:
            self._executor = create_executor(
                self.settings, self.executor_name, max_workers=self.max_workers
            )
        return self._executor

    def _schedule(self) -> bool:
        progressed = False
        while True:
            changed = self._create_instances()
            for state in list(self._unprepared):
                changed |= self._prepare(state)
            self._lookup_cache()
            changed |= self._launch()
            progressed |= changed
            if not changed:
                return progressed

    def _create_instances(self) -> bool:
        """Add a state for every step instance whose maps are now expanded."""
        new: list[StepState] = []
        for node_id in self.order:
            if node_id in self._complete:
                continue
            node = self.graph.nodes[node_id]
            contexts, complete = self.resolver.contexts(node.scopes, {})
            if complete:
                self._complete.add(node_id)
            for ctx, skip in contexts:
                state = self._new_state(node, ctx, skip)
                if state is not None:
                    new.append(state)
        if new:
            self._save_new(new)
            self._changed()
        return bool(new)

    def _new_state(self, node: Node, ctx: dict[str, int], skip: Skip | None) -> StepState | None:
        """The state of one instance of ``node`` (None if it exists already)."""
        index = tuple(ctx[m] for m in node.scopes if m in ctx)
        key = (node.id, index if skip is None else (*index, -1))
        if key in self.states:
            return None
        instance = ".".join(str(i) for i in index)
        if skip is not None:
            instance = f"{instance}.*" if instance else "*"
        record = StepRunRecord(
            id=new_id("step"),
            run_id=self.run.id,
            pipeline_name=self.graph.name,
            node=node.id,
            instance=instance,
            status="pending",
            created_at=utcnow(),
        )
        state = StepState(node, index, record)
        if skip is not None:
            state.status, state.reason, state.skip_failed = "skipped", skip.reason, skip.failed
            state.record = _replace(record, status="skipped", error=skip.reason)
        self.states[key] = state
        if state.status == "pending":
            self._unprepared.append(state)
        return state

    def _save_new(self, new: list[StepState]) -> None:
        """Insert new step runs; on resume, existing rows are kept as they were."""
        saved = self.store.save_step_runs([s.record for s in new])
        for state, record in zip(new, saved, strict=True):
            state.record = _replace(record, status=state.status, error=state.reason or None)
            if record.status in DONE and state.status == "pending":
                # On resume a finished step keeps its row until it actually runs again:
                # reused, it stays as it was; re-run, _submit overwrites it.
                continue
            if record.status != state.status or record.error != state.record.error:
                self._write(state, status=state.status, error=state.reason or None, outputs={})

    # -- starting steps ----------------------------------------------------------------
    def _prepare(self, state: StepState) -> bool:
        """Resolve a pending step's conditions and inputs: skip it, reuse a result, or queue it.

        Returns:
            Whether the step left the pending list (False: something it needs is not known).
        """
        node = state.node
        ctx = dict(zip(node.scopes, state.index, strict=False))
        guarded = self._guarded(state, ctx)
        if guarded is not True:
            return guarded is False  # False: skipped or failed; None: waits
        inputs = {arg: self.resolver.resolve(expr, ctx) for arg, expr in node.args.items()}
        blocker = first_blocker(list(inputs.values()))
        if isinstance(blocker, Wait):
            return False
        self._unprepared.remove(state)
        if isinstance(blocker, Skip):
            self._skip(state, f"upstream {blocker.reason}", blocker.failed)
            return True
        data = None
        if node.fingerprint:
            try:
                data = self._data_fingerprint(node, inputs)
            except Exception as exc:  # e.g. a source file is missing: nothing is cached
                self._fail(state, f"{type(exc).__name__}: {exc}")
                return True
        fingerprint = Fingerprint.of(node.code_hash, inputs, data)
        state.prepared = Prepared(inputs, fingerprint.key(node.outputs), fingerprint)
        if not self._reuse_previous(state, state.prepared.key):
            if self.step_cache.enabled and node.cache:
                self._lookups.append(state)
            else:
                self._ready.append(state)
        return True

    def _guarded(self, state: StepState, ctx: dict[str, int]) -> bool | None:
        """True when the step's conditions hold; None while they are not known; False when
        they do not hold or cannot be evaluated (the step is then skipped or failed)."""
        node = state.node
        try:
            guard = self.resolver.guards(node.guards, ctx)
        except Exception as exc:
            self._unprepared.remove(state)
            self._fail(state, f"its condition cannot be evaluated: {type(exc).__name__}: {exc}")
            return False
        if isinstance(guard, Wait):
            return None
        if isinstance(guard, Skip):
            self._unprepared.remove(state)
            self._skip(state, guard.reason, guard.failed)
            return False
        if guard is False:
            self._unprepared.remove(state)
            labels = [self.graph.conditions[c]["label"] for c, _ in node.guards]
            self._skip(state, f"condition not met: {' and '.join(labels)}", False)
            return False
        return True

    def _data_fingerprint(self, node: Node, inputs: dict[str, Any]) -> str:
        """Ask the step's fingerprint function for the state of its outside data."""
        step = self.steps.get(node.id)
        if step is None or step.fingerprint is None:
            from alambic.executors import load_code

            step = load_code(node.code, unwrap=False)
        if step.fingerprint is None:  # pragma: no cover - the graph says it has one
            raise AlambicError(f"step {node.id} lost its fingerprint function")
        values = {arg: self.resolver.value(desc) for arg, desc in inputs.items()}
        return str(step.fingerprint(**values))

    def _lookup_cache(self) -> None:
        """Look up the cache keys of every step prepared this round, in one query."""
        if not self._lookups:
            return
        lookups, self._lookups = self._lookups, []
        hits = self.step_cache.hits([s.prepared.key for s in lookups if s.prepared])
        for state in lookups:
            hit = hits.get(state.prepared.key) if state.prepared else None
            if hit is not None:
                self._use_cached(state, hit)
            else:
                self._ready.append(state)

    def _launch(self) -> bool:
        """Submit queued steps while workers are free (and their retry delay has passed)."""
        launched = False
        now = time.monotonic()
        for state in list(self._ready):
            if len(self._running) >= self._get_executor().max_workers:
                break
            if state.not_before > now or state.prepared is None:
                continue
            self._ready.remove(state)
            self._submit(state, state.prepared)
            launched = True
        return launched

    def _reuse_previous(self, state: StepState, key: str) -> bool:
        """On resume: keep a step that succeeded earlier in this run with the same key."""
        previous = self.previous.get((state.node.id, state.record.instance))
        if previous is None or not self.step_cache.reusable(previous, key):
            return False
        state.status, state.outputs = previous.status, dict(previous.outputs)
        state.record = previous
        self._writes.pop(previous.id, None)
        self._changed()
        return True

    def _use_cached(self, state: StepState, hit: StepRunRecord) -> None:
        assert state.prepared is not None  # noqa: S101 - only prepared steps are looked up
        state.status, state.outputs = "cached", dict(hit.outputs)
        now = utcnow()
        self._write(
            state,
            status="cached",
            cache_key=state.prepared.key,
            outputs=state.outputs,
            cached_from=hit.id,
            cache={
                "hit": True,
                "reason": self.step_cache.hit_reason(hit),
                "components": state.prepared.fingerprint.components(),
            },
            inputs={},
            started_at=now,
            ended_at=now,
            duration=0.0,
            log_artifact=hit.log_artifact,
            error=None,
        )
        self._changed()

    def _submit(self, state: StepState, prepared: Prepared) -> None:
        node = state.node
        try:
            payload = self._payload(state, prepared)
        except Exception as exc:  # a function a worker can neither import nor unpickle
            code = node.code
            self._fail(
                state,
                f"step {state.label} cannot be sent to a worker: {code['module']}."
                f"{code['qualname']} cannot be imported by name (define it at the top level "
                f"of a module), and it cannot be pickled: {type(exc).__name__}: {exc}",
            )
            return
        state.attempt += 1
        self._log_dir.mkdir(parents=True, exist_ok=True)
        log_path = str(self._log_dir / f"{state.label}.{state.attempt}-{secrets.token_hex(3)}.log")
        task_id = f"{state.record.id}:{state.attempt}"
        if state.attempt == 1:
            reason = self.step_cache.miss_reason(
                node.id, state.record.instance, prepared.fingerprint, step_cache=node.cache
            )
        else:
            reason = state.record.cache.get("reason", "miss")
        self._write(
            state,
            status="running",
            attempt=state.attempt,
            cache_key=prepared.key,
            cache={"hit": False, "reason": reason, "components": prepared.fingerprint.components()},
            inputs=prepared.inputs,
            started_at=utcnow(),
            log_path=log_path,
            error=None,
            traceback=None,
        )
        state.status, state.task_id, state.started = "running", task_id, time.monotonic()
        state.deadline = state.started + node.timeout if node.timeout else None
        self._running[task_id] = state
        self._get_executor().submit(Task(task_id, payload, log_path))
        self._changed()

    def _payload(self, state: StepState, prepared: Prepared) -> dict[str, Any]:
        """What a worker needs to run one attempt (see :func:`execute_task`)."""
        node = state.node
        code = node.code
        step = self.steps.get(node.id)
        if step is not None and not _importable(code, step.fn):
            # A function of a notebook, a REPL or another function: ship it by value
            # (only runs driven in-process know it).
            pickled = cloudpickle.dumps(step.fn)
            code = {**code, "pickled": base64.b64encode(pickled).decode()}
        return {
            "code": code,
            "code_hash": node.code_hash,
            # A worker checks the code it runs against the key's, unless the step's
            # identity is fixed rather than its source's hash.
            "code_extra": None
            if step is None or step.code_identity is not None
            else f"{step.cache_version}|{step.allow_pickle}",
            "args": prepared.inputs,
            "outputs": node.outputs,
            "label": state.label,
            "step_run": state.record.id,
            "artifacts": self.settings.artifacts,
            "allow_pickle": node.allow_pickle or self.settings.allow_pickle,
        }

    # -- results -------------------------------------------------------------------------
    def _on_result(self, result: TaskResult) -> None:
        state = self._running.pop(result.task_id, None)
        if state is None:
            return  # cancelled or timed out meanwhile
        state.task_id = None
        inputs = state.prepared.inputs if state.prepared else {}
        self.tracker.step(
            step_run=state.record.id,
            label=state.label,
            attempt=state.attempt,
            inputs=inputs,
            result=result,
        )
        log_key = self.artifacts.put_bytes(result.logs.encode()) if result.logs else None
        if result.ok:
            artifacts = [
                ArtifactRecord(
                    o["hash"],
                    o["materializer"],
                    o["type_name"],
                    o["size"],
                    o.get("meta", {}),
                    utcnow(),
                )
                for o in result.outputs.values()
            ]
            values = {
                "status": "succeeded",
                "outputs": result.outputs,
                "ended_at": utcnow(),
                "duration": result.duration,
                "log_artifact": log_key,
                "error": None,
                "traceback": None,
            }
            self._new_artifacts.extend(artifacts)
            self._write(state, **values)
            state.status, state.outputs = "succeeded", result.outputs
            self._changed()
            return
        self._failed_attempt(
            state, result.error or "failed", result.traceback, log_key, result.duration
        )

    def _failed_attempt(
        self, state: StepState, error: str, trace: str | None, log_key: str | None, duration: float
    ) -> None:
        node = state.node
        values: dict[str, Any] = {
            "error": error,
            "traceback": trace,
            "log_artifact": log_key,
            "duration": duration,
            "ended_at": utcnow(),
        }
        if state.attempt <= node.retries and not self._cancelled:
            delay = node.retry_delay * node.backoff ** (state.attempt - 1)
            state.status, state.not_before = "pending", time.monotonic() + delay
            values["status"] = "retrying"
            self._ready.append(state)
            log.info(
                "%s failed (attempt %d), retrying in %.1fs: %s",
                state.label,
                state.attempt,
                delay,
                error,
            )
        else:
            state.status = values["status"] = "failed"
        self._write(state, **values)
        self._changed()

    def _check_deadlines(self) -> None:
        now = time.monotonic()
        for task_id, state in list(self._running.items()):
            if state.deadline is not None and now > state.deadline:
                self._running.pop(task_id)
                self._get_executor().cancel(task_id)
                state.task_id = None
                timeout = state.node.timeout or 0
                self._failed_attempt(
                    state,
                    f"TimeoutError: the step ran longer than its timeout "
                    f"of {timeout:g}s and was stopped",
                    None,
                    None,
                    now - state.started,
                )

    def _next_wakeup(self) -> float:
        now = time.monotonic()
        times = [s.not_before - now for s in self._ready if s.not_before > now]
        times += [s.deadline - now for s in self._running.values() if s.deadline is not None]
        return max(0.01, min(times, default=1.0))

    # -- endings -------------------------------------------------------------------------
    def _skip(self, state: StepState, reason: str, failed: bool) -> None:
        state.status, state.reason, state.skip_failed = "skipped", reason, failed
        self._write(state, status="skipped", error=reason, outputs={})
        self._changed()

    def _fail(self, state: StepState, reason: str) -> None:
        state.status = "failed"
        self._write(state, status="failed", error=reason, ended_at=utcnow())
        self._changed()

    def _cancel_all(self, reason: str) -> None:
        self._cancelled = True
        for task_id, state in list(self._running.items()):
            if self._executor is not None:
                self._executor.cancel(task_id)
            self._running.pop(task_id)
            state.task_id = None
        self._ready.clear()
        self._unprepared.clear()
        for state in self.states.values():
            if state.status not in TERMINAL:
                state.status = "cancelled"
                self._write(state, status="cancelled", error=reason, ended_at=utcnow())
        self.errors.append(reason)
        self._changed()

    def _finish(self) -> None:
        if self._running:  # an unexpected error left steps running: they are lost
            self._cancel_all("the orchestrator stopped")
        failed = [s.label for s in self.states.values() if s.status == "failed"]
        stuck = [s for s in self.states.values() if s.status not in TERMINAL]
        for state in stuck:  # never leave a run half-open
            self._skip(state, "could not be scheduled", True)
        if self._cancelled:
            status = "cancelled"
        elif failed or self.errors or stuck:
            status = "failed"
        else:
            status = "succeeded"
        messages = list(self.errors)
        if failed:
            messages.insert(0, f"{len(failed)} step(s) failed: {', '.join(failed[:10])}")
        self.tracker.ended(status)
        self._flush()
        outputs = None
        if status == "succeeded" and self.graph.outputs is not None:
            desc = self.resolver.resolve(self.graph.outputs, {})
            outputs = None if isinstance(desc, Wait | Skip) else desc
        self.store.update_run(
            self.run.id,
            status=status,
            ended_at=utcnow(),
            error="; ".join(messages) or None,
            outputs=outputs,
            heartbeat_at=None,  # nobody drives it any more: `resume` may claim it at once
        )

    def _write(self, state: StepState, **values: Any) -> None:
        """Change a step run, in memory now and in the store at the next flush."""
        state.record = _replace(state.record, **values)
        self._writes.setdefault(state.record.id, {}).update(values)

    def _flush(self) -> None:
        if self._writes or self._new_artifacts:
            self.store.write_step_updates(self._writes, self._new_artifacts)
            self._writes, self._new_artifacts = {}, []
        self.tracker.flush()
        self._flushed_at = time.monotonic()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self)


def _importable(code: dict[str, Any], fn: Any) -> bool:
    """Whether a worker finds ``fn`` again by its module (or file) and qualified name."""
    module = sys.modules.get(code["module"])
    if module is None or (code["module"] == "__main__" and not code.get("file")):
        return False
    target: Any = module
    for part in code["qualname"].split("."):
        target = getattr(target, part, None)
        if target is None:
            return False
    return getattr(target, "fn", target) is fn


def _replace(record: StepRunRecord, **values: Any) -> StepRunRecord:
    return dataclasses.replace(record, **values)
