"""``alambic triggers``: pipelines started by a git tag, a monitor's alert, a registry
event or new data (``alambic server`` receives and polls the events)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from alambic.cli._common import console, friendly
from alambic.cli._server import ParamOption, pair, when

__all__ = ["alerts_app", "triggers_app"]

triggers_app = typer.Typer(
    help="Triggers: start a pipeline on a git tag, a monitor's alert, a registry event or "
    "new data (alambic server receives them).",
    no_args_is_help=True,
)


def _sources(texts: list[str] | None) -> dict[str, str] | None:
    return dict(pair(t) for t in texts) if texts else None


@triggers_app.command("create")
@friendly
def triggers_create(
    name: Annotated[str, typer.Argument(help="The trigger's name.")],
    *,
    on: Annotated[str, typer.Option(help="git-tag, monitor, registry or data.")],
    run: Annotated[str, typer.Option(help="path/to/file.py:PIPELINE to start.")],
    param: ParamOption = None,
    repo: Annotated[str | None, typer.Option(help="git-tag: the repository (path, URL).")] = None,
    tags: Annotated[str, typer.Option(help="git-tag: a pattern the tag matches.")] = "*",
    secret_env: Annotated[
        str | None, typer.Option(help="git-tag: the variable holding the webhook's secret.")
    ] = None,
    poll: Annotated[
        str | None, typer.Option(help="git-tag: poll the repository this often.")
    ] = None,
    monitor: Annotated[str | None, typer.Option(help="monitor: its name.")] = None,
    level: Annotated[
        list[str] | None, typer.Option(help="monitor: alert (default), or warn and alert.")
    ] = None,
    event: Annotated[
        list[str] | None, typer.Option(help="registry: version_approved, alias_moved…")
    ] = None,
    group: Annotated[str, typer.Option(help="registry: a pattern of model groups.")] = "*",
    source: Annotated[list[str] | None, typer.Option(help="data: NAME=PATH of files.")] = None,
    every: Annotated[str | None, typer.Option(help="data: check this often (5m).")] = None,
    cooldown: Annotated[str | None, typer.Option(help="At least this long between runs.")] = None,
    daily_cap: Annotated[int, typer.Option(min=1, help="At most this many runs a day.")] = 24,
) -> None:
    """Make a trigger; everything is checked first (nothing is stored when it fails)."""
    from alambic.triggers import create_trigger

    made = create_trigger(
        name, on=on, run=run, params=dict(pair(p) for p in param or []), texts=True,
        repo=repo, tags=tags, secret_env=secret_env, poll=poll, monitor=monitor,
        levels=tuple(level or ["alert"]), events=event, groups=group,
        sources=_sources(source), every=every, cooldown=cooldown, daily_cap=daily_cap,
    )  # fmt: skip
    console.print(f"trigger {made.name}: on {_event(made)}, runs {made.target['ref']}")


def _event(record: Any) -> str:
    config = record.config
    return {
        "git_tag": lambda: (
            f"git tags {config['tags']} of {config['repo']}"
            + (" (webhook)" if config.get("secret_env") else "")
            + (f" (polled every {config['poll']:g} s)" if config.get("poll") else "")
        ),
        "monitor": lambda: f"monitor {config['monitor']} in {' or '.join(config['levels'])}",
        "registry": lambda: f"{', '.join(config['events'])} of {config['groups']}",
        "data": lambda: f"new data in {', '.join(config['sources']) or config['url']}",
    }[record.kind]()


@triggers_app.command("list")
@friendly
def triggers_list() -> None:
    """Every trigger."""
    from alambic.triggers import list_triggers

    records = list_triggers()
    table = Table(title="triggers", title_justify="left")
    for column in ("name", "on", "runs", "limits", "state"):
        table.add_column(column)
    for r in records:
        limits = f"cooldown {r.cooldown_seconds:g} s, {r.daily_cap}/day"
        state = "paused" if r.paused else r.state.get("error", "active")
        table.add_row(r.name, _event(r), r.target["ref"], limits, state)
    console.print(table if records else "no triggers; make one with `alambic triggers create`")


@triggers_app.command("show")
@friendly
def triggers_show(
    name: Annotated[str, typer.Argument(help="The trigger's name.")],
    limit: Annotated[int, typer.Option(min=1, help="Events to show.")] = 20,
) -> None:
    """A trigger and its history: each event received, the run it started, its outcome."""
    from alambic.config import settings
    from alambic.pipelines import RunStore
    from alambic.triggers import get_trigger, trigger_history

    record = get_trigger(name)
    console.print(Text(f"trigger {record.name}: on {_event(record)}", style="bold"))
    paused = "; paused" if record.paused else ""
    limits = f"cooldown {record.cooldown_seconds:g} s, {record.daily_cap} runs a day at most"
    console.print(f"runs {record.target['ref']}; {limits}{paused}")
    events = trigger_history(name, limit=limit)
    states = RunStore.open(settings().db_url).run_states([e.run_id for e in events if e.run_id])
    table = Table(title="events (newest first)", title_justify="left")
    for column in ("received", "event", "outcome", "run", "run status", "note"):
        table.add_column(column)
    for e in events:
        what = " ".join(f"{k}={v}" for k, v in e.payload.items() if v)
        run = e.run_id if e.status == "started" else ""
        table.add_row(
            when(e.received_at), what, e.status, run or "", states.get(run or "", ""), e.reason
        )
    console.print(table if events else "no events yet")


def _change(verb: str, name: str) -> None:
    from alambic import triggers

    changed = getattr(triggers, f"{verb}_trigger")(name)
    console.print(f"trigger {changed.name} {'paused' if changed.paused else 'active'}")


@triggers_app.command("pause")
@friendly
def triggers_pause(name: Annotated[str, typer.Argument(help="The trigger's name.")]) -> None:
    """Record events but start no run until the trigger is resumed."""
    _change("pause", name)


@triggers_app.command("resume")
@friendly
def triggers_resume(name: Annotated[str, typer.Argument(help="The trigger's name.")]) -> None:
    """Start runs for the trigger's events again (those recorded while paused too)."""
    _change("resume", name)


@triggers_app.command("delete")
@friendly
def triggers_delete(name: Annotated[str, typer.Argument(help="The trigger's name.")]) -> None:
    """Delete a trigger; runs it started go on."""
    from alambic.triggers import delete_trigger

    delete_trigger(name)
    console.print(f"trigger {name} deleted")


# -- alerts --------------------------------------------------------------------------------
alerts_app = typer.Typer(
    help="Alerts: monitor warn and alert, failed runs, schedules that could not fire, "
    "capped triggers, sent to webhooks and Slack.",
    no_args_is_help=True,
)


@alerts_app.command("add-target")
@friendly
def alerts_add_target(
    name: Annotated[str, typer.Argument(help="The target's name.")],
    *,
    url: Annotated[str, typer.Option(help="Where to POST alerts.")],
    slack: Annotated[bool, typer.Option(help="Send Slack's incoming-webhook body.")] = False,
    secret_env: Annotated[
        str | None, typer.Option(help="The variable holding the HMAC secret.")
    ] = None,
    on: Annotated[
        list[str] | None, typer.Option(help="Alert types it takes (default: all).")
    ] = None,
) -> None:
    """Send alerts to a URL (a JSON webhook, signed with the secret, or Slack)."""
    from alambic.triggers import add_alert_target

    made = add_alert_target(
        name, url=url, kind="slack" if slack else "webhook", secret_env=secret_env, types=on
    )
    console.print(f"alert target {made.name}: {made.kind} {made.url}")


@alerts_app.command("targets")
@friendly
def alerts_targets() -> None:
    """Every alert target."""
    from alambic.triggers import list_alert_targets

    for t in list_alert_targets():
        console.print(f"{t.name}: {t.kind} {t.url} ({', '.join(t.types) or 'all alerts'})")


@alerts_app.command("delete-target")
@friendly
def alerts_delete_target(name: Annotated[str, typer.Argument(help="The target's name.")]) -> None:
    """Stop sending alerts to a target."""
    from alambic.triggers import delete_alert_target

    delete_alert_target(name)
    console.print(f"alert target {name} deleted")


@alerts_app.command("list")
@friendly
def alerts_list(limit: Annotated[int, typer.Option(min=1)] = 20) -> None:
    """The latest alerts and their deliveries, newest first."""
    from alambic.triggers import list_alerts

    table = Table(title="alerts (newest first)", title_justify="left")
    for column in ("raised", "type", "subject", "message", "delivery"):
        table.add_column(column)
    for a in list_alerts(limit=limit):
        table.add_row(
            when(a.created_at), a.type, a.subject, a.message, f"{a.status} ({a.attempts})"
        )
    console.print(table)
