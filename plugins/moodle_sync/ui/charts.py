"""Inline SVG charts, drawn on the server: the page needs no script library and no network (none may be
reachable from where Airflow runs), and a chart is readable in a screenshot or with scripts off."""

from __future__ import annotations

from html import escape

PALETTE = {"pending": "#6b8afd", "failed": "#f0a030", "dead": "#d64545", "sent": "#3aa76d",
           "superseded": "#9aa5b1", "skipped": "#c5cad1"}
EXTRA = ["#7c5cc4", "#2b9bb3", "#c45c9a", "#8a8f3a", "#5c7cc4", "#b3702b", "#4aa3a3", "#a34a4a"]


def color_for(name: str, index: int) -> str:
    return PALETTE.get(name) or EXTRA[index % len(EXTRA)]


def _nice_max(value: int) -> int:
    """The axis top: 1, 2 or 5 times a power of ten, at least ``value``."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= value:
                return m * step
        step *= 10


def stacked_bars(labels: list[str], series: dict[str, list[int]], *, title: str, width: int = 900,
                 height: int = 240) -> str:
    """One bar per label, stacked by series (in the given order), with a legend; each segment has a tooltip."""
    left, right, top, bottom = 48, 10, 28, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(labels), 1)
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    top_value = _nice_max(max(totals, default=0))
    slot = plot_w / n
    bar = max(slot * 0.8, 1.0)
    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="100%" role="img" aria-label="{escape(title)}">',
             f'<text x="{left}" y="16" class="chart-title">{escape(title)}</text>']
    for fraction in (0, 0.5, 1):
        y = top + plot_h * (1 - fraction)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">'
                     f'{int(top_value * fraction)}</text>')
    for i, label in enumerate(labels):
        x = left + i * slot + (slot - bar) / 2
        y = top + plot_h
        for k, (name, values) in enumerate(series.items()):
            value = values[i]
            if not value:
                continue
            h = plot_h * value / top_value
            y -= h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                         f'fill="{color_for(name, k)}"><title>{escape(label)} {escape(name)}: {value}</title></rect>')
    every = max(1, round(n / 8))
    for i in range(0, len(labels), every):
        x = left + i * slot + slot / 2
        parts.append(f'<text x="{x:.1f}" y="{height - bottom + 14}" text-anchor="middle" class="axis">'
                     f'{escape(labels[i])}</text>')
    x = left
    for k, name in enumerate(series):
        parts.append(f'<rect x="{x}" y="{height - 14}" width="10" height="10" fill="{color_for(name, k)}"/>'
                     f'<text x="{x + 14}" y="{height - 5}" class="legend">{escape(name)} '
                     f'({sum(series[name])})</text>')
        x += 24 + 7 * (len(name) + len(str(sum(series[name]))) + 3)
    parts.append("</svg>")
    return "".join(parts)
