"""Model cards: what a version is for, its data, lineage, metrics and limits, as a document.

Example:
    >>> import alambic as al
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.linear_model import LogisticRegression
    >>> x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    >>> model = al.models.package(LogisticRegression(max_iter=5000).fit(x, y), x, y)
    >>> _ = al.register(model, name="fraud-auto", description="Flags fraudulent listings.")
    >>> card = model_card("fraud-auto/1")  # Markdown; fmt="html" for a web page
    >>> card.splitlines()[0], "Flags fraudulent listings." in card
    ('# Model card: fraud-auto/1', True)
"""

from __future__ import annotations

import html
import json
from typing import Any

from alambic.errors import RegistryError

__all__ = ["model_card"]

Section = tuple[str, list[str] | list[list[str]]]  # a title and paragraphs, or table rows


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _replaced(store: Any, record: Any) -> Any:
    """The version this one replaces: production's holder, else the version before it."""
    held = store.aliases(record.group).get("production")
    if held is not None and held != record.version:
        return store.get_version(record.group, held)
    earlier = [v for v in store.versions(record.group) if v.version < record.version]
    return earlier[-1] if earlier else None


def _sections(record: Any, group: Any, replaced: Any, aliases: list[str]) -> list[Section]:
    lineage = record.lineage or {}
    evaluation = record.evaluation or {}
    intervals = evaluation.get("ci") or {}
    purpose = [record.description or group.description or "No description was given."]
    if record.tags:
        purpose.append("Tags: " + ", ".join(f"{k}={v}" for k, v in sorted(record.tags.items())))
    signature = record.signature or {}
    data: list[list[str]] = [["input", "type"]]
    data += [[str(name), str(dtype)] for name, dtype in signature.get("inputs", [])]
    data.append(["→ output", f"{signature.get('task', '?')} {signature.get('classes') or ''}"])
    for label, fingerprint in sorted((lineage.get("data") or {}).items()):
        data.append([f"data of {label}", str(fingerprint)[:16]])
    if lineage.get("run"):
        origin = [
            f"Run {lineage['run']} of pipeline {lineage.get('pipeline')} (definition "
            f"{str(lineage.get('pipeline_hash', ''))[:12]}), step {lineage.get('step')}.",
            "Parameters: " + json.dumps(lineage.get("params") or {}, sort_keys=True),
        ]
    else:
        origin = [f"Registered outside a pipeline by {record.created_by}."]
    code = lineage.get("code") or {}
    if code:
        origin.append(
            f"Code: commit {code.get('commit', '')[:12]}"
            + (f", tag {code['tag']}" if code.get("tag") else "")
            + (" (uncommitted changes)" if code.get("dirty") else "")
        )
    packages = lineage.get("packages") or {}
    origin.append("Packages: " + ", ".join(f"{k} {v}" for k, v in sorted(packages.items())))
    metrics: list[list[str]] = [["metric", "value", "95% interval"]]
    for name, value in sorted(record.metrics.items()):
        interval = intervals.get(name)
        shown = f"[{_number(interval[0])}, {_number(interval[1])}]" if interval else "–"
        metrics.append([name, _number(value), shown])
    sections: list[Section] = [
        ("Purpose", purpose),
        ("Data", data),
        ("Lineage", origin),
        ("Metrics", metrics),
        *_origin_sections(lineage.get("origin")),
    ]
    if replaced is not None:
        rows = [["metric", replaced.ref, record.ref, "change"]]
        for name in sorted(set(record.metrics) | set(replaced.metrics)):
            old, new = replaced.metrics.get(name), record.metrics.get(name)
            change = _number(new - old) if old is not None and new is not None else "–"
            both = ["–" if v is None else _number(v) for v in (old, new)]
            rows.append([name, *both, change])
        sections.append((f"Compared with {replaced.ref} ({replaced.status})", rows))
    limits = [
        "Inputs must match the data schema above; other columns or types are refused.",
        f"Status: {record.status}"
        + (f" by {record.status_by}: {record.status_comment}" if record.status_comment else "")
        + (f"; aliases: {', '.join(aliases)}" if aliases else "; holds no alias"),
    ]
    if record.tags.get("limits"):
        limits.insert(0, str(record.tags["limits"]))
    sections.append(("Limits", limits))
    return sections


def _origin_sections(origin: Any) -> list[Section]:
    """What made the model, when it says (an AutoML search: its leaderboard)."""
    if not isinstance(origin, dict):
        return []
    kind = origin.get("kind", "origin")
    lines = [
        f"Made by {kind}: candidate {origin.get('candidate')} of the search in "
        f"{origin.get('folder')} (study {origin.get('study')}), a {origin.get('task')} task "
        f"optimising {origin.get('metric')}."
    ]
    sections: list[Section] = [(f"Origin ({kind})", lines)]
    board = origin.get("leaderboard") or []
    if board:
        rows: list[list[str]] = [["candidate", "status", "CV", "holdout", "ms / 1 row", "bytes"]]
        for row in board:
            rows.append(
                [
                    str(row.get("candidate")),
                    str(row.get("status")),
                    *(
                        _number(row[key]) if isinstance(row.get(key), int | float) else "–"
                        for key in ("cv_score", "holdout_score", "latency_ms_1_row", "size_bytes")
                    ),
                ]
            )
        sections.append(("Leaderboard", rows))
    return sections


def _markdown(title: str, sections: list[Section]) -> str:
    lines = [f"# {title}", ""]
    for heading, body in sections:
        lines += [f"## {heading}", ""]
        if body and isinstance(body[0], list):
            rows = [[cell.replace("|", "\\|") for cell in row] for row in body]
            lines.append("| " + " | ".join(rows[0]) + " |")
            lines.append("|" + "---|" * len(rows[0]))
            lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
        else:
            lines += [str(p) for p in body]
        lines.append("")
    return "\n".join(lines)


def _html(title: str, sections: list[Section]) -> str:
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em}</style>",
        f"</head><body><h1>{html.escape(title)}</h1>",
    ]
    for heading, body in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        if body and isinstance(body[0], list):
            rows = body
            parts.append("<table><tr>")
            parts += [f"<th>{html.escape(str(c))}</th>" for c in rows[0]]
            parts.append("</tr>")
            for row in rows[1:]:
                cells = "".join(f"<td>{html.escape(str(c))}</td>" for c in row)
                parts.append(f"<tr>{cells}</tr>")
            parts.append("</table>")
        else:
            parts += [f"<p>{html.escape(str(p))}</p>" for p in body]
    parts.append("</body></html>")
    return "\n".join(parts)


def model_card(ref: str, *, fmt: str = "markdown") -> str:
    """The model card of a version (``name/3`` or ``name@production``), Markdown or HTML."""
    from alambic.registry._registry import registry_store, resolve

    if fmt not in ("markdown", "html"):
        raise RegistryError(f"format {fmt!r}: use markdown or html")
    record = resolve(ref)
    store = registry_store()
    group = store.get_group(record.group)
    aliases = sorted(a for a, v in store.aliases(record.group).items() if v == record.version)
    sections = _sections(record, group, _replaced(store, record), aliases)
    title = f"Model card: {record.ref}"
    return _markdown(title, sections) if fmt == "markdown" else _html(title, sections)
