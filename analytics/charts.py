"""Server-rendered SVG charts for the analytics page: no JavaScript and no vendored library, the same picture
with or without scripts, printable, and readable by a screen reader (each chart has a title and the table
below it carries every number).

Each function takes the report's groups (analytics/selectors.py Figures) and returns safe SVG markup. Colours
come from CSS classes (static/css/app.css may restyle them); text is escaped."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from analytics.selectors import Figures

WIDTH = 720
ROW = 22  # height of one group's bar
LABEL_WIDTH = 180
PALETTE = ("#2f6fdf", "#2e9e5b", "#e0a030", "#d9534f", "#8e6cc9", "#5bc0de", "#7f8c8d", "#c0392b")
MAX_BARS = 25  # more groups than this: the busiest, the table has the rest


def _svg(height: int, title: str, body: list[str]) -> SafeString:
    return mark_safe(  # noqa: S308 -- every text is escaped as the parts are built
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{"".join(body)}</svg>'
    )


def _label(y: float, text: str) -> str:
    shown = text if len(text) <= 26 else text[:25] + "…"
    return f'<text x="{LABEL_WIDTH - 6}" y="{y:.1f}" text-anchor="end" font-size="12">{escape(shown)}</text>'


def calls_and_connect_rate(groups: Sequence[Figures]) -> SafeString:
    """A bar per group, its length the calls, with the connect rate written and marked (a tick at its share)."""
    shown = list(groups)[:MAX_BARS]
    most = max((g.calls for g in shown), default=0) or 1
    span = WIDTH - LABEL_WIDTH - 90
    body = []
    for i, figures in enumerate(shown):
        y = 8 + i * ROW
        length = span * figures.calls / most
        rate = figures.connect_rate
        rate_text = "–" if rate is None else f"{rate:.0%}"
        body.append(_label(y + 13, figures.label))
        body.append(
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{ROW - 6}" fill="{PALETTE[0]}">'
            f"<title>{escape(figures.label)}: {figures.calls} calls, {rate_text} connected</title></rect>"
        )
        if rate is not None:
            tick = LABEL_WIDTH + length * rate
            body.append(
                f'<rect x="{LABEL_WIDTH}" y="{y + ROW - 9}" width="{tick - LABEL_WIDTH:.1f}" height="3" '
                f'fill="{PALETTE[1]}"/>'
            )
        body.append(
            f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{y + 13}" font-size="12">'
            f"{figures.calls} · {rate_text}</text>"
        )
    return _svg(
        16 + len(shown) * ROW, "Calls per group (bar) and connect rate (green line, and in words)", body
    )


def outcome_colours(groups: Sequence[Figures]) -> dict[str, str]:
    """One colour per outcome label, the commonest first, so that the legend and every bar agree."""
    totals: dict[str, int] = {}
    for figures in groups:
        for label, count in figures.outcomes.items():
            totals[label] = totals.get(label, 0) + count
    ordered = sorted(totals, key=lambda label: -totals[label])
    return {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(ordered)}


def outcomes_stacked(groups: Sequence[Figures]) -> SafeString:
    """A bar per group split by outcome, each part its share of the group's calls; a legend above."""
    shown = list(groups)[:MAX_BARS]
    colours = outcome_colours(shown)
    span = WIDTH - LABEL_WIDTH - 10
    body, x = [], 0.0
    for label, colour in colours.items():  # the legend, one line, as many as fit
        if x > WIDTH - 120:
            break
        body.append(f'<rect x="{x:.0f}" y="2" width="10" height="10" fill="{colour}"/>')
        body.append(f'<text x="{x + 14:.0f}" y="11" font-size="11">{escape(label)}</text>')
        x += 24 + 6.5 * len(label)
    for i, figures in enumerate(shown):
        y = 22 + i * ROW
        body.append(_label(y + 13, figures.label))
        left = float(LABEL_WIDTH)
        for label, count in figures.outcomes_ranked:
            width = span * count / (figures.calls or 1)
            body.append(
                f'<rect x="{left:.1f}" y="{y}" width="{width:.1f}" height="{ROW - 6}" fill="{colours[label]}">'
                f"<title>{escape(figures.label)}: {escape(label)} {count}</title></rect>"
            )
            left += width
    return _svg(30 + len(shown) * ROW, "Outcomes per group, as shares of its calls", body)


def calls_over_days(days: Sequence[Figures]) -> SafeString:
    """Calls (blue) and connected calls (green) per day, as lines; the first and last day written below."""
    height, top, bottom = 200, 16, 170
    if not days:
        return _svg(height, "Calls per day", [])
    most = max(g.calls for g in days) or 1
    step = (WIDTH - 60) / max(1, len(days) - 1)

    def points(values: list[int]) -> str:
        return " ".join(
            f"{40 + i * step:.1f},{bottom - (bottom - top) * v / most:.1f}" for i, v in enumerate(values)
        )

    body = [
        f'<line x1="40" y1="{bottom}" x2="{WIDTH - 20}" y2="{bottom}" stroke="#999"/>',
        f'<text x="36" y="{top + 4}" text-anchor="end" font-size="11">{most}</text>',
        f'<text x="36" y="{bottom}" text-anchor="end" font-size="11">0</text>',
        f'<polyline fill="none" stroke="{PALETTE[0]}" stroke-width="2" points="{points([g.calls for g in days])}"/>',
        f'<polyline fill="none" stroke="{PALETTE[1]}" stroke-width="2" '
        f'points="{points([g.connected for g in days])}"/>',
        f'<text x="40" y="{bottom + 18}" font-size="11">{escape(days[0].label)}</text>',
        f'<text x="{WIDTH - 20}" y="{bottom + 18}" text-anchor="end" font-size="11">{escape(days[-1].label)}</text>',
    ]
    for i, figures in enumerate(days):
        x, y = 40 + i * step, bottom - (bottom - top) * figures.calls / most
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{PALETTE[0]}"><title>{escape(figures.label)}: '
            f"{figures.calls} calls, {figures.connected} connected</title></circle>"
        )
    return _svg(height, "Calls (blue) and connected calls (green) per day", body)
