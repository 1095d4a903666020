"""Server-rendered inline SVG: no chart library, no script, readable by a screen reader
(each chart has a title and a text table beside it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape

from markupsafe import Markup

from app.console.labels import REASON

PALETTE = {
    "CODE_MALFORMED": "#8c6d1f",
    "PHYSICIAN_UNREGISTERED": "#b3541e",
    "CODE_CANCELLED": "#6b4c9a",
    "NOT_AT_INSTITUTION": "#2f6f9f",
    "INSTITUTION_SUSPENDED": "#c0392b",
    "AGREEMENT_TERMINATED": "#555b66",
    "AGREEMENT_SUSPENDED": "#d68910",
}


def rejections_chart(days: Sequence[date], counts: dict[date, dict[str, int]]) -> Markup:
    """Stacked columns: rejected lines per day, one colour per reason."""
    width, height, left, bottom, top = 1040, 240, 44, 36, 12
    plot_h = height - bottom - top
    totals = [sum(counts.get(d, {}).values()) for d in days]
    peak = max([*totals, 1])
    step = _nice_step(peak)
    scale_max = step * -(-peak // step)
    col_w = (width - left - 8) / max(len(days), 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg">',
        '<title id="chart-title">近30天每日拒付明细（按原因）</title>',
    ]
    for tick in range(0, scale_max + 1, step):
        y = top + plot_h - plot_h * tick / scale_max
        parts.append(
            f'<line x1="{left}" x2="{width - 4}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">{tick}</text>'
        )
    for i, d in enumerate(days):
        x = left + i * col_w + 2
        y = top + plot_h
        for reason in PALETTE:
            n = counts.get(d, {}).get(reason, 0)
            if not n:
                continue
            h = plot_h * n / scale_max
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{col_w - 4:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[reason]}"><title>{d.isoformat()} '
                f"{escape(REASON[reason])}: {n}</title></rect>"
            )
        if i % 5 == 0 or i == len(days) - 1:
            parts.append(
                f'<text x="{x + col_w / 2:.1f}" y="{height - bottom + 16}" class="axis" '
                f'text-anchor="middle">{d.strftime("%m-%d")}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def _nice_step(peak: int) -> int:
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000):
        if peak / step <= 5:
            return step
    return int(10 ** len(str(peak)))


@dataclass(frozen=True)
class Span:
    starts_on: date
    ends_on: date | None  # inclusive; None: open
    kind: str  # "agreement" | "suspension" | "terminated"
    label: str


@dataclass(frozen=True)
class Lane:
    title: str
    spans: Sequence[Span]


def timeline(lanes: Sequence[Lane], as_of: date) -> Markup:
    """One row per agreement: its term, suspensions on it, and where it ended."""
    if not lanes:
        return Markup("")
    firsts = [s.starts_on for lane in lanes for s in lane.spans]
    lasts = [s.ends_on or as_of for lane in lanes for s in lane.spans]
    first = min([*firsts, as_of]) - timedelta(days=15)
    last = max([*lasts, as_of]) + timedelta(days=45)
    width, label_w, row_h, top = 1040, 170, 30, 22
    height = top + row_h * len(lanes) + 8
    span_days = max((last - first).days, 1)

    def x(d: date) -> float:
        return label_w + (width - label_w - 8) * (d - first).days / span_days

    parts = [
        f'<svg class="chart timeline" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="协议时间轴" xmlns="http://www.w3.org/2000/svg">'
    ]
    for year in range(first.year + 1, last.year + 1):
        xx = x(date(year, 1, 1))
        if xx > width - 40:
            continue
        parts.append(
            f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{top - 6}" y2="{height}" class="grid"/>'
            f'<text x="{xx + 3:.1f}" y="{top - 9}" class="axis">{year}</text>'
        )
    for i, lane in enumerate(lanes):
        y = top + i * row_h
        parts.append(f'<text x="4" y="{y + 18}" class="lane">{escape(lane.title)}</text>')
        for s in lane.spans:
            end = s.ends_on or last
            x1, x2 = x(s.starts_on), x(end + timedelta(days=1))
            if s.kind == "terminated":
                parts.append(
                    f'<line x1="{x1:.1f}" x2="{x1:.1f}" y1="{y + 2}" y2="{y + 26}" '
                    f'class="cut"><title>{escape(s.label)}</title></line>'
                )
                continue
            inset = 4 if s.kind == "agreement" else 8
            parts.append(
                f'<rect x="{x1:.1f}" y="{y + inset}" width="{max(x2 - x1, 2):.1f}" '
                f'height="{row_h - 2 * inset}" rx="3" class="{s.kind}">'
                f"<title>{escape(s.label)}</title></rect>"
            )
    today_x = x(as_of)
    parts.append(
        f'<line x1="{today_x:.1f}" x2="{today_x:.1f}" y1="{top - 4}" y2="{height}" class="today"/>'
        f'<text x="{today_x - 3:.1f}" y="{height - 2}" class="axis" '
        f'text-anchor="end">{as_of.isoformat()}</text>'
        "</svg>"
    )
    return Markup("".join(parts))
