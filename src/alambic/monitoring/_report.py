"""Monitoring reports as one self-contained HTML file: inline CSS and SVG, no script, no
CDN, so it opens offline and stays small (a few KiB per column).

The summary comes first (the status, what is wrong, since when, the window), then the
drift table, each column's reference-against-current distribution, drift over time, the
quality violations, the realized quality per group with its intervals (champion against
challenger, holdout against treated), quality over time with its bands, and the
performance estimated before the labels beside the realized one.
"""

from __future__ import annotations

from typing import Any

from alambic.core.reports import BLUE, ORANGE
from alambic.core.reports import STYLE as _STYLE
from alambic.core.reports import escape as _e
from alambic.core.reports import number as _num

__all__ = ["render"]

_REF, _CUR = BLUE, ORANGE


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


def _runs(band: list[list[float] | None]) -> list[list[tuple[int, list[float]]]]:
    """The chunks that have a band, in runs of consecutive ones (a gap is not filled)."""
    runs: list[list[tuple[int, list[float]]]] = []
    for i, b in enumerate(band):
        if not b:
            continue
        if runs and runs[-1][-1][0] == i - 1:
            runs[-1].append((i, b))
        else:
            runs.append([(i, b)])
    return runs


def _band_chart(
    values: list[float | None],
    band: list[list[float] | None],
    realized: list[float | None] | None = None,
    *,
    width: int = 500,
    height: int = 110,
) -> str:
    """A metric over chunks: its 95% band shaded, its value as a line, and the realized
    values (where labels came) as dots; the y axis spans what is drawn."""
    n = len(values)
    drawn = [v for v in values if v is not None] + [x for b in band if b for x in b]
    drawn += [v for v in realized or [] if v is not None]
    if n < 1 or not drawn:
        return ""
    low, high = min(drawn), max(drawn)
    span = (high - low) or 1.0

    def xy(i: int, v: float) -> str:
        x = 30 + (i * (width - 40) / (n - 1) if n > 1 else (width - 40) / 2)
        return f"{x:.1f},{height - 14 - (v - low) / span * (height - 24):.1f}"

    parts = []
    for run in _runs(band):
        if len(run) == 1:  # a chunk alone: its band as a whisker
            (x1, y1), (x2, y2) = (xy(run[0][0], run[0][1][k]).split(",") for k in (0, 1))
            parts.append(
                f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{_CUR}" '
                'stroke-opacity="0.35" stroke-width="8"/>'
            )
            continue
        top = [xy(i, b[1]) for i, b in run]
        bottom = [xy(i, b[0]) for i, b in reversed(run)]
        parts.append(
            f'<polygon fill="{_CUR}" fill-opacity="0.2" points="{" ".join(top + bottom)}"/>'
        )
    line = [xy(i, v) for i, v in enumerate(values) if v is not None]
    if len(line) > 1:
        parts.append(
            f'<polyline fill="none" stroke="{_CUR}" stroke-width="2" points="{" ".join(line)}"/>'
        )
    elif line:
        x, y = line[0].split(",")
        parts.append(f'<circle r="3" fill="{_CUR}" cx="{x}" cy="{y}"/>')
    for i, v in enumerate(realized or []):
        if v is not None:
            x, y = xy(i, v).split(",")
            parts.append(
                f'<circle r="3.5" fill="{_REF}" cx="{x}" cy="{y}">'
                f"<title>realized {v:.4g}</title></circle>"
            )
    axis = (
        f'<text x="0" y="12" font-size="10">{high:.3g}</text>'
        f'<text x="0" y="{height - 12}" font-size="10">{low:.3g}</text>'
    )
    return f'<svg width="{width}" height="{height}" role="img">{axis}{"".join(parts)}</svg>'


def _since(results: dict[str, Any]) -> list[str]:
    """Since when things have been wrong: the run streak, and drift over time's chunks."""
    lines = []
    since = results.get("since") or {}
    if since.get("first_seen"):
        last = since.get("last_ok")
        after = f"; the last ok run's window ended {_e(last)}" if last else "; no run was ok before"
        lines.append(
            f"not ok in every run since the one whose window ended {_e(since['first_seen'])} "
            f"UTC{after}"
        )
    chunks = results.get("drift_over_time") or []
    start = None
    for chunk in chunks:  # the first chunk of the trailing streak of drifting ones
        start = (start or chunk["chunk"]) if chunk["drifted"] else None
    if start is not None:
        lines.append(f"columns drift in every chunk since {_e(start)}")
    return lines


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
    for problem in (results.get("performance_problems") or []) + (
        results.get("estimate_problems") or []
    ):
        lines.append(_e(problem))
    lines += _since(results)
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
    chart = _groups_chart(report)
    return f"<h2>Quality with labels</h2>{chart}<table>{head}{''.join(rows)}</table>"


def _quality_over_time(results: dict[str, Any]) -> str:
    """Each realized metric chunk by chunk, with its bootstrap interval as a band."""
    chunks = results.get("performance_over_time") or []
    metrics = sorted({m for c in chunks for m in c.get("metrics", {})})
    if not chunks or not metrics:
        return ""
    cells = []
    for metric in metrics:
        values = [c["metrics"].get(metric) for c in chunks]
        band = [c["ci"].get(metric) for c in chunks]
        cells.append(f'<div class="cell"><b>{_e(metric)}</b><br>{_band_chart(values, band)}</div>')
    rows = "".join(
        f"<tr><td>{_e(c['chunk'])}</td><td>{c['predictions']}</td><td>{c['labelled']}</td>"
        f"<td>{_e(', '.join(f'{m} {_num(v)}' for m, v in c['metrics'].items()) or '—')}</td></tr>"
        for c in chunks
    )
    head = "<tr><th>chunk</th><th>predictions</th><th>labelled</th><th>metrics</th></tr>"
    return (
        '<h2>Quality over time</h2><p class="small">realized metrics per chunk; the band is '
        f'the 95% bootstrap interval</p><div class="grid">{"".join(cells)}</div>'
        f"<table>{head}{rows}</table>"
    )


def _estimated(results: dict[str, Any]) -> str:
    """Estimated performance per chunk, its band, and the realized metric beside it."""
    found = results.get("estimate") or {}
    chunks = found.get("chunks") or []
    if not chunks:
        return ""
    cells = []
    for metric in chunks[0]["estimated"]:
        values = [c["estimated"].get(metric) for c in chunks]
        band = [c["band"].get(metric) for c in chunks]
        realized = [c["realized"].get(metric) for c in chunks]
        reference = (found.get("reference") or {}).get(metric)
        note = f" (reference {_num(reference)})" if reference is not None else ""
        chart = _band_chart(values, band, realized)
        cells.append(f'<div class="cell"><b>{_e(metric)}</b>{note}<br>{chart}</div>')
    rows = "".join(
        f"<tr><td>{_e(c['chunk'])}</td><td>{c['rows']}</td><td>"
        + ", ".join(
            f"{m} {_num(v)}"
            + (f" (realized {_num(c['realized'][m])})" if m in c["realized"] else "")
            for m, v in c["estimated"].items()
        )
        + "</td></tr>"
        for c in chunks
    )
    legend = (
        f'<p class="small"><span style="color:{_CUR}">━</span> estimated from the scores '
        f'(CBPE), band 95% · <span style="color:{_REF}">●</span> realized, where labels came</p>'
    )
    head = "<tr><th>chunk</th><th>rows</th><th>estimated metrics</th></tr>"
    return (
        f'<h2>Estimated performance</h2>{legend}<div class="grid">{"".join(cells)}</div>'
        f"<table>{head}{rows}</table>"
    )


def _groups_chart(report: dict[str, Any]) -> str:
    """Champion against challenger, holdout against treated: each group's main metric
    with its interval, one dot and whisker per group."""
    groups = [(n, g) for n, g in report.get("groups", {}).items() if g.get("metrics")]
    if len(groups) < 2:
        return ""
    metric = next(iter(groups[0][1]["metrics"]))
    values = [g["metrics"].get(metric) for _, g in groups]
    band = [g["ci"].get(metric) for _, g in groups]
    drawn = [v for v in values if v is not None] + [x for b in band if b for x in b]
    low, high = min(drawn), max(drawn)
    span, row, width = float(high - low) or 1.0, 22, 520

    def x(v: float) -> float:
        return 170 + (float(v) - float(low)) / span * (width - 190)

    parts = []
    for i, ((name, _), value, interval) in enumerate(zip(groups, values, band, strict=True)):
        y = 14 + i * row
        parts.append(f'<text x="0" y="{y + 4}" font-size="11">{_e(name)}</text>')
        if interval:
            parts.append(
                f'<line x1="{x(interval[0]):.1f}" x2="{x(interval[1]):.1f}" y1="{y}" y2="{y}" '
                f'stroke="{_REF}" stroke-width="3"/>'
            )
        if value is not None:
            parts.append(
                f'<circle r="4" cx="{x(value):.1f}" cy="{y}" fill="{_CUR}">'
                f"<title>{_e(name)}: {metric} {value:.4g}</title></circle>"
            )
    height = 14 + len(groups) * row
    return (
        f'<p class="small">{_e(metric)} per group, with its 95% interval '
        f"({low:.3g} to {high:.3g})</p>"
        f'<svg width="{width}" height="{height}" role="img">{"".join(parts)}</svg>'
    )


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
    parts += [
        _over_time(results),
        _quality(results),
        _performance(results),
        _quality_over_time(results),
        _estimated(results),
        "</body></html>",
    ]
    return "".join(parts)
