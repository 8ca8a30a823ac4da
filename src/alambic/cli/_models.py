"""``alambic models …``: the model registry from the command line."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from alambic.cli._common import console, friendly
from alambic.cli._render import when
from alambic.errors import AlambicError

models_app = typer.Typer(
    help="The model registry: versions, approval, promotion.", no_args_is_help=True
)

VersionRef = Annotated[str, typer.Argument(help="NAME/VERSION, NAME@ALIAS or NAME (latest).")]
Comment = Annotated[str, typer.Option("--comment", "-m", help="Why (kept in the audit log).")]
_STATUS_STYLE = {"Approved": "green", "Rejected": "red", "PendingManualApproval": "yellow"}
# Commands taking references accept more words, so that `fraud-auto 1` gets a message
# saying how to write a reference instead of Typer's "unexpected extra argument".
_EXTRA_WORDS = {"allow_extra_args": True}


def _one_ref(ref: str, extra: list[str], *, command: str) -> str:
    """``ref``, when no word follows it; else an error saying how to write the reference."""
    if not extra:
        return ref
    if len(extra) == 1 and extra[0].isdigit() and not any(c in ref for c in "/@"):
        raise AlambicError(f"give the version as {ref}/{extra[0]} (NAME/VERSION), not two words")
    raise AlambicError(
        f"unexpected {' '.join(extra)!r} after {ref!r}: `alambic models {command}` takes one "
        "reference, NAME/VERSION or NAME@ALIAS (e.g. fraud-auto/1)"
    )


def _version_ref(ref: str) -> tuple[str, int]:
    from alambic.registry import parse_ref, resolve

    name, version, _ = parse_ref(ref)
    if version is None:  # NAME@ALIAS, or NAME: its latest version
        version = resolve(ref).version
    return name, version


def _status(status: str) -> Text:
    return Text(status, style=_STATUS_STYLE.get(status, ""))


@models_app.command("list")
@friendly
def models_list() -> None:
    """List model groups: versions, statuses and aliases."""
    from alambic.registry import list_models

    table = Table(header_style="bold")
    for column in ("model", "versions", "latest", "aliases", "statuses"):
        table.add_column(column)
    for row in list_models():
        aliases = ", ".join(f"{a}→{v}" for a, v in sorted(row["aliases"].items()))
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(row["statuses"].items()))
        table.add_row(
            row["name"], str(row["versions"]), str(row["latest"] or ""), aliases, statuses
        )
    console.print(table)


@models_app.command("show", context_settings=_EXTRA_WORDS)
@friendly
def models_show(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="NAME (all versions), NAME/VERSION or NAME@ALIAS.")],
) -> None:
    """Show a group's versions, or one version in full."""
    from alambic.registry import parse_ref, registry_store

    name, version, alias = parse_ref(_one_ref(ref, ctx.args, command="show"))
    store = registry_store()
    if version is None and alias is None:
        group = store.get_group(name)
        held: dict[int, list[str]] = {}
        for alias_name, number in store.aliases(name).items():
            held.setdefault(number, []).append(alias_name)
        table = Table(title=f"{name} · policy {json.dumps(group.policy)}", header_style="bold")
        for column in ("version", "status", "aliases", "metrics", "registered", "by"):
            table.add_column(column)
        for v in store.versions(name):
            metrics = ", ".join(f"{k}={val:.4g}" for k, val in sorted(v.metrics.items()))
            table.add_row(
                str(v.version),
                _status(v.status),
                ", ".join(sorted(held.get(v.version, []))),
                metrics,
                when(v.created_at),
                v.created_by,
            )
        console.print(table)
        return
    name, number = _version_ref(ref)
    record = store.get_version(name, number)
    data = {
        "ref": record.ref,
        "status": record.status,
        "status_comment": record.status_comment,
        "status_by": record.status_by,
        "metrics": record.metrics,
        "tags": record.tags,
        "signature": record.signature,
        "model": record.model,
        "lineage": record.lineage,
    }
    console.print_json(json.dumps(data, default=str))


@models_app.command("approve", context_settings=_EXTRA_WORDS)
@friendly
def models_approve(
    ctx: typer.Context,
    ref: VersionRef,
    comment: Comment = "",
) -> None:
    """Approve a version (a rejected one again only with a --comment saying why)."""
    from alambic.registry import approve

    record = approve(*_version_ref(_one_ref(ref, ctx.args, command="approve")), comment=comment)
    console.print(f"{record.ref} is now {record.status}")


@models_app.command("reject", context_settings=_EXTRA_WORDS)
@friendly
def models_reject(
    ctx: typer.Context,
    ref: VersionRef,
    comment: Comment = "",
) -> None:
    """Reject a version: it cannot hold production or staging unless it is approved
    again, with a comment."""
    from alambic.registry import reject

    record = reject(*_version_ref(_one_ref(ref, ctx.args, command="reject")), comment=comment)
    console.print(f"{record.ref} is now {record.status}")


@models_app.command("promote", context_settings=_EXTRA_WORDS)
@friendly
def models_promote(
    ctx: typer.Context,
    ref: VersionRef,
    to: Annotated[str, typer.Option("--to", help="The alias: staging, production, champion…")],
    comment: Comment = "",
    new_alias: Annotated[
        bool,
        typer.Option(
            "--new-alias",
            help="Create the alias even though its name is close to a known one (not a typo).",
        ),
    ] = False,
) -> None:
    """Move an alias to a version, under the group's promotion rules."""
    from alambic.registry import promote

    name, version = _version_ref(_one_ref(ref, ctx.args, command="promote"))
    previous = promote(name, version, to=to, comment=comment, new_alias=new_alias)
    was = f" (was {name}/{previous})" if previous is not None else ""
    console.print(f"{name}@{to} → {name}/{version}{was}")


@models_app.command("delete", context_settings=_EXTRA_WORDS)
@friendly
def models_delete(
    ctx: typer.Context,
    ref: VersionRef,
    comment: Comment = "",
) -> None:
    """Soft-delete a version (kept in the audit log)."""
    from alambic.registry import delete_version

    name, version = _version_ref(_one_ref(ref, ctx.args, command="delete"))
    delete_version(name, version, comment=comment)
    console.print(f"{name}/{version} deleted")


@models_app.command("history")
@friendly
def models_history(
    name: Annotated[str, typer.Argument(help="A model group.")],
    at: Annotated[
        str | None,
        typer.Option("--at", help="Only what was true then: which version held each alias."),
    ] = None,
) -> None:
    """The audit log of a group: who did what, when, before and after."""
    from alambic.registry import history

    log = history(name)
    if at is not None:
        try:
            moment = datetime.fromisoformat(at)
        except ValueError:
            raise AlambicError(f"--at {at!r}: give an ISO date, e.g. 2026-11-23T14:00") from None
        if moment.tzinfo is None:
            from datetime import UTC

            moment = moment.replace(tzinfo=UTC)
        holders: dict[str, int | None] = {}
        for entry in log:
            if entry.at <= moment and entry.alias is not None:
                holders[entry.alias] = entry.version
        for alias, version in sorted(holders.items()):
            console.print(f"{name}@{alias}: {'-' if version is None else f'{name}/{version}'}")
        return
    table = Table(header_style="bold")
    for column in ("when", "who", "action", "version", "alias", "before", "after", "comment"):
        table.add_column(column)
    for entry in log:
        table.add_row(
            when(entry.at),
            entry.actor,
            entry.action,
            "" if entry.version is None else str(entry.version),
            entry.alias or "",
            json.dumps(entry.before) if entry.before else "",
            json.dumps(entry.after) if entry.after else "",
            entry.comment,
        )
    console.print(table)


@models_app.command("lineage", context_settings=_EXTRA_WORDS)
@friendly
def models_lineage(
    ctx: typer.Context, ref: Annotated[str, typer.Argument(help="NAME/VERSION or NAME@ALIAS.")]
) -> None:
    """The chain from a version back to its run, step, parameters, data and code."""
    from alambic.registry import registry_store

    name, version = _version_ref(_one_ref(ref, ctx.args, command="lineage"))
    record = registry_store().get_version(name, version)
    lineage = record.lineage
    tree = Tree(
        f"[bold]{record.ref}[/] ({record.status}) model {record.model.get('hash', '')[:12]}"
    )
    if lineage.get("run"):
        run = tree.add(
            f"run {lineage['run']} · pipeline {lineage.get('pipeline')} "
            f"({str(lineage.get('pipeline_hash', ''))[:12]})"
        )
        run.add(f"step {lineage.get('step')}")
        params = run.add("parameters")
        for key, value in sorted((lineage.get("params") or {}).items()):
            params.add(f"{key} = {json.dumps(value)}")
        data = run.add("data")
        for step_label, fingerprint in sorted((lineage.get("data") or {}).items()):
            data.add(f"{step_label}: {fingerprint}")
    code = lineage.get("code") or {}
    if code:
        dirty = " (dirty)" if code.get("dirty") else ""
        tag = f" tag {code['tag']}" if code.get("tag") else ""
        tree.add(f"code {code.get('commit', '')[:12]}{tag} on {code.get('branch')}{dirty}")
    packages = tree.add("packages")
    for key, value in sorted((lineage.get("packages") or {}).items()):
        packages.add(f"{key} {value}")
    console.print(tree)


def _two_refs(first: str, second: str, extra: list[str]) -> tuple[str, str]:
    """``(first, second)`` when both are references; else an error saying how to write them."""
    words = [first, second, *extra]
    if not extra and not second.isdigit():
        return first, second
    name = first.partition("/")[0].partition("@")[0]
    refs = [f"{name}/{w}" if w.isdigit() else w for w in words if w != name]
    if len(refs) == 2:
        raise AlambicError(
            f"give the versions as {refs[0]} {refs[1]} (NAME/VERSION each), not separate words"
        )
    raise AlambicError(
        f"`alambic models diff` compares two references, not {len(words)} words: "
        "e.g. fraud-auto/3 fraud-auto/4"
    )


@models_app.command("diff", context_settings=_EXTRA_WORDS)
@friendly
def models_diff(
    ctx: typer.Context,
    first: Annotated[str, typer.Argument(help="NAME/VERSION.")],
    second: Annotated[str, typer.Argument(help="NAME/VERSION.")],
) -> None:
    """Compare two versions: parameters, metrics, data and code."""
    from alambic.registry import registry_store

    refs = _two_refs(first, second, ctx.args)
    store = registry_store()
    a, b = (store.get_version(*_version_ref(r)) for r in refs)

    def flat(record: Any) -> dict[str, str]:
        lineage = record.lineage
        out = {f"metrics.{k}": f"{v:.6g}" for k, v in record.metrics.items()}
        out.update({f"params.{k}": json.dumps(v) for k, v in (lineage.get("params") or {}).items()})
        out.update({f"data.{k}": str(v) for k, v in (lineage.get("data") or {}).items()})
        out.update({f"code.{k}": str(v) for k, v in (lineage.get("code") or {}).items()})
        out["model"] = record.model.get("hash", "")[:12]
        out["status"] = record.status
        return out

    left, right = flat(a), flat(b)
    table = Table(header_style="bold")
    for column in ("", a.ref, b.ref):
        table.add_column(column)
    for key in sorted(set(left) | set(right)):
        x, y = left.get(key, "–"), right.get(key, "–")
        style = "" if x == y else "bold"
        table.add_row(Text(key, style=style), x, y)
    console.print(table)


@models_app.command("card", context_settings=_EXTRA_WORDS)
@friendly
def models_card(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="NAME/VERSION or NAME@ALIAS.")],
    html: Annotated[bool, typer.Option("--html", help="An HTML page instead of Markdown.")] = False,
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Write to this file.")
    ] = None,
) -> None:
    """The model card of a version: purpose, data, lineage, metrics, comparison, limits."""
    import sys
    from pathlib import Path

    from alambic.registry import model_card

    text = model_card(_one_ref(ref, ctx.args, command="card"), fmt="html" if html else "markdown")
    if output:
        Path(output).write_text(text, encoding="utf-8")
        console.print(f"wrote {output}")
    else:
        sys.stdout.write(text + "\n")


@models_app.command("events")
@friendly
def models_events(
    name: Annotated[str | None, typer.Argument(help="A model group (default: all).")] = None,
    deliver: Annotated[
        bool, typer.Option("--deliver", help="Deliver the events that are due now.")
    ] = False,
) -> None:
    """Registry events and their delivery outcome (retry the due ones with --deliver)."""
    from alambic.registry import deliver_events, registry_store

    if deliver:
        console.print(f"delivered {deliver_events()} event(s)")
    table = Table(header_style="bold")
    for column in ("when", "event", "model", "status", "attempts", "last outcome"):
        table.add_column(column)
    for event in registry_store().events(name):
        last = event.outcome[-1]["results"] if event.outcome else {}
        table.add_row(
            when(event.created_at),
            event.type,
            f"{event.group}/{event.version}" if event.version else event.group,
            event.status,
            str(event.attempts),
            "; ".join(f"{k}: {v}" for k, v in last.items()),
        )
    console.print(table)
