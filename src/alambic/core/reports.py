"""Self-contained HTML reports: one file with inline CSS and SVG, no script, no CDN, so
that it opens offline, in a mail client's preview or a CI artifact viewer.

The pieces every report uses: :data:`STYLE`, :func:`escape` and :func:`number` for
cells, :func:`table`, :func:`page`, and two charts drawn as SVG: :func:`bar_chart`
(labelled horizontal bars) and :func:`scatter` (points, some highlighted, an axis
optionally on a log scale).

Example:
    >>> "<table>" in table(["a", "b"], [[1, 0.123456]]) and "0.1235" in number(0.123456)
    True
    >>> page("t", "<p>x</p>").startswith("<!doctype html>")
    True
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

__all__ = [
    "BLUE",
    "GREY",
    "ORANGE",
    "STYLE",
    "bar_chart",
    "escape",
    "markdown_table",
    "number",
    "page",
    "scatter",
    "table",
]

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#222}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 10px;border-bottom:1px solid #eee;
text-align:left}th{background:#f6f6f6}.ok{color:#1a7f37}.warn{color:#b35900}.alert,.drift{color:#c62828}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;color:#fff;font-weight:600}
.b-ok{background:#1a7f37}.b-warn{background:#b35900}.b-alert{background:#c62828}
.b-no_data,.b-failed{background:#777}.b-high{background:#c62828}.b-medium{background:#b35900}.b-low{background:#777}.grid{display:flex;flex-wrap:wrap;gap:14px}
.cell{border:1px solid #eee;padding:6px}.small{color:#666;font-size:12px}
"""
BLUE, ORANGE, GREY = "#8da0cb", "#fc8d62", "#bbbbbb"


def escape(value: Any) -> str:
    """``value`` as text safe inside HTML."""
    return html.escape(str(value))


def number(value: Any) -> str:
    """A cell's text: four significant digits for floats, a dash for nothing."""
    if value is None:
        return "—"
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4g}"
    return escape(value)


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], *, markup: int = 0) -> str:
    """A table; the first ``markup`` columns of each row are HTML already (the rest are
    escaped, numbers shortened)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{cell if i < markup else number(cell)}</td>" for i, cell in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (GitHub's, as Jupyter renders it); numbers shortened."""

    def cell(value: Any) -> str:
        text = value if isinstance(value, str) else number(value)
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def page(title: str, body: str, *, style: str = "") -> str:
    """A whole document around ``body``."""
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}{style}</style></head><body>"
        f"<h1>{escape(title)}</h1>{body}</body></html>"
    )


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    width: int = 420,
    bar: int = 16,
    colour: str = BLUE,
    fmt: str = "{:.3g}",
) -> str:
    """Horizontal bars, one per label, the longest to scale, each with its value (a
    negative value: no bar, only its value)."""
    if not values:
        return ""
    top = max(max(values), 1e-12)
    room = width - 170
    parts = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = i * (bar + 4)
        length = max(value, 0.0) / top * room
        fill = colour if value >= 0 else GREY
        parts.append(
            f'<text x="0" y="{y + bar - 4}" font-size="11">{escape(str(label)[:22])}</text>'
            f'<rect x="130" y="{y}" width="{length:.1f}" height="{bar}" fill="{fill}">'
            f"<title>{escape(label)}: {escape(fmt.format(value))}</title></rect>"
            f'<text x="{134 + length:.1f}" y="{y + bar - 4}" font-size="10">'
            f"{escape(fmt.format(value))}</text>"
        )
    height = len(values) * (bar + 4)
    return f'<svg width="{width}" height="{height}" role="img">{"".join(parts)}</svg>'


def scatter(
    points: Sequence[tuple[float, float, str, bool]],
    *,
    x_label: str,
    y_label: str,
    log_x: bool = False,
    width: int = 480,
    height: int = 300,
) -> str:
    """Points ``(x, y, label, highlighted)``: highlighted ones in colour and joined by a
    line in x order (a Pareto front, say), the others grey; hovering names a point."""
    shown = [(x, y, n, h) for x, y, n, h in points if _finite(x, y) and (x > 0 or not log_x)]
    if not shown:
        return ""
    xs = [math.log10(x) if log_x else x for x, *_ in shown]
    ys = [y for _, y, *_ in shown]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    x_span, y_span = (x1 - x0) or 1.0, (y1 - y0) or 1.0
    left, bottom = 60, 40

    def at(x: float, y: float) -> tuple[float, float]:
        return (
            left + (x - x0) / x_span * (width - left - 20),
            height - bottom - (y - y0) / y_span * (height - bottom - 20),
        )

    dots, front = [], []
    for (_, _, name, hot), x, y in sorted(zip(shown, xs, ys, strict=True), key=lambda t: t[1]):
        cx, cy = at(x, y)
        colour = ORANGE if hot else GREY
        dots.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{5 if hot else 4}" fill="{colour}">'
            f"<title>{escape(name)}</title></circle>"
            f'<text x="{cx + 7:.1f}" y="{cy - 6:.1f}" font-size="10">{escape(name)}</text>'
        )
        if hot:
            front.append(f"{cx:.1f},{cy:.1f}")
    line = ""
    if len(front) > 1:
        line = (
            f'<polyline fill="none" stroke="{ORANGE}" stroke-dasharray="4 3" '
            f'points="{" ".join(front)}"/>'
        )
    low_x, high_x = (10**x0, 10**x1) if log_x else (x0, x1)
    axes = (
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" '
        'stroke="#999"/>'
        f'<line x1="{left}" y1="10" x2="{left}" y2="{height - bottom}" stroke="#999"/>'
        f'<text x="{left}" y="{height - bottom + 14}" font-size="10">{low_x:.3g}</text>'
        f'<text x="{width - 60}" y="{height - bottom + 14}" font-size="10">{high_x:.3g}</text>'
        f'<text x="{width / 2 - 60:.0f}" y="{height - 8}" font-size="11">'
        f"{escape(x_label)}{' (log scale)' if log_x else ''}</text>"
        f'<text x="2" y="{height - bottom}" font-size="10">{y0:.4g}</text>'
        f'<text x="2" y="18" font-size="10">{y1:.4g}</text>'
        f'<text x="2" y="{(height - bottom) / 2:.0f}" font-size="11">{escape(y_label)}</text>'
    )
    return f'<svg width="{width}" height="{height}" role="img">{axes}{line}{"".join(dots)}</svg>'


def _finite(*values: float) -> bool:
    return all(isinstance(v, int | float) and math.isfinite(v) for v in values)
