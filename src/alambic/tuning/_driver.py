"""The study driver: ask Optuna for points, run them as trials on the executor, tell the results.

:class:`StudyDriver` owns one search while it runs: the study, the executor pool, the
trials in flight, the budget (``n_trials``, ``timeout``, ``trial_timeout``), progress
reports and each trial's tracked run. Its loop is three steps: :meth:`~StudyDriver.fill`
submits trials while a worker is free, :meth:`~StudyDriver.collect` tells the study what
finished, :meth:`~StudyDriver.expire` stops trials that ran too long. A failing,
timed-out or crashed trial is recorded as failed with its reason and the study goes on.

:func:`alambic.tuning.tune` builds one from its arguments::

    StudyDriver(study, objective, space=space, metrics=["roc_auc"], limits=limits,
                settings=settings(), executor=None).run()

Example:
    >>> limits = Limits(n_jobs=2, n_trials=30, timeout=None, trial_timeout=60.0)
    >>> limits.n_jobs, limits.trial_timeout
    (2, 60.0)
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from alambic.tuning._space import Space

if TYPE_CHECKING:
    from alambic.config import Settings
    from alambic.executors import BaseExecutor, Task, TaskResult

__all__ = ["Limits", "StudyDriver"]

log = logging.getLogger(__name__)

# A trial sent to a pool whose workers are still starting (a process, its imports: seconds
# on a loaded machine) is not timed out for that wait: it gets this much more.
STARTUP_GRACE_S = 10.0
_TRIAL_CODE = {"module": "alambic.tuning._trial", "file": None, "qualname": "run_trial"}


@dataclass(frozen=True)
class Limits:
    """How much a study may run.

    Attributes:
        n_jobs: trials running at once.
        n_trials: trials to finish (those of a resumed study count), or None for no limit.
        timeout: seconds after which no trial starts, or None.
        trial_timeout: seconds after which a running trial is stopped as failed, or None
            (those sent before the pool first answered get ``STARTUP_GRACE_S`` more).
        stop_at: seconds after the start when trials still running are stopped as
            failed (a hard end to the study), or None.
    """

    n_jobs: int
    n_trials: int | None
    timeout: float | None
    trial_timeout: float | None
    stop_at: float | None = None


@dataclass
class _Running:
    trial: Any
    params: dict[str, Any]
    run_id: str
    started: float


class StudyDriver:
    """Runs a study's trials on an executor pool until its budget is spent.

    Args:
        study: the Optuna study, created or resumed (and warm-started) already.
        objective: what each trial evaluates (see :func:`~alambic.tuning._trial.run_trial`).
        space: the search space, which samples each trial's parameters.
        metrics: the objectives' names, in the study's order.
        limits: the budget.
        settings: alambic's settings (executor and artifact store).
        executor: the executor's name (default: the configured one).
        pruning: what a worker needs to reopen the study and prune, or None.
        in_step: whether a pipeline step runs the study (its run is then the trials' parent).
        on_progress: called with ``{"done", "total", "best", "running"}`` as trials go,
            and ``finished`` (the trial that just ended: ``number``, ``state``,
            ``values``, ``params``, ``reason``) and ``running_params`` (the params of each
            trial still running).
    """

    def __init__(
        self,
        study: Any,
        objective: dict[str, Any],
        *,
        space: Space,
        metrics: list[str],
        limits: Limits,
        settings: Settings,
        executor: str | None,
        pruning: dict[str, Any] | None = None,
        in_step: bool = False,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        import optuna

        self.study = study
        self.name: str = study.study_name
        self.objective = objective
        self.space = space
        self.metrics = metrics
        self.limits = limits
        self.settings = settings
        self.executor = executor
        self.pruning = pruning
        self.on_progress = on_progress
        self.tracker = _Tracker(self.name, metrics, space, in_step=in_step)
        self.states = optuna.trial.TrialState
        self.running: dict[str, _Running] = {}
        self.done = _count_done(study)
        self.best_text = "–"
        self.started = 0.0  # the clock starts in run(), before the workers do
        self.first_answer = math.inf  # when the first trial came back (the pool is up)
        self._pool: BaseExecutor | None = None

    @property
    def pool(self) -> BaseExecutor:
        """The executor's pool (open while :meth:`run` runs)."""
        if self._pool is None:
            raise RuntimeError("the study driver's pool is open only inside run()")
        return self._pool

    def run(self) -> None:
        """Run trials until none may start and none is left running; end the tracking."""
        from alambic.executors import create_executor

        self.started = time.monotonic()
        with create_executor(self.settings, self.executor, max_workers=self.limits.n_jobs) as pool:
            self._pool = pool
            try:
                while True:
                    self.fill()
                    if not self.running:
                        break
                    self.collect()
                    self.expire()
            finally:
                self._pool = None
        self.tracker.close()

    def fill(self) -> None:
        """Ask for trials and submit them while a worker is free and the budget allows."""
        limit = self.limits.timeout
        out_of_time = limit is not None and time.monotonic() - self.started > limit
        while not out_of_time and self._room():
            self._submit(self.study.ask())

    def collect(self) -> None:
        """Wait (up to a second) for trials to end; tell the study and track each."""
        for result in self.pool.wait(1.0):
            self.first_answer = min(self.first_answer, time.monotonic())
            entry = self.running.pop(result.task_id, None)
            if entry is None:
                continue
            outcome = _outcome(result, self.settings.artifacts)
            self._finish(entry, outcome, result.tracking)
            self.best_text = _best_text(self.study, self.metrics)
            finished = _finished(entry, outcome)
            log.info(
                "trial %d %s in %.1fs · best %s",
                entry.trial.number,
                outcome["state"] if outcome["state"] != "complete" else outcome["values"],
                time.monotonic() - entry.started,
                self.best_text,
            )
            self.progress(finished)

    def expire(self) -> None:
        """Stop the trials running longer than ``trial_timeout``; record them as failed."""
        per_trial, stop_at = self.limits.trial_timeout, self.limits.stop_at
        if per_trial is None and stop_at is None:
            return
        now = time.monotonic()
        ended = stop_at is not None and now - self.started > stop_at
        for task_id, entry in list(self.running.items()):
            # a trial sent before any worker answered also waited for one to start
            grace = STARTUP_GRACE_S if entry.started < self.first_answer else 0.0
            late = per_trial is not None and now - entry.started > per_trial + grace
            if late or ended:
                self.pool.cancel(task_id)
                del self.running[task_id]
                reason = (
                    f"timed out after {per_trial:g}s (trial_timeout)"
                    if late
                    else f"stopped: the study's end came ({stop_at:g}s, stop_at)"
                )
                outcome = {"state": "fail", "reason": reason}
                self._finish(entry, outcome, {})
                self.progress(_finished(entry, outcome))

    def progress(self, finished: dict[str, Any] | None = None) -> None:
        """Report how far the study is, in live views and to ``on_progress``."""
        from alambic.executors import report_progress

        budget = self.limits.n_trials
        total = budget if budget is not None else "?"
        running = len(self.running)
        report_progress(f"trials {self.done}/{total} · best {self.best_text} · running {running}")
        if self.on_progress is not None:
            self.on_progress(
                {
                    "done": self.done,
                    "total": budget,
                    "best": self.best_text,
                    "running": running,
                    "finished": finished,
                    "running_params": [dict(e.params) for e in self.running.values()],
                }
            )

    def _room(self) -> bool:
        """Whether another trial may start: a worker is free and the budget not spent."""
        in_flight = len(self.running)
        budget = self.limits.n_trials
        return in_flight < self.limits.n_jobs and (budget is None or self.done + in_flight < budget)

    def _submit(self, trial: Any) -> None:
        params = self.space.sample(trial)
        run_id = self.tracker.start(trial.number, params)
        spec = {
            "params": params,
            "number": trial.number,
            "trial_id": trial._trial_id,
            "study": self.pruning,
            "objective": self.objective,
        }
        task_id = f"{self.name}:{trial.number}"
        self.pool.submit(_task(task_id, spec, self.settings.artifacts, trial.number))
        self.running[task_id] = _Running(trial, params, run_id, time.monotonic())
        self.progress()

    def _finish(self, entry: _Running, outcome: dict[str, Any], logged: dict[str, Any]) -> None:
        _tell(self.study, entry, outcome, self.states)
        self.tracker.finish(entry, outcome, logged)
        self.done += 1


def _finished(entry: _Running, outcome: dict[str, Any]) -> dict[str, Any]:
    """What ``on_progress`` hears of a trial that ended."""
    return {
        "number": entry.trial.number,
        "state": outcome["state"],
        "values": outcome.get("values"),
        "params": dict(entry.params),
        "reason": outcome.get("reason", ""),
    }


def _task(task_id: str, spec: dict[str, Any], artifacts: str, number: int) -> Task:
    from alambic.executors import call_task

    return call_task(task_id, _TRIAL_CODE, {"spec": spec}, artifacts, label=f"trial-{number}")


def _outcome(result: TaskResult, artifacts: str) -> dict[str, Any]:
    """A trial's result as ``{"state", "values", "reason", ...}``."""
    if not result.ok:
        reason = (result.error or "failed").strip().splitlines()[0]
        if result.crashed:
            reason = f"worker crashed: {reason.removeprefix('WorkerCrashed: ')}"
        return {"state": "fail", "reason": reason, "duration": result.duration}
    from alambic.store import ArtifactRef, ArtifactStore, load_value

    data = load_value(ArtifactStore(artifacts), ArtifactRef.from_dict(result.outputs["return"]))
    values = data["values"]
    if data["pruned"]:
        return {**data, "state": "pruned", "reason": "pruned", "duration": result.duration}
    bad = [v for v in values if not math.isfinite(v)]
    if bad:
        return {**data, "state": "fail", "reason": f"the objective returned {bad[0]}"}
    return {**data, "state": "complete", "reason": "", "duration": result.duration}


def _tell(study: Any, entry: _Running, outcome: dict[str, Any], states: Any) -> None:
    trial = entry.trial
    for key, value in (outcome.get("attrs") or {}).items():
        trial.set_user_attr(key, value)
    if outcome["state"] == "complete":
        values = outcome["values"]
        if len(values) != len(study.directions):
            outcome["state"] = "fail"
            outcome["reason"] = (
                f"the objective returned {len(values)} value(s) for {len(study.directions)} "
                "metric(s)"
            )
        else:
            study.tell(trial, values)
            return
    trial.set_user_attr("fail_reason", outcome["reason"])
    state = states.PRUNED if outcome["state"] == "pruned" else states.FAIL
    study.tell(trial, state=state)


def _count_done(study: Any) -> int:
    return sum(
        1
        for t in study.get_trials(deepcopy=False)
        if t.state.is_finished()
        and not t.user_attrs.get("warm_start")
        and t.user_attrs.get("fail_reason", "").split(":")[0] != "interrupted"
    )


def _best_text(study: Any, metrics: list[str]) -> str:
    import optuna

    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        return "–"
    if len(metrics) > 1:
        return f"{len(study.best_trials)} on the Pareto front"
    return f"{metrics[0]}={study.best_value:.4g}"


class _Tracker:
    """Each trial as a tracked run, child of the step's run (or of a ``tune`` run)."""

    def __init__(self, study_name: str, metrics: list[str], space: Space, *, in_step: bool):
        from alambic import tracking

        self.tracking = tracking
        self.metrics = metrics
        self.own: str | None = None
        if not in_step and tracking.active_run_id() is None:
            self.own = tracking.start_run(f"tune {study_name}", kind="tuning").id
        self.parent = tracking.active_run_id()
        tracking.set_tags({"alambic.study": study_name}, run_id=self.parent)
        tracking.log_params(
            {f"space.{k}": v for k, v in space.describe().items()}, run_id=self.parent
        )

    def start(self, number: int, params: dict[str, Any]) -> str:
        # Not made the active run: trials overlap, and each is named by id.
        run = self.tracking.start_run(
            f"trial-{number}", parent=self.parent, kind="trial", activate=False
        )
        self.tracking.log_params(params, run_id=run.id)
        return run.id

    def finish(self, entry: _Running, outcome: dict[str, Any], logged: dict[str, Any]) -> None:
        run_id = entry.run_id
        if logged:
            self.tracking.absorb_tracking(logged, run_id)
        for step, value in outcome.get("intermediate") or []:
            self.tracking.log_metric("intermediate", value, step=step, run_id=run_id)
        if outcome["state"] == "complete":
            values = dict(zip(self.metrics, outcome["values"], strict=False))
            self.tracking.log_metrics(values, run_id=run_id)
        self.tracking.set_tags(
            {"alambic.trial_state": outcome["state"], "alambic.reason": outcome["reason"]},
            run_id=run_id,
        )
        status = "finished" if outcome["state"] == "complete" else "failed"
        if outcome["state"] == "pruned":
            status = "killed"
        self.tracking.end_run(status, run_id=run_id)

    def close(self) -> None:
        if self.own is not None:
            self.tracking.end_run("finished", run_id=self.own)
