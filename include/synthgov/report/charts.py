"""Chart geometry for the page: horizontal bar charts as numbers the template turns into inline SVG.

The template escapes every label; nothing here builds markup, so a record's text cannot become one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

LABEL_WIDTH = 250
BAR_AREA = 360
VALUE_WIDTH = 60
ROW_HEIGHT = 22
BAR_HEIGHT = 14
LABEL_CHARS = 36


def _label(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def bars(items: Sequence[tuple[str, int]], *, title: str) -> dict[str, Any]:
    """One bar per (label, value), scaled to the largest value."""
    return stacked([(label, [("bar", value)]) for label, value in items], title=title)


def stacked(rows: Sequence[tuple[str, Sequence[tuple[str, int]]]], *, title: str) -> dict[str, Any]:
    """One bar per row, made of (css class, value) segments side by side (e.g. findings by severity)."""
    largest = max((sum(v for _, v in segments) for _, segments in rows), default=0)
    scale = BAR_AREA / largest if largest else 0.0
    drawn = []
    for index, (label, segments) in enumerate(rows):
        y = index * ROW_HEIGHT
        x = float(LABEL_WIDTH)
        parts = []
        for css, value in segments:
            width = value * scale
            if value:
                parts.append({"css": css, "x": round(x, 1), "width": round(max(width, 1.0), 1), "value": value})
            x += width
        drawn.append(
            {
                "label": _label(label),
                "full_label": label,
                "y": y,
                "text_y": y + BAR_HEIGHT - 2,
                "segments": parts,
                "total": sum(v for _, v in segments),
                "total_x": round(x + 6, 1),
            }
        )
    return {
        "title": title,
        "width": LABEL_WIDTH + BAR_AREA + VALUE_WIDTH,
        "height": max(len(rows), 1) * ROW_HEIGHT,
        "label_x": LABEL_WIDTH - 8,
        "bar_height": BAR_HEIGHT,
        "rows": drawn,
    }
