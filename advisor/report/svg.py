"""Tiny self-contained SVG line plots (no matplotlib): enough for loss curves, per-layer gradient
norms and the LR range curve in the HTML report."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")
Point = tuple[float, float]


def _finite(points: Sequence[Point], logx: bool, logy: bool) -> list[Point]:
    out = []
    for x, y in points:
        if x is None or y is None or not (math.isfinite(x) and math.isfinite(y)):
            continue
        if (logx and x <= 0) or (logy and y <= 0):
            continue
        out.append((math.log10(x) if logx else x, math.log10(y) if logy else y))
    return out


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    step = (hi - lo) / (n - 1)
    return [lo + i * step for i in range(n)]


def _label(v: float, log: bool) -> str:
    if log:
        return f"1e{v:.0f}" if abs(v - round(v)) < 1e-9 else f"{10 ** v:.2g}"
    return f"{v:.3g}"


def line_plot(series: dict[str, Sequence[Point]], *, title: str, xlabel: str, ylabel: str,
              logx: bool = False, logy: bool = False, width: int = 640, height: int = 300,
              marks: dict[str, float] | None = None, span_marks: bool = False) -> str:
    """An SVG element with one polyline per named series (up to 10 colours, legend below).

    `marks` draws labelled vertical lines at x values (e.g. the suggested learning rate); a
    mark outside the data's x range is left out, unless `span_marks` widens the range to
    show it (the step a loss turned NaN lies just past its last finite point)."""
    left, right, top, bottom = 64, 16, 28, 44
    data = {k: _finite(v, logx, logy) for k, v in series.items()}
    data = {k: v for k, v in data.items() if v}
    legend_rows = (len(data) + 2) // 3
    full_h = height + 18 * legend_rows
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{full_h}" '
             f'viewBox="0 0 {width} {full_h}" role="img" aria-label="{escape(title)}" '
             'font-family="sans-serif" font-size="11">',
             f'<text x="{width / 2}" y="16" text-anchor="middle" font-size="13" '
             f'font-weight="bold">{escape(title)}</text>']
    if not data:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">'
                     'no data</text></svg>')
        return "".join(parts)
    xs = [p[0] for v in data.values() for p in v]
    if span_marks:
        xs += [math.log10(m) if logx else m for m in (marks or {}).values()
               if m is not None and math.isfinite(m) and not (logx and m <= 0)]
    ys = [p[1] for v in data.values() for p in v]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    if y1 == y0:
        y0, y1 = y0 - (abs(y0) * 0.1 or 1), y1 + (abs(y1) * 0.1 or 1)
    pw, ph = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def sy(y: float) -> float:
        return top + ph - (y - y0) / (y1 - y0) * ph

    parts.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" '
                 'stroke="#999"/>')
    for t in _ticks(y0, y1):
        parts.append(f'<line x1="{left}" x2="{left + pw}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" '
                     'stroke="#eee"/>')
        parts.append(f'<text x="{left - 4}" y="{sy(t) + 4:.1f}" text-anchor="end">'
                     f'{_label(t, logy)}</text>')
    for t in _ticks(x0, x1):
        parts.append(f'<text x="{sx(t):.1f}" y="{top + ph + 14}" text-anchor="middle">'
                     f'{_label(t, logx)}</text>')
    parts.append(f'<text x="{left + pw / 2}" y="{top + ph + 30}" text-anchor="middle">'
                 f'{escape(xlabel)}</text>')
    parts.append(f'<text x="14" y="{top + ph / 2}" text-anchor="middle" '
                 f'transform="rotate(-90 14 {top + ph / 2})">{escape(ylabel)}</text>')
    for (name, pts), color in zip(data.items(), PALETTE * 10, strict=False):
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
        if len(pts) == 1:
            x, y = pts[0]
            parts.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{color}"/>')
        else:
            parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" '
                         f'points="{path}"><title>{escape(name)}</title></polyline>')
    for label, xv in (marks or {}).items():
        if xv is None or (logx and xv <= 0):
            continue
        x = math.log10(xv) if logx else xv
        if x0 <= x <= x1:
            parts.append(f'<line x1="{sx(x):.1f}" x2="{sx(x):.1f}" y1="{top}" '
                         f'y2="{top + ph}" stroke="#555" stroke-dasharray="4 3"/>')
            parts.append(f'<text x="{sx(x) + 3:.1f}" y="{top + 12}">{escape(label)}</text>')
    for i, (name, color) in enumerate(zip(data, PALETTE * 10, strict=False)):
        lx = left + (i % 3) * (pw / 3)
        ly = height + 18 * (i // 3) + 4
        parts.append(f'<rect x="{lx:.1f}" y="{ly - 9}" width="12" height="3" fill="{color}"/>')
        parts.append(f'<text x="{lx + 16:.1f}" y="{ly - 4}">{escape(name[:40])}</text>')
    parts.append("</svg>")
    return "".join(parts)
