"""Charts drawn on the server as SVG: no script, no library, readable by a screen reader
(each chart has a role of img and a name that says what it shows, in words)."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 600
HEIGHT = 220
PAD_LEFT = 40
PAD_BOTTOM = 28
PAD_TOP = 12


@dataclass(frozen=True)
class Bar:
    label: str
    value: int


def bar_chart(bars: list[Bar], *, name: str, unit: str) -> Markup:
    """Vertical bars, one per item, with the value above each bar and the label below.

    ``name`` is the chart's accessible name; the values are spelled out in it too, so a
    reader who cannot see the chart hears the same figures."""
    spoken = "; ".join(f"{b.label}: {b.value} {unit}" for b in bars) or "nothing yet"
    top = max((b.value for b in bars), default=0) or 1
    plot_w = WIDTH - PAD_LEFT - 8
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    slot = plot_w / max(len(bars), 1)
    bar_w = max(min(slot * 0.6, 80), 4)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(name)}: {escape(spoken)}" preserveAspectRatio="xMidYMid meet">',
        f"<title>{escape(name)}</title>",
        f'<line x1="{PAD_LEFT}" y1="{PAD_TOP + plot_h}" x2="{WIDTH - 8}" '
        f'y2="{PAD_TOP + plot_h}" class="axis"/>',
        f'<text x="{PAD_LEFT - 6}" y="{PAD_TOP + 10}" text-anchor="end" class="tick">{top}</text>',
        f'<text x="{PAD_LEFT - 6}" y="{PAD_TOP + plot_h}" text-anchor="end" class="tick">0</text>',
    ]
    for i, b in enumerate(bars):
        h = plot_h * b.value / top
        x = PAD_LEFT + slot * i + (slot - bar_w) / 2
        y = PAD_TOP + plot_h - h
        cx = x + bar_w / 2
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" class="bar"/>'
            f'<text x="{cx:.1f}" y="{max(y - 4, PAD_TOP + 8):.1f}" text-anchor="middle" '
            f'class="value">{b.value}</text>'
            f'<text x="{cx:.1f}" y="{HEIGHT - 8}" text-anchor="middle" class="label">'
            f"{escape(b.label)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
