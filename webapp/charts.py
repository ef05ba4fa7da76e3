"""Charts of a notification search, drawn on the server as SVG shapes (no JavaScript).

The functions here turn counts into geometry; the template only draws the shapes, each with a
``<title>`` so the numbers are readable by hovering, by screen readers and in the table beside.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_MONTHS = 36
TOP_MEMBERS = 5
WIDTH, HEIGHT, LEFT, BOTTOM = 720, 240, 40, 40


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int
    label: str
    count: int


def months_between(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` (YYYY-MM), so empty months show as gaps."""
    year, month = int(first[:4]), int(first[5:7])
    out = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def monthly_series(totals: dict[str, int], by_member: dict[str, dict[str, int]]) -> dict:
    """Counts per month: one series per member given, and "other" for the rest of the total.
    Only the last ``MAX_MONTHS`` months with notifications are kept."""
    if not totals:
        return {"months": [], "series": [], "cut": False}
    every = months_between(min(totals), max(totals))
    months = every[-MAX_MONTHS:]
    series = [{"member": code, "counts": [counts.get(m, 0) for m in months]}
              for code, counts in by_member.items()]
    other = [totals.get(m, 0) - sum(s["counts"][i] for s in series) for i, m in enumerate(months)]
    if any(other):
        series.append({"member": None, "counts": other})
    return {"months": months, "series": series, "cut": len(every) > len(months)}


def stacked_bars(data: dict) -> dict:
    """Geometry of a stacked bar chart of ``monthly_series`` data, with y-axis ticks."""
    months = data["months"]
    if not months:
        return {"bars": [], "ticks": [], "labels": [], "width": WIDTH, "height": HEIGHT}
    totals = [sum(s["counts"][i] for s in data["series"]) for i in range(len(months))]
    top = _nice_max(max(totals))
    plot_w, plot_h = WIDTH - LEFT - 10, HEIGHT - BOTTOM - 10
    step = plot_w / len(months)
    bars = []
    for i, month in enumerate(months):
        base = 0
        for n, s in enumerate(data["series"]):
            count = s["counts"][i]
            if count:
                h = plot_h * count / top
                y = 10 + plot_h - plot_h * (base + count) / top
                bars.append(Bar(LEFT + i * step + step * 0.1, y, step * 0.8, h, n,
                                f"{month}: {s['member'] or '…'}", count))
            base += count
    every = max(1, len(months) // 12)
    labels = [(LEFT + i * step + step / 2, m) for i, m in enumerate(months) if i % every == 0]
    ticks = [(10 + plot_h - plot_h * v / top, v) for v in _ticks(top)]
    return {"bars": bars, "ticks": ticks, "labels": labels, "width": WIDTH, "height": HEIGHT,
            "left": LEFT, "bottom": HEIGHT - BOTTOM}


def horizontal_bars(counts: list[tuple[str, str, int]]) -> dict:
    """Geometry of one bar per (key, label, count), longest first, e.g. HS sections."""
    rows = sorted(counts, key=lambda c: (-c[2], c[0]))
    if not rows:
        return {"bars": [], "width": WIDTH, "height": 0}
    top = max(c for _, _, c in rows)
    row_h, label_w = 22, 60
    bars = [Bar(label_w, i * row_h + 4, (WIDTH - label_w - 60) * count / top, row_h - 8, 0,
                f"{key} {label}", count) for i, (key, label, count) in enumerate(rows)]
    return {"bars": bars, "keys": [key for key, _, _ in rows], "width": WIDTH,
            "height": len(rows) * row_h + 8, "label_width": label_w}


def _nice_max(value: int) -> int:
    """The smallest 1, 2 or 5 × 10ⁿ at or above ``value``, for round axis ticks."""
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            if factor * magnitude >= value:
                return factor * magnitude
        magnitude *= 10


def _ticks(top: int) -> list[int]:
    step = max(1, top // 4)
    return list(range(0, top + 1, step))


def proportions(values: list[float]) -> list[float]:
    """Each value as a percentage of the largest, for bars on one scale (0 when all are 0)."""
    top = max(values, default=0)
    return [100 * v / top if top else 0.0 for v in values]
