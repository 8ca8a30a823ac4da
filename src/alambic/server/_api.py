"""The REST API under ``/api/v1``: runs, schedules, registry actions and monitors.

Each handler calls the same functions as the CLI, acting as the token's holder (the
audit log names ``token:<name>``). Pipelines are named relative to the server's
project folder (``--project``, default the working folder) and must live inside it.
Handlers that touch the database are plain functions: FastAPI runs them in its thread
pool, so a slow query never blocks the event loop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from alambic.server._auth import Caller, require
from alambic.server._schemas import (
    Fire,
    MonitorRun,
    PromoteRequest,
    ReviewRequest,
    Run,
    RunDetail,
    RunRequest,
    Schedule,
    ScheduleDetail,
    ScheduleRequest,
    Step,
    Trigger,
    TriggerDetail,
    TriggerEvent,
    TriggerRequest,
)

__all__ = ["hooks", "router"]

router = APIRouter(prefix="/api/v1")
Reader = Annotated[Caller, Depends(require("read"))]
Runner = Annotated[Caller, Depends(require("run"))]
Admin = Annotated[Caller, Depends(require("admin"))]


def _project(request: Request) -> Path:
    return Path(request.app.state.project)


def _inside(request: Request, ref: str) -> str:
    """Refuse a pipeline file outside the server's project (a token is not a shell)."""
    target = ref.rsplit(":", 1)[0] if ":" in ref and not ref.endswith(".py") else ref
    if target.endswith(".py"):
        root = _project(request).resolve()
        path = (root / target).resolve()
        if root != path and root not in path.parents:
            raise HTTPException(
                422, f"{target} is outside the server's project {root}; name a file inside it"
            )
    return ref


def _run(record: Any) -> Run:
    return Run(
        id=record.id,
        pipeline=record.pipeline_name,
        status=record.status,
        params=record.params,
        created_at=record.created_at,
        started_at=record.started_at,
        ended_at=record.ended_at,
        error=record.error,
        cancel_requested=record.cancel_requested,
    )


# -- health --------------------------------------------------------------------------------
@router.get("/health", tags=["server"])
def health(request: Request) -> dict[str, Any]:
    """Whether the server answers, and which server runs the scheduler (no token needed)."""
    loops = request.app.state.loops
    return {"status": "ok", "scheduler": loops.holder() if loops else None}


# -- runs ----------------------------------------------------------------------------------
@router.get("/runs", tags=["runs"])
def list_runs(
    request: Request,
    _: Reader,
    pipeline: str | None = None,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
) -> list[Run]:
    """Recent runs, newest first."""
    store = _runs(request)
    return [_run(r) for r in store.list_runs(pipeline=pipeline, status=status, limit=limit)]


@router.post("/runs", status_code=201, tags=["runs"])
def submit_run(request: Request, body: RunRequest, caller: Runner) -> Run:
    """Start a run; it goes on in its own process (restarting the server does not stop it).

    The parameters are checked against the pipeline's types first (422 when they do not fit).
    """
    from alambic.pipelines import check_params, describe, launch
    from alambic.registry import acting_as

    with acting_as(caller.actor):
        described = describe(_inside(request, body.pipeline), cwd=_project(request))
        values = check_params(described, body.params, texts=body.texts)
        options = {"cache": body.cache, "executor": body.executor}
        return _run(launch(described, values, options=options))


def _runs(request: Request) -> Any:
    """The run store, opened once per app (what status polls read)."""
    store = getattr(request.app.state, "runs", None)
    if store is None:
        from alambic.config import settings
        from alambic.pipelines import RunStore

        store = request.app.state.runs = RunStore.open(settings().db_url)
    return store


@router.get("/runs/{run_id}", tags=["runs"])
async def show_run(request: Request, run_id: str, _: Reader) -> RunDetail:
    """A run and its steps (``status`` is what ``alambic runs wait`` polls).

    Read on the event loop: two indexed reads, without the ORM, take less time than a hop
    to the thread pool and back costs in waiting for the GIL.
    """
    record, found = _runs(request).run_view(run_id)
    steps = [
        Step(
            name=s.label,
            status=s.status,
            attempt=s.attempt,
            started_at=s.started_at,
            ended_at=s.ended_at,
            duration=s.duration,
            error=s.error,
            cache=s.cache,
        )
        for s in found
    ]
    return RunDetail(**_run(record).model_dump(), steps=steps)


@router.post("/runs/{run_id}/cancel", tags=["runs"])
def cancel_run(run_id: str, caller: Runner) -> Run:
    """Ask a run to stop: running steps are killed, pending ones never start."""
    from alambic.pipelines import cancel
    from alambic.registry import acting_as

    with acting_as(caller.actor):
        return _run(cancel(run_id, wait=0).record)


@router.post("/runs/{run_id}/resume", tags=["runs"])
def resume_run(run_id: str, caller: Runner) -> Run:
    """Finish a failed, cancelled or interrupted run in the background."""
    from alambic.pipelines import resume
    from alambic.registry import acting_as

    with acting_as(caller.actor):
        return _run(resume(run_id, detach=True).record)


@router.get("/runs/{run_id}/logs/{step}", response_class=PlainTextResponse, tags=["runs"])
def run_logs(run_id: str, step: str, _: Reader, index: str | None = None) -> str:
    """A step's captured output (``train`` or, in a map, ``index=2``)."""
    from alambic.config import settings
    from alambic.pipelines import get_run, step_logs
    from alambic.store import ArtifactStore

    run = get_run(run_id)
    found = [s for s in run.steps if s.node == step and (index is None or s.instance == index)]
    if not found:
        raise HTTPException(
            404, f"run {run.id} has no step {step!r}{f'[{index}]' if index else ''}"
        )
    return step_logs(found[-1], ArtifactStore(settings().artifacts))


# -- schedules -----------------------------------------------------------------------------
def _schedule(record: Any) -> Schedule:
    from alambic.triggers import next_fires, timing_of

    return Schedule(
        name=record.name, target=record.target, timing=timing_of(record).describe(),
        cron=record.cron, every_seconds=record.every_seconds, timezone=record.timezone,
        catchup=record.catchup, concurrency=record.concurrency, paused=record.paused,
        next_fires=next_fires(record, 5), revision=record.revision,
        updated_at=record.updated_at, updated_by=record.updated_by,
    )  # fmt: skip


@router.get("/schedules", tags=["schedules"])
def list_schedules(_: Reader) -> list[Schedule]:
    """Every schedule, with its next fire times."""
    from alambic.triggers import list_schedules as every

    return [_schedule(s) for s in every()]


@router.post("/schedules", status_code=201, tags=["schedules"])
def create_schedule(request: Request, body: ScheduleRequest, caller: Admin) -> Schedule:
    """Make a schedule; everything is checked first (422 naming what is wrong)."""
    from alambic.registry import acting_as
    from alambic.triggers import schedule

    values = body.model_dump()
    values.update(cwd=_project(request))
    if body.pipeline:
        _inside(request, body.pipeline)
    with acting_as(caller.actor):
        made = schedule(values.pop("name"), values.pop("pipeline"), **values)
    request.app.state.wake()
    return _schedule(made)


@router.get("/schedules/{name}", tags=["schedules"])
def show_schedule(
    name: str, _: Reader, limit: Annotated[int, Query(ge=1, le=1000)] = 50
) -> ScheduleDetail:
    """A schedule and its history: each fire, its run, its outcome (newest first)."""
    from alambic.triggers import get_schedule, schedule_history

    fires = [Fire(**_fire(f)) for f in schedule_history(name, limit=limit)]
    return ScheduleDetail(**_schedule(get_schedule(name)).model_dump(), fires=fires)


def _fire(record: Any) -> dict[str, Any]:
    keys = ("fire_time", "status", "run_id", "reason", "planned_at", "started_at")
    return {k: getattr(record, k) for k in keys}


@router.post("/schedules/{name}/pause", tags=["schedules"])
def pause_schedule(name: str, caller: Admin) -> Schedule:
    """Stop a schedule's fires until it is resumed."""
    from alambic.registry import acting_as
    from alambic.triggers import pause_schedule as pause

    with acting_as(caller.actor):
        return _schedule(pause(name))


@router.post("/schedules/{name}/resume", tags=["schedules"])
def resume_schedule(request: Request, name: str, caller: Admin) -> Schedule:
    """Fire again, from the next due time after now."""
    from alambic.registry import acting_as
    from alambic.triggers import resume_schedule as resume

    with acting_as(caller.actor):
        resumed = resume(name)
    request.app.state.wake()
    return _schedule(resumed)


@router.delete("/schedules/{name}", status_code=204, tags=["schedules"])
def delete_schedule(name: str, caller: Admin) -> None:
    """Delete a schedule; runs it started go on."""
    from alambic.registry import acting_as
    from alambic.triggers import delete_schedule as delete

    with acting_as(caller.actor):
        delete(name)


# -- triggers ------------------------------------------------------------------------------
def _trigger(record: Any) -> Trigger:
    return Trigger(**{k: getattr(record, k) for k in Trigger.model_fields})


@router.get("/triggers", tags=["triggers"])
def list_triggers(_: Reader) -> list[Trigger]:
    """Every trigger."""
    from alambic.triggers import list_triggers as every

    return [_trigger(t) for t in every()]


@router.post("/triggers", status_code=201, tags=["triggers"])
def create_trigger(request: Request, body: TriggerRequest, caller: Admin) -> Trigger:
    """Make a trigger; everything is checked first (422 naming what is wrong)."""
    from alambic.registry import acting_as
    from alambic.triggers import create_trigger as make

    values = body.model_dump()
    values["levels"] = tuple(values["levels"])
    if body.on.replace("-", "_") != "git_tag":
        _inside(request, body.run)
        values["cwd"] = _project(request)
    with acting_as(caller.actor):
        made = make(values.pop("name"), **values)
    request.app.state.wake()
    return _trigger(made)


@router.get("/triggers/{name}", tags=["triggers"])
def show_trigger(
    name: str, _: Reader, limit: Annotated[int, Query(ge=1, le=1000)] = 50
) -> TriggerDetail:
    """A trigger and its history: each event received, what became of it, its run."""
    from alambic.triggers import get_trigger, trigger_history

    events = [
        TriggerEvent(**{k: getattr(e, k) for k in TriggerEvent.model_fields})
        for e in trigger_history(name, limit=limit)
    ]
    return TriggerDetail(**_trigger(get_trigger(name)).model_dump(), events=events)


@router.post("/triggers/{name}/{action}", tags=["triggers"])
def change_trigger(request: Request, name: str, action: str, caller: Admin) -> Trigger:
    """``pause`` or ``resume`` a trigger."""
    from alambic import triggers
    from alambic.registry import acting_as

    if action not in ("pause", "resume"):
        raise HTTPException(404, f"no action {action!r}; use pause or resume")
    with acting_as(caller.actor):
        changed = getattr(triggers, f"{action}_trigger")(name)
    request.app.state.wake()
    return _trigger(changed)


@router.delete("/triggers/{name}", status_code=204, tags=["triggers"])
def delete_trigger(name: str, caller: Admin) -> None:
    """Delete a trigger; runs it started go on."""
    from alambic.registry import acting_as
    from alambic.triggers import delete_trigger as delete

    with acting_as(caller.actor):
        delete(name)


@router.get("/alerts", tags=["alerts"])
def list_alerts(
    _: Reader, limit: Annotated[int, Query(ge=1, le=1000)] = 50
) -> list[dict[str, Any]]:
    """The latest alerts, newest first, with every delivery attempt."""
    from dataclasses import asdict

    from alambic.triggers import list_alerts as latest

    return [asdict(a) for a in latest(limit=limit)]


# -- registry ------------------------------------------------------------------------------
@router.get("/models", tags=["registry"])
def list_models(_: Reader) -> list[dict[str, Any]]:
    """One summary per model group: versions, statuses, aliases."""
    from alambic.registry import list_models as every

    return every()


def _version(record: Any) -> dict[str, Any]:
    keys = ("group", "version", "status", "status_comment", "status_by", "status_at", "metrics")
    return {k: getattr(record, k) for k in keys}


@router.post("/models/{name}/versions/{version}/approve", tags=["registry"])
def approve(name: str, version: int, body: ReviewRequest, caller: Admin) -> dict[str, Any]:
    """Approve a version (audited as the token's holder)."""
    from alambic.registry import acting_as
    from alambic.registry import approve as approve_version

    with acting_as(caller.actor):
        return _version(approve_version(name, version, comment=body.comment))


@router.post("/models/{name}/versions/{version}/reject", tags=["registry"])
def reject(name: str, version: int, body: ReviewRequest, caller: Admin) -> dict[str, Any]:
    """Reject a version: it may not hold production or staging unless approved again."""
    from alambic.registry import acting_as
    from alambic.registry import reject as reject_version

    with acting_as(caller.actor):
        return _version(reject_version(name, version, comment=body.comment))


@router.post("/models/{name}/aliases/{alias}", tags=["registry"])
def promote(name: str, alias: str, body: PromoteRequest, caller: Admin) -> dict[str, Any]:
    """Move an alias (``staging``, ``production``) to a version, under the group's rules."""
    from alambic.registry import acting_as
    from alambic.registry import promote as move

    with acting_as(caller.actor):
        left = move(name, body.version, to=alias, comment=body.comment, new_alias=body.new_alias)
    return {"group": name, "alias": alias, "version": body.version, "previous": left}


# -- monitors ------------------------------------------------------------------------------
def _monitor_run(record: Any) -> MonitorRun:
    keys = MonitorRun.model_fields
    return MonitorRun(**{k: getattr(record, k) for k in keys})


@router.get("/monitors", tags=["monitors"])
def list_monitors(_: Reader) -> list[dict[str, Any]]:
    """Every monitor's configuration."""
    from alambic.monitoring import list_monitors as every

    return [{"name": m.name, "config": m.config, "revision": m.revision} for m in every()]


@router.get("/monitors/{name}/runs", tags=["monitors"])
def monitor_runs(
    name: str, _: Reader, limit: Annotated[int, Query(ge=1, le=500)] = 20
) -> list[MonitorRun]:
    """A monitor's latest runs, newest first."""
    from alambic.monitoring import get_monitor, monitor_history

    get_monitor(name)
    return [_monitor_run(r) for r in monitor_history(name, limit=limit)]


@router.post("/monitors/{name}/run", tags=["monitors"])
def run_monitor(name: str, caller: Runner) -> MonitorRun:
    """Run a monitor now, over its window ending now; its stored run."""
    from alambic.monitoring import run_monitor as run_now
    from alambic.registry import acting_as

    with acting_as(caller.actor):
        return _monitor_run(run_now(name))


# -- webhooks (signed with a trigger's secret, not a token) --------------------------------
hooks = APIRouter(prefix="/hooks", tags=["webhooks"])


async def _deliver(request: Request, receive: Any) -> JSONResponse:
    from starlette.concurrency import run_in_threadpool

    body = await request.body()
    answer = await run_in_threadpool(receive, dict(request.headers), body)
    if answer.events:
        request.app.state.wake()
    return JSONResponse(answer.to_json(), status_code=answer.status)


@hooks.post("/github")
async def github(request: Request) -> JSONResponse:
    """GitHub's webhook (``push`` and ``create`` of tags), signed with X-Hub-Signature-256."""
    from alambic.triggers import receive_github

    return await _deliver(request, receive_github)


@hooks.post("/gitlab")
async def gitlab(request: Request) -> JSONResponse:
    """GitLab's webhook (``Tag Push Hook``), with the secret in X-Gitlab-Token."""
    from alambic.triggers import receive_gitlab

    return await _deliver(request, receive_gitlab)
