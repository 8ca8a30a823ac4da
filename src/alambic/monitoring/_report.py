"""Monitoring reports as one self-contained HTML file: inline CSS and SVG, no script, no
CDN, so it opens offline and stays small (a few KiB per column).

The summary comes first (the status, what is wrong, the window), then the drift table,
each column's reference-against-current distribution, drift over time, the quality
violations and the realized quality per group with its intervals.
"""

from __future__ import annotations

import html
import math
from typing import Any

__all__ = ["render"]

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#222}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 10px;border-bottom:1px solid #eee;
text-align:left}th{background:#f6f6f6}.ok{color:#1a7f37}.warn{color:#b35900}.alert,.drift{color:#c62828}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;color:#fff;font-weight:600}
.b-ok{background:#1a7f37}.b-warn{background:#b35900}.b-alert{background:#c62828}
.b-no_data,.b-failed{background:#777}.grid{display:flex;flex-wrap:wrap;gap:14px}
.cell{border:1px solid #eee;padding:6px}.small{color:#666;font-size:12px}
"""
_REF, _CUR = "#8da0cb", "#fc8d62"


def _e(value: Any) -> str:
    return html.escape(str(value))


def _num(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4g}"
    return _e(value)


def _bars(dist: dict[str, Any], width: int = 250, height: int = 90) -> str:
    """Reference and current shares side by side, one pair of bars per bin."""
    ref, cur = dist.get("reference") or [], dist.get("current") or []
    n = max(len(ref), len(cur))
    if not n:
        return ""
    top = max([*ref, *cur, 1e-9])
    step = width / n
    bars = []
    for i in range(n):
        for j, (values, colour) in enumerate(((ref, _REF), (cur, _CUR))):
            share = values[i] if i < len(values) else 0.0
            h = share / top * (height - 12)
            x = i * step + j * step / 2
            bars.append(
                f'<rect x="{x:.1f}" y="{height - h:.1f}" width="{step / 2 - 1:.1f}" '
                f'height="{h:.1f}" fill="{colour}"><title>{_e(dist["labels"][i])}: '
                f"{share:.1%}</title></rect>"
            )
    return f'<svg width="{width}" height="{height}" role="img">{"".join(bars)}</svg>'


def _line(points: list[float], width: int = 500, height: int = 80) -> str:
    if len(points) < 2:
        return ""
    top = max([*points, 1e-9])
    xs = [i * width / (len(points) - 1) for i in range(len(points))]
    ys = [height - 4 - p / top * (height - 8) for p in points]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
    return (
        f'<svg width="{width}" height="{height}"><polyline fill="none" stroke="{_CUR}" '
        f'stroke-width="2" points="{path}"/></svg>'
    )


def _summary(results: dict[str, Any]) -> str:
    lines = []
    drift = results.get("drift") or {}
    if drift.get("drifted"):
        lines.append(f"drift in {len(drift['drifted'])} columns: {_e(', '.join(drift['drifted']))}")
    if drift.get("dataset_drift"):
        lines.append(f"the data set drifts ({drift['share']:.0%} of its columns)")
    violations = results.get("quality") or []
    if violations:
        kinds = sorted({v["constraint_check_type"] for v in violations})
        lines.append(f"{len(violations)} quality violations ({_e(', '.join(kinds))})")
    for problem in results.get("performance_problems") or []:
        lines.append(_e(problem))
    if results.get("no_data"):
        lines.append(_e(results["no_data"]))
    items = "".join(f"<li>{line}</li>" for line in lines) or "<li>nothing is wrong</li>"
    return f"<ul>{items}</ul>"


def _drift_table(drift: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{_e(c['column'])}</td><td>{_e(c['role'])}</td><td>{_e(c['method'])}</td>"
        f"<td>{_num(c['statistic'])}</td><td>{_num(c['p_value'])}</td>"
        f"<td>{_num(c['threshold'])}</td><td>{_num(c['bound'])}</td>"
        f'<td class="{_e(c["status"])}">{_e(c["status"])}</td></tr>'
        for c in drift.get("columns", [])
    )
    head = "<tr><th>column</th><th>role</th><th>test</th><th>statistic</th><th>p-value</th>"
    head += "<th>threshold</th><th>± bound</th><th>verdict</th></tr>"
    return f"<table>{head}{rows}</table>"


def _distributions(results: dict[str, Any]) -> str:
    cells = [
        f'<div class="cell"><b>{_e(name)}</b><br>{_bars(dist)}</div>'
        for name, dist in (results.get("distributions") or {}).items()
    ]
    legend = (
        f'<p class="small"><span style="color:{_REF}">■</span> reference '
        f'<span style="color:{_CUR}">■</span> current</p>'
    )
    return legend + f'<div class="grid">{"".join(cells)}</div>' if cells else ""


def _over_time(results: dict[str, Any]) -> str:
    chunks = results.get("drift_over_time") or []
    if not chunks:
        return ""
    rows = "".join(
        f"<tr><td>{_e(c['chunk'])}</td><td>{_e(c['status'])}</td><td>{_num(c['share'])}</td>"
        f"<td>{_e(', '.join(c['drifted']))}</td></tr>"
        for c in chunks
    )
    chart = _line([c["share"] or 0.0 for c in chunks])
    head = "<tr><th>chunk</th><th>status</th><th>drifted share</th><th>columns</th></tr>"
    return f"<h2>Drift over time</h2>{chart}<table>{head}{rows}</table>"


def _quality(results: dict[str, Any]) -> str:
    violations = results.get("quality")
    if violations is None:
        return ""
    rows = "".join(
        f"<tr><td>{_e(v['feature_name'])}</td><td>{_e(v['constraint_check_type'])}</td>"
        f"<td>{_num(v.get('share'))}</td><td>{_e(v['description'])}</td></tr>"
        for v in violations
    )
    head = "<tr><th>column</th><th>check</th><th>share of rows</th><th>what</th></tr>"
    return f"<h2>Data quality</h2><table>{head}{rows or '<tr><td>none</td></tr>'}</table>"


def _performance(results: dict[str, Any]) -> str:
    report = results.get("performance")
    if not report:
        return ""
    rows = []
    for name, group in report.get("groups", {}).items():
        metrics = ", ".join(
            f"{m} {_num(v)}"
            + (
                f" [{_num(group['ci'][m][0])}, {_num(group['ci'][m][1])}]"
                if m in group["ci"]
                else ""
            )
            for m, v in group.get("metrics", {}).items()
        )
        rows.append(
            f"<tr><td>{_e(name)}</td><td>{group['predictions']}</td><td>{group['labelled']}</td>"
            f"<td>{group['labelled_share']:.0%}</td><td>{metrics or '—'}</td></tr>"
        )
    head = "<tr><th>group</th><th>predictions</th><th>labelled</th><th>share</th>"
    head += "<th>metrics [95% interval]</th></tr>"
    return f"<h2>Quality with labels</h2><table>{head}{''.join(rows)}</table>"


def render(title: str, status: str, results: dict[str, Any], window: str = "") -> str:
    """The HTML report of one monitor run (or of a drift report alone)."""
    parts = [
        '<!doctype html><html><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>",
        f'<h1>{_e(title)} <span class="badge b-{_e(status)}">{_e(status)}</span></h1>',
        f'<p class="small">{_e(window)}</p>' if window else "",
        _summary(results),
    ]
    drift = results.get("drift")
    if drift:
        parts.append(f"<h2>Drift</h2>{_drift_table(drift)}{_distributions(results)}")
    parts += [_over_time(results), _quality(results), _performance(results), "</body></html>"]
    return "".join(parts)
