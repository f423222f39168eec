"""The report's three charts, written as inline SVG by hand.

Not drawn by a plotting library: importing one cost more than rendering the
whole report now does, in every nightly run. Chart text is real SVG ``<text>``,
so Chinese tier labels such as 七星级 are drawn by the browser with the page's
CJK font stack, which works even when the machine that produced the report has
no CJK font installed. Without fonts the server cannot measure text, so label
widths are estimated (a CJK character one em, anything else 0.6 em) just well
enough to decide spacing, shrinking and rotation.

Every value from the data is escaped (``escape``), ids inside a chart carry the
chart's name so they stay unique on the page, and coordinates are written with
fixed decimals: the same inputs give byte-identical SVG.
"""

from __future__ import annotations

import html
import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

CJK_FONTS = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Microsoft YaHei",
    "PingFang SC",
    "SimHei",
    "WenQuanYi Micro Hei",
)
FONT_STACK = ", ".join(f'"{name}"' for name in CJK_FONTS) + ", sans-serif"

# Colours shared by charts and tables so the page reads as one piece.
BAR = "#2f6f9f"
POINTS = "#c0783a"
INK = "#1d2733"
MUTED = "#5b6875"
AXIS = "#9aa5b1"
GRID = "#e3e8ee"

# matplotlib's "Blues" at nine even steps, light to dark, for the heat map.
BLUES = (
    (247, 251, 255),
    (222, 235, 247),
    (198, 219, 239),
    (158, 202, 225),
    (107, 174, 214),
    (66, 146, 198),
    (33, 113, 181),
    (8, 81, 156),
    (8, 48, 107),
)


def escape(value: Any) -> str:
    """Every value from the data goes through here, so none can inject markup."""
    return "—" if value is None or value == "" else html.escape(str(value))


def _float(value: Any) -> float | None:
    """Money arrives as decimal strings; charts only need an approximate, finite float."""
    try:
        number = float(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return None
    return number if math.isfinite(number) else None


def _number(value: Any) -> float:
    number = _float(value)
    return 0.0 if number is None else number


def count(value: Any) -> int:
    """A count from the data, or 0: a page must render whatever the file held."""
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return 0


# --- SVG building blocks -------------------------------------------------------

TEXT = 13  # px: chart titles and axis names
TICK = 12  # px: tick and cell labels
LABEL_MAX = 100.0  # px: longer tier labels are cut, the full text stays in the tooltip
MIDDLE = ' dy="0.35em"'  # centres text on its y; dominant-baseline is not read everywhere
SOFT = f' fill="{MUTED}"'


class _Frame(NamedTuple):
    """The plot area of one chart panel, in pixels."""

    left: float
    top: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height


class _Scale(NamedTuple):
    """Maps data values ``low..high`` linearly onto pixels ``start..end``."""

    low: float
    high: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        return self.start + (value - self.low) / (self.high - self.low) * (self.end - self.start)


def _f(value: float) -> str:
    """Two decimals, trailing zeros dropped: stable bytes without a page full of ``.00``."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _width(text: str, size: float) -> float:
    """Estimated rendered width; only spacing depends on it, never what is shown."""
    ems = sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.6 for ch in text)
    return ems * size


def _fit(text: str, size: float, limit: float = LABEL_MAX) -> str:
    """``text`` cut with an ellipsis to about ``limit`` pixels.

    One odd label must not push a chart's layout apart; the full text stays in the
    bar's or cell's tooltip and in the tables.
    """
    if _width(text, size) <= limit:
        return text
    while text and _width(text + "…", size) > limit:
        text = text[:-1]
    return text + "…"


def _text(x: float, y: float, label: Any, attrs: str = "") -> str:
    """A text element; ``label`` may come from the data and is escaped, ``attrs`` may not."""
    return f'<text x="{_f(x)}" y="{_f(y)}"{attrs}>{escape(label)}</text>'


def _line(x1: float, y1: float, x2: float, y2: float, attrs: str) -> str:
    return f'<line x1="{_f(x1)}" y1="{_f(y1)}" x2="{_f(x2)}" y2="{_f(y2)}" {attrs}/>'


def _polyline(points: Iterable[tuple[float, float]], attrs: str) -> str:
    coordinates = " ".join(f"{_f(x)},{_f(y)}" for x, y in points)
    return f'<polyline points="{coordinates}" {attrs}/>'


def _rotate(angle: float, x: float, y: float) -> str:
    """A transform attribute turning text ``angle`` degrees about its anchor."""
    return f' transform="rotate({_f(angle)} {_f(x)} {_f(y)})"'


def _rect(x: float, y: float, width: float, height: float, fill: str, tooltip: str) -> str:
    """A filled box whose ``<title>`` shows the exact value on hover."""
    return (
        f'<rect x="{_f(x)}" y="{_f(y)}" width="{_f(width)}" height="{_f(height)}" '
        f'fill="{fill}"><title>{escape(tooltip)}</title></rect>'
    )


def _svg(name: str, width: float, height: float, title: str, parts: Sequence[str]) -> str:
    """One chart as an inline ``<svg>``, its id prefixed by ``name`` like every id inside.

    ``font-family`` repeats the page's stack so the SVG still reads right when an
    analyst copies it out of the page on its own.
    """
    size = f'width="{_f(width)}" height="{_f(height)}" viewBox="0 0 {_f(width)} {_f(height)}"'
    fonts = FONT_STACK.replace('"', "'")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{name}-chart" {size} role="img" '
        f'font-family="{fonts}" font-size="{TICK}" fill="{INK}">\n'
        f"<title>{escape(title)}</title>\n" + "\n".join(parts) + "\n</svg>"
    )


def figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption class='note'>{escape(caption)}</figcaption></figure>"


# --- axes ----------------------------------------------------------------------


def _ticks(low: float, high: float, integer: bool = False) -> list[tuple[float, str]]:
    """About five round ticks (1, 2 or 5 times a power of ten) spanning zero, low and high."""
    low, high = min(low, 0.0), max(high, 0.0)
    if high - low <= 0:
        high = 1.0
    raw = (high - low) / 5
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if raw <= m * power * (1 + 1e-9))
    step = max(step, 1.0) if integer else step
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    values = [round(k * step, 10) + 0.0 for k in range(first, last + 1)]
    return [(v, f"{v:,.{decimals}f}") for v in values]


def _y_axis(frame: _Frame, y: _Scale, ticks: Sequence[tuple[float, str]]) -> list[str]:
    """Light grid lines with their labels right-aligned left of the plot."""
    parts = []
    for value, label in ticks:
        parts.append(_line(frame.left, y(value), frame.right, y(value), f'stroke="{GRID}"'))
        parts.append(_text(frame.left - 6, y(value), label, f' text-anchor="end"{MIDDLE}{SOFT}'))
    return parts


def _x_label(x: float, y: float, label: str, rotated: bool) -> str:
    """A tier label under its bar; turned 35 degrees when the labels would touch."""
    if not rotated:
        return _text(x, y + 14, label, ' text-anchor="middle"')
    turn = ' text-anchor="end"' + _rotate(-35, x, y + 12)
    return _text(x, y + 12, label, turn)


def _widest(labels: Iterable[str]) -> float:
    return max((_width(label, TICK) for label in labels), default=0.0)


def _label_depth(labels: Sequence[str], slot: float) -> tuple[bool, float]:
    """Whether x labels must turn to fit ``slot`` pixels each, and how far they reach down."""
    widest = _widest(labels)
    if widest <= slot - 4:
        return False, 24.0
    return True, 18.0 + widest * math.sin(math.radians(35)) + TICK


# --- charts ----------------------------------------------------------------------

PANEL = 440.0  # px width of each bar chart
PLOT_TOP = 44.0  # room for the panel title and the tallest bar's label
PLOT_HEIGHT = 220.0
PANEL_TITLE = f' text-anchor="middle" font-size="{TEXT}" font-weight="bold"'


def tier_chart(
    tiers: Sequence[Mapping[str, Any]],
    panels: tuple[str, str] = ("customers per tier", "points per tier"),
    title: str = "Customers and points per tier",
) -> str:
    """Customers and points side by side: few top-tier customers, most of the points.

    Both panels share one left margin, so their bars line up and one decision on
    turning the tier labels serves both. ``panels`` and ``title`` are the page's
    words, in its language.
    """
    names = [str(t.get("tier", "")) for t in tiers]
    labels = [_fit(name, TICK) for name in names]
    series = (
        (panels[0], [float(count(t.get("customers"))) for t in tiers], BAR, True),
        (panels[1], [_number(t.get("points")) for t in tiers], POINTS, False),
    )
    axes = [_ticks(min(v, default=0.0), max(v, default=0.0), i) for _, v, _, i in series]
    left = _widest(label for axis in axes for _, label in axis) + 14
    frames = [_Frame(n * PANEL + left, PLOT_TOP, PANEL - left - 12, PLOT_HEIGHT) for n in (0, 1)]
    rotated, depth = _label_depth(labels, frames[0].width / max(len(names), 1))
    parts: list[str] = []
    for frame, axis, (title, values, colour, _) in zip(frames, axes, series, strict=True):
        y = _Scale(axis[0][0], axis[-1][0], frame.bottom, frame.top)
        parts.append(_text(frame.left + frame.width / 2, 18, title, PANEL_TITLE))
        parts += _y_axis(frame, y, axis)
        parts += _bars(frame, y, list(zip(names, labels, values, strict=True)), colour, rotated)
    height = PLOT_TOP + PLOT_HEIGHT + depth
    return _svg("tiers", 2 * PANEL, height, title, parts)


def _bars(
    frame: _Frame, y: _Scale, bars: Sequence[tuple[str, str, float]], colour: str, rotated: bool
) -> list[str]:
    """One panel's bars, each with its value above and its tier below.

    Values shrink to fit their bar's width rather than overlap their neighbours.
    """
    slot = frame.width / max(len(bars), 1)
    texts = [f"{value:,.0f}" for _, _, value in bars]
    size = _f(max(7.0, min(11.0, 0.95 * slot / max((_width(t, 1) for t in texts), default=1))))
    parts = []
    for i, ((name, label, value), text) in enumerate(zip(bars, texts, strict=True)):
        x = frame.left + slot * i
        top, bottom = sorted((y(value), y(0)))
        tip = f"{name}: {text}"
        parts.append(_rect(x + slot * 0.1, top, slot * 0.8, bottom - top, colour, tip))
        above = value >= 0
        at = f' text-anchor="middle" font-size="{size}"' + ("" if above else ' dy="0.8em"')
        parts.append(_text(x + slot / 2, top - 3 if above else bottom + 3, text, at))
        parts.append(_x_label(x + slot / 2, frame.bottom, label, rotated))
    parts.append(_line(frame.left, y(0), frame.right, y(0), f'stroke="{AXIS}"'))
    return parts


CURVE = _Frame(64.0, 14.0, 480.0, 330.0)  # concentration plot area in a 560 x 400 chart
Y_TOP = 1.02  # a little air above 100% so the curve's end doesn't sit on the frame


def _curve(concentration: Mapping[str, Any]) -> list[tuple[float, float]]:
    """The curve's (share of customers, share of points) pairs.

    An entry that is not a pair of numbers is left out rather than drawn at 0, where
    it would pull a line back to the origin.
    """
    points = []
    for entry in concentration.get("curve") or []:
        if isinstance(entry, Sequence) and not isinstance(entry, str) and len(entry) == 2:
            x, y = _float(entry[0]), _float(entry[1])
            if x is not None and y is not None:
                points.append((x, y))
    return points


class CurveText(NamedTuple):
    """The concentration chart's words, in the page's language; ``note`` takes the
    share of customers and the share of points as ``{customers}`` and ``{points}``."""

    x_axis: str = "share of customers"
    y_axis: str = "share of points"
    diagonal: str = "equal share"
    note: str = "{customers} of customers bring {points} of points"
    title: str = "Share of customers against share of points"


CURVE_TEXT = CurveText()


def concentration_chart(concentration: Mapping[str, Any], words: CurveText = CURVE_TEXT) -> str:
    """The Pareto curve: how few customers carry most of the points."""
    frame = CURVE
    x = _Scale(0.0, 1.0, frame.left, frame.right)
    y = _Scale(0.0, Y_TOP, frame.bottom, frame.top)
    clip = (
        f'<defs><clipPath id="concentration-plot"><rect x="{_f(frame.left)}" '
        f'y="{_f(frame.top)}" width="{_f(frame.width)}" height="{_f(frame.height)}"/>'
        "</clipPath></defs>"
    )
    parts = [clip, *_percent_axes(frame, x, y, words), *_equal_share(x, y, words.diagonal)]
    # Data beyond 0..100% (a rounding slip, a bad file) stays inside the plot.
    line = f'clip-path="url(#concentration-plot)" fill="none" stroke="{BAR}" stroke-width="1.8"'
    parts.append(_polyline([(x(a), y(b)) for a, b in _curve(concentration)], line))
    if _float(concentration.get("customers_share")) is not None:
        parts += _pareto_marker(concentration, x, y, words.note)
    return _svg("concentration", 560, 400, words.title, parts)


def _percent_axes(frame: _Frame, x: _Scale, y: _Scale, words: CurveText) -> list[str]:
    """Grid and labels every 20%, axis lines left and bottom, and the two axis names."""
    parts = []
    for tick in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0):
        label = f"{tick:.0%}"
        parts.append(_line(x(tick), frame.top, x(tick), frame.bottom, f'stroke="{GRID}"'))
        parts.append(_line(frame.left, y(tick), frame.right, y(tick), f'stroke="{GRID}"'))
        parts.append(_text(x(tick), frame.bottom + 16, label, f' text-anchor="middle"{SOFT}'))
        parts.append(_text(frame.left - 6, y(tick), label, f' text-anchor="end"{MIDDLE}{SOFT}'))
    axis = f'stroke="{AXIS}"'
    parts.append(_line(frame.left, frame.top, frame.left, frame.bottom, axis))
    parts.append(_line(frame.left, frame.bottom, frame.right, frame.bottom, axis))
    middle = frame.top + frame.height / 2
    name = f' text-anchor="middle" font-size="{TEXT}"'
    parts.append(_text(x(0.5), frame.bottom + 38, words.x_axis, name))
    turn = name + _rotate(-90, 18, middle)
    parts.append(_text(18, middle, words.y_axis, turn))
    return parts


def _equal_share(x: _Scale, y: _Scale, label: str) -> list[str]:
    """The dotted diagonal, named along its own slope."""
    dots = f'stroke="{AXIS}" stroke-dasharray="1.5 3"'
    angle = math.degrees(math.atan2(y(1.0) - y(0.0), x(1.0) - x(0.0)))
    at_x, at_y = x(0.8), y(0.8) + 12
    turn = f' text-anchor="middle" fill="{MUTED}"{_rotate(angle, at_x, at_y)}'
    return [_line(x(0.0), y(0.0), x(1.0), y(1.0), dots), _text(at_x, at_y, label, turn)]


def _pareto_marker(
    concentration: Mapping[str, Any], x: _Scale, y: _Scale, template: str
) -> list[str]:
    """Dashed lines to the point where the curve reaches the target share, and what it says.

    Below the diagonal stays empty for any concentration curve: room for the label
    beside the dashed line, on whichever side has more of it.
    """
    share = _number(concentration.get("customers_share"))
    target = _number(concentration.get("points_share", 0.8)) or 0.8
    px, py = x(share), y(target)
    dashed = f'fill="none" stroke="{POINTS}" stroke-dasharray="5 3"'
    path = _polyline([(px, y(0.0)), (px, py), (x(0.0), py)], dashed)
    dot = f'<circle cx="{_f(px)}" cy="{_f(py)}" r="3.5" fill="{POINTS}"/>'
    note = template.format(customers=f"{share:.1%}", points=f"{target:.0%}")
    right, left = x.end - px - 5, px - x.start - 5
    room = max(right, left)
    size = _f(max(7.0, min(float(TICK), TICK * room / max(_width(note, TICK), 1.0))))
    side = ' text-anchor="start"' if right >= left else ' text-anchor="end"'
    at = f'{side} font-size="{size}" fill="{POINTS}"'
    return [path, dot, _text(px + 5 if right >= left else px - 5, y(0.03), note, at)]


def migration_counts(migration: Mapping[str, Any]) -> list[list[int]]:
    """The matrix cut or padded with zeros to its labels, whatever the file held."""
    rows, columns = migration.get("rows") or [], migration.get("columns") or []
    lines = list(migration.get("counts") or [])[: len(rows)]
    lines += [[]] * (len(rows) - len(lines))
    counts = []
    for line in lines:
        values = [count(v) for v in list(line or [])[: len(columns)]]
        counts.append(values + [0] * (len(columns) - len(values)))
    return counts


def _blue(share: float) -> str:
    """``share`` of the peak count as a colour, light to dark along ``BLUES``."""
    at = min(max(share, 0.0), 1.0) * (len(BLUES) - 1)
    i = min(int(at), len(BLUES) - 2)
    rgb = (round(a + (b - a) * (at - i)) for a, b in zip(BLUES[i], BLUES[i + 1], strict=True))
    return "#" + "".join(f"{c:02x}" for c in rgb)


CELL_HEIGHT = 28.0


def migration_chart(
    migration: Mapping[str, Any],
    rows_name: str = "previous tier",
    columns_name: str = "current tier",
    title: str = "Customers per previous tier and current tier",
) -> str:
    """Heat map: previous tier down the left, current tier across the top.

    The axis names and title are the page's: the comparison of two rule sets names
    its axes "tier under A" and "tier under B", in the page's language.
    """
    rows = [str(r) for r in migration.get("rows") or []]
    columns = [str(c) for c in migration.get("columns") or []]
    counts = migration_counts(migration)
    texts = [[f"{v:,}" for v in line] for line in counts]
    tops, sides = [_fit(c, TICK) for c in columns], [_fit(r, TICK) for r in rows]
    top_width = _widest(tops)
    cell = max(52.0, _widest(t for line in texts for t in line) + 12, min(80.0, top_width + 10))
    rotated = top_width > cell - 6
    # Turned labels rise by sin and reach past the last column by cos of their 40 degrees.
    rise, reach = (0.64 * top_width, 0.77 * top_width) if rotated else (14.0, 0.0)
    frame = _Frame(34 + _widest(sides), 34 + rise, cell * len(columns), CELL_HEIGHT * len(rows))
    parts = _migration_labels(frame, cell, (tops, sides), (rows_name, columns_name), rotated)
    parts += _cells(frame, cell, rows, columns, counts, texts)
    width = frame.right + max(10.0, reach - cell / 2 + 4)
    return _svg("migration", width, frame.bottom + 10, title, parts)


def _migration_labels(
    frame: _Frame,
    cell: float,
    labels: tuple[Sequence[str], Sequence[str]],
    names: tuple[str, str],
    rotated: bool,
) -> list[str]:
    """Axis names and tier labels: current tiers on top, previous tiers on the left."""
    (tops, sides), (rows_name, columns_name) = labels, names
    name = f' text-anchor="middle" font-size="{TEXT}"'
    middle = frame.top + frame.height / 2
    parts = [
        _text(frame.left + frame.width / 2, 14, columns_name, name),
        _text(14, middle, rows_name, name + _rotate(-90, 14, middle)),
    ]
    for j, label in enumerate(tops):
        x, y = frame.left + cell * (j + 0.5), frame.top - 6
        turn = _rotate(-40, x, y) if rotated else ' text-anchor="middle"'
        parts.append(_text(x, y, label, turn))
    for i, label in enumerate(sides):
        at = ' text-anchor="end"' + MIDDLE
        parts.append(_text(frame.left - 6, frame.top + CELL_HEIGHT * (i + 0.5), label, at))
    return parts


def _cells(
    frame: _Frame,
    cell: float,
    rows: Sequence[str],
    columns: Sequence[str],
    counts: Sequence[Sequence[int]],
    texts: Sequence[Sequence[str]],
) -> list[str]:
    """One shaded box per pair with its count; white text where the blue gets dark."""
    peak = max((v for line in counts for v in line), default=0)
    parts = ['<g stroke="#fff" stroke-width="1">']
    labels = []
    for i, (row, line) in enumerate(zip(rows, counts, strict=True)):
        for j, (column, value) in enumerate(zip(columns, line, strict=True)):
            x, y = frame.left + cell * j, frame.top + CELL_HEIGHT * i
            tip = f"{row} → {column}: {texts[i][j]}"
            parts.append(
                _rect(x, y, cell, CELL_HEIGHT, _blue(value / peak if peak > 0 else 0), tip)
            )
            colour = "#fff" if peak > 0 and value > peak / 2 else INK
            at = f' text-anchor="middle"{MIDDLE} fill="{colour}"'
            labels.append(_text(x + cell / 2, y + CELL_HEIGHT / 2, texts[i][j], at))
    return [*parts, "</g>", *labels]
