"""``alambic endpoints …``, ``alambic tokens …`` and ``alambic serve``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from alambic.cli._common import console, errors, friendly
from alambic.cli._render import when

if TYPE_CHECKING:
    from alambic.serving import Endpoint

endpoints_app = typer.Typer(
    help="Serving endpoints: variants, shadows, holdout, capture.", no_args_is_help=True
)
tokens_app = typer.Typer(help="API tokens for the serving routes.", no_args_is_help=True)

Variants = Annotated[
    list[str] | None,
    typer.Option(
        "--variant",
        "-v",
        help="[NAME=]MODEL_REF[:WEIGHT], e.g. champion=fraud-auto@production:9; repeatable. "
        "Weights are relative: 9 and 1 send 90% and 10%.",
    ),
]
Shadows = Annotated[
    list[str] | None,
    typer.Option("--shadow", "-s", help="[NAME=]MODEL_REF seeing a copy of each request."),
]
Holdout = Annotated[
    float | None,
    typer.Option(help="Share of requests flagged holdout (the caller ignores the model)."),
]
Capture = Annotated[float | None, typer.Option(help="Share of requests captured (0-1).")]
Public = Annotated[
    bool | None, typer.Option("--public/--private", help="Invocation without a token.")
]
KeyHeader = Annotated[
    str | None, typer.Option(help="Header whose value keeps a caller on one variant.")
]
MaxBody = Annotated[int | None, typer.Option(help="Largest request body in bytes.")]


def _changes(**options: Any) -> dict[str, Any]:
    return {k: v for k, v in options.items() if v is not None and v != []}


def _percent(share: float) -> str:
    """A share of the traffic as a whole percentage, never 0% or 100% when it is not."""
    text = f"{share:.0%}"
    if text == "0%" and share > 0:
        return "<1%"
    if text == "100%" and share < 1:
        return ">99%"
    return text


def _traffic(endpoint: Endpoint, given: list[str] | None) -> None:
    """Say how the traffic is split when the weights given did not sum to 1."""
    import math

    from alambic.serving import Variant

    if not given or math.isclose(math.fsum(Variant.parse(v).weight for v in given), 1.0):
        return
    shares = ", ".join(f"{v.name} {_percent(v.weight)}" for v in endpoint.variants)
    console.print(f"traffic: {shares} (weights are relative)", soft_wrap=True)


def _show(name: str) -> None:
    from alambic.errors import NotFoundError
    from alambic.registry import resolve
    from alambic.serving import get_endpoint

    def now(ref: str) -> str:
        try:
            return resolve(ref).ref
        except NotFoundError:
            return "(nothing: the alias is free)" if "@" in ref else "(missing: deleted?)"

    endpoint = get_endpoint(name)
    table = Table(header_style="bold", title=f"endpoint {name}")
    for column in ("variant", "model", "serves now", "weight", "role"):
        table.add_column(column)
    for v in endpoint.variants:
        table.add_row(v.name, v.model, now(v.model), _percent(v.weight), "answers")
    for v in endpoint.shadows:
        table.add_row(v.name, v.model, now(v.model), "copy", "shadow")
    console.print(table)
    console.print(
        f"holdout {endpoint.holdout:.1%} · capture {endpoint.capture:.0%} · "
        f"{'public' if endpoint.public else 'token required'} · sticky header "
        f"{endpoint.key_header} · max body {endpoint.max_body_bytes} bytes"
    )


@endpoints_app.command("create")
@friendly
def endpoints_create(
    name: Annotated[str, typer.Argument(help="Endpoint name.")],
    *,
    variant: Variants = None,
    shadow: Shadows = None,
    holdout: Holdout = None,
    capture: Capture = None,
    public: Public = None,
    key_header: KeyHeader = None,
    max_body_bytes: MaxBody = None,
    description: Annotated[str, typer.Option(help="Free text.")] = "",
) -> None:
    """Create an endpoint serving registry models (audited)."""
    from alambic.errors import ConfigError
    from alambic.serving import create_endpoint

    if not variant:
        raise ConfigError("give at least one --variant MODEL_REF (e.g. fraud-auto@production)")
    endpoint = create_endpoint(
        name,
        variants=variant,
        shadows=shadow,
        description=description,
        **_changes(
            holdout=holdout,
            capture=capture,
            public=public,
            key_header=key_header,
            max_body_bytes=max_body_bytes,
        ),
    )
    _show(name)
    _traffic(endpoint, variant)


@endpoints_app.command("update")
@friendly
def endpoints_update(
    name: Annotated[str, typer.Argument(help="Endpoint name.")],
    *,
    variant: Variants = None,
    shadow: Shadows = None,
    no_shadows: Annotated[bool, typer.Option("--no-shadows", help="Remove every shadow.")] = False,
    holdout: Holdout = None,
    capture: Capture = None,
    public: Public = None,
    key_header: KeyHeader = None,
    max_body_bytes: MaxBody = None,
    description: Annotated[str | None, typer.Option(help="Free text.")] = None,
    comment: Annotated[str, typer.Option("--comment", "-m", help="Why (audit log).")] = "",
) -> None:
    """Change an endpoint; running servers load the new models and swap without a gap."""
    from alambic.serving import update_endpoint

    changes = _changes(
        variants=variant,
        shadows=shadow,
        holdout=holdout,
        capture=capture,
        public=public,
        key_header=key_header,
        max_body_bytes=max_body_bytes,
        description=description,
    )
    if no_shadows:
        changes["shadows"] = []
    endpoint = update_endpoint(name, comment=comment, **changes)
    _show(name)
    _traffic(endpoint, variant)


@endpoints_app.command("list")
@friendly
def endpoints_list() -> None:
    """List endpoints."""
    from alambic.serving import Endpoint, list_endpoints

    table = Table(header_style="bold")
    for column in ("endpoint", "variants", "shadows", "holdout", "access", "updated"):
        table.add_column(column)
    for record in list_endpoints():
        e = Endpoint.parse(record.name, record.config)
        table.add_row(
            e.name,
            ", ".join(f"{v.model} {_percent(v.weight)}" for v in e.variants),
            ", ".join(v.model for v in e.shadows),
            f"{e.holdout:.1%}",
            "public" if e.public else "token",
            f"{when(record.updated_at)} by {record.updated_by} (rev {record.revision})",
        )
    console.print(table)


def _difference(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """What an audited change changed, one ``key: old → new`` per line."""
    import json

    def variant(v: dict[str, Any]) -> str:
        weight = f":{v['weight']:g}" if isinstance(v.get("weight"), int | float) else ""
        return f"{v.get('name', v['model'])}={v['model']}{weight}"

    def shown(value: Any) -> str:
        if isinstance(value, list) and all(isinstance(v, dict) and "model" in v for v in value):
            return ", ".join(variant(v) for v in value) or "none"
        return json.dumps(value, default=str)

    if before is None:
        return "created"
    if after is None:
        return "deleted"
    keys = sorted(k for k in {*before, *after} if before.get(k) != after.get(k))
    return "\n".join(f"{k}: {shown(before.get(k))} → {shown(after.get(k))}" for k in keys)


def _history(name: str) -> None:
    from alambic.serving import endpoint_history

    rows = endpoint_history(name)
    table = Table(header_style="bold", title=f"history of endpoint {name}")
    for column in ("at", "actor", "action", "changes", "comment"):
        table.add_column(column)
    for row in rows:
        changes = _difference(row.before, row.after)
        table.add_row(when(row.at), row.actor, row.action, changes, row.comment)
    console.print(table)


@endpoints_app.command("show")
@friendly
def endpoints_show(name: Annotated[str, typer.Argument(help="Endpoint name.")]) -> None:
    """An endpoint's configuration and its audit history."""
    _show(name)
    _history(name)


@endpoints_app.command("history")
@friendly
def endpoints_history(name: Annotated[str, typer.Argument(help="Endpoint name.")]) -> None:
    """Every change of an endpoint, with what changed (deleted endpoints too)."""
    from alambic.errors import NotFoundError
    from alambic.serving import endpoint_history

    if not endpoint_history(name):
        raise NotFoundError(f"endpoint {name!r} has no history; see `alambic endpoints list`")
    _history(name)


@endpoints_app.command("delete")
@friendly
def endpoints_delete(name: Annotated[str, typer.Argument(help="Endpoint name.")]) -> None:
    """Delete an endpoint (audited); servers stop serving it within seconds."""
    from alambic.serving import delete_endpoint

    delete_endpoint(name)
    console.print(f"deleted endpoint {name}")


@endpoints_app.command("labels")
@friendly
def endpoints_labels(
    name: Annotated[str, typer.Argument(help="Endpoint name.")],
    path: Annotated[str, typer.Argument(help="CSV or Parquet with request_id, label [, row].")],
) -> None:
    """Store ground truth that arrived later, joined to captured requests by request id."""
    from alambic.serving import get_endpoint, write_labels

    get_endpoint(name)
    count = write_labels(name, path)
    console.print(f"stored {count} label{'' if count == 1 else 's'} for endpoint {name}")


@tokens_app.command("create")
@friendly
def tokens_create(
    name: Annotated[str, typer.Argument(help="Who or what uses the token.")],
    scope: Annotated[
        str,
        typer.Option(
            help="invoke (serving), read or run (alambic server), admin (both, everything)."
        ),
    ] = "invoke",
    endpoint: Annotated[
        list[str] | None, typer.Option("--endpoint", "-e", help="Restrict to endpoints.")
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print the token alone, nothing on stderr.")
    ] = False,
) -> None:
    """Create a token; its text is printed once (only a hash is stored).

    The token alone goes to stdout (what it is, to stderr), so that
    TOKEN=$(alambic tokens create NAME -e ENDPOINT) holds the token and nothing else.
    """
    from alambic.serving import create_token

    text, record = create_token(name, scope=scope, endpoints=endpoint)
    if not quiet:  # on stderr: TOKEN=$(alambic tokens create …) takes the token alone
        errors.print(
            f"token {record.id} ({record.scope}) for {record.name}: printed once; stored "
            "hashed, so keep it now (revoke it with `alambic tokens revoke "
            f"{record.id}`)",
            soft_wrap=True,
        )
    console.print(text, soft_wrap=True, markup=False, highlight=False)


@tokens_app.command("list")
@friendly
def tokens_list() -> None:
    """List tokens (never their text)."""
    from alambic.serving import list_tokens

    table = Table(header_style="bold")
    for column in ("id", "name", "scope", "endpoints", "created", "revoked"):
        table.add_column(column)
    for t in list_tokens():
        table.add_row(
            t.id,
            t.name,
            t.scope,
            ", ".join(t.endpoints) or "all",
            f"{when(t.created_at)} by {t.created_by}",
            "" if t.revoked_at is None else f"{when(t.revoked_at)} by {t.revoked_by}",
        )
    console.print(table)


@tokens_app.command("revoke")
@friendly
def tokens_revoke(token: Annotated[str, typer.Argument(help="Token id (or the token).")]) -> None:
    """Revoke a token; servers refuse it within 2 seconds."""
    from alambic.serving import revoke_token

    record = revoke_token(token)
    console.print(f"revoked token {record.id} ({record.name})")


@friendly
def serve(
    *,
    endpoint: Annotated[
        list[str] | None,
        typer.Option("--endpoint", "-e", help="Endpoint to serve; repeatable (default: all)."),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free one).")] = 8080,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Processes.")] = 1,
    log_level: Annotated[str, typer.Option(help="debug, info, warning.")] = "info",
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="One JSON line per request.")
    ] = True,
    grpc_port: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=65535,
            help="Also serve Open Inference Protocol v2 over gRPC on this port "
            "(inference.GRPCInferenceService, as tritonclient.grpc calls it).",
        ),
    ] = None,
) -> None:
    """Serve endpoints over HTTP (Open Inference Protocol v2 and MLflow /invocations),
    and over gRPC with --grpc-port."""
    from alambic.serving import serve as run_server

    run_server(
        endpoint or None,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=access_log,
        grpc_port=grpc_port,
    )
