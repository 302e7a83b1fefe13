"""What every env's image view shares: a figure made once per env and redrawn in place, and the
``human`` window (matplotlib only here, imported on the first frame).

An env's image view is a :class:`FrameView` subclass: ``build`` makes the axes and artists once,
``update`` sets their data for the current state, ``frame`` draws the figure on the Agg canvas
and returns its pixels. :func:`view_of` keeps one view per env without storing it on the env,
so that pickling or copying an env never carries a figure.

A frame costs about 10-30 ms instead of a figure's full draw (0.2-1.6 s on a loaded machine):
what does not change (axes, ticks, labels, legends) is drawn once and restored (blitting), the
changing artists are collections updated in place (:class:`Bars`, not a patch per bar), and the
changing texts (the header, the notes, the ticks of a :class:`DynamicAxis`) are pasted from
cached glyph images (:class:`GlyphFont`), since laying out and rasterising text is most of a
matplotlib draw.
"""

from __future__ import annotations

import time
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

import numpy as np

__all__ = [
    "FrameView",
    "HumanWindow",
    "view_of",
    "human_window",
    "close_views",
    "signed",
    "nice_ceiling",
    "fit_range",
    "Bars",
    "rectangles",
    "FastText",
    "GlyphFont",
    "DynamicAxis",
]

ViewT = TypeVar("ViewT", bound="FrameView")

_VIEWS: WeakKeyDictionary[Any, FrameView] = WeakKeyDictionary()
_WINDOWS: WeakKeyDictionary[Any, HumanWindow] = WeakKeyDictionary()

HEADER_SIZE = 9.0
"""Font size of the header lines (the decision just taken and its reward)."""


def small_legend(
    axes: Any,
    handles: list[Any],
    loc: str,
    anchor: tuple[float, float],
    ncol: int = 1,
    **style: Any,
) -> None:
    """A frameless legend of ``handles`` in 7 pt, its ``loc`` corner at ``anchor`` (axes
    fraction: outside the axes, so that it hides no data)."""
    axes.legend(
        handles=handles,
        loc=loc,
        bbox_to_anchor=anchor,
        ncol=ncol,
        fontsize=7,
        frameon=False,
        **style,
    )


def signed(value: float) -> str:
    """A reward or cost with its sign, 4 significant digits."""
    return f"{value:+.4g}"


class FrameView:
    """An env's image view: one Agg figure of ``size`` inches at 100 dpi, built once and
    updated per frame, with no layout pass per frame (``build`` fixes the margins).

    The artists that change from frame to frame are registered with :meth:`animate`; the rest
    (axes, ticks, labels, legends) is drawn once and kept as a background, redrawn only when
    an axis' limits change (:meth:`layout_key`). A frame is that background with the changing
    artists drawn on it (blitting): text is what costs most to draw."""

    size: tuple[float, float] = (8.0, 4.0)

    def __init__(self, owner: Any = None) -> None:
        self.figure: Any = None
        if owner is not None:
            self.start(owner)

    def start(self, owner: Any) -> None:
        """Make the figure, the header and (``build``) the artists."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=self.size, dpi=100)
        self.canvas = FigureCanvasAgg(self.figure)
        self.dynamic: list[Any] = []
        self.background: Any = None
        self.key: Any = None
        self.texts: list[FastText] = []
        self.dynamic_axes: set[tuple[int, str]] = set()
        self.header = self.fast_text((0.008, 0.985), HEADER_SIZE)
        self.build(owner)
        self.dynamic.sort(key=lambda artist: artist.get_zorder())

    def animate(self, *artists: Any) -> Any:
        """Register artists (or containers of artists) redrawn every frame; the first."""
        for artist in artists:
            members = list(artist) if isinstance(artist, (list, tuple)) else [artist]
            for member in members:
                member.set_animated(True)
                self.dynamic.append(member)
        return artists[0]

    def fast_text(self, xy: tuple[float, float], size: float = 7, **kwargs: Any) -> FastText:
        """A dynamic text (:class:`FastText`) drawn on every frame."""
        text = FastText(xy, size, **kwargs)
        self.texts.append(text)
        return text

    def build(self, owner: Any) -> None:
        """Make the axes and the artists (called once)."""
        raise NotImplementedError

    def update(self, owner: Any) -> None:
        """Set the artists' data to the current state."""
        raise NotImplementedError

    def layout_key(self) -> Any:
        """What the background depends on: every axis' limits (but a :class:`DynamicAxis`)."""
        dynamic = self.dynamic_axes
        return tuple(
            (
                None if (id(axes), "x") in dynamic else axes.get_xlim(),
                None if (id(axes), "y") in dynamic else axes.get_ylim(),
            )
            for axes in self.figure.axes
        )

    def frame(self, owner: Any) -> np.ndarray:
        """The current state as an (H, W, 3) uint8 image."""
        if self.figure is None:
            self.start(owner)
        self.update(owner)
        canvas = self.canvas
        key = self.layout_key()
        if self.background is None or key != self.key:
            canvas.draw()  # everything but the animated artists
            self.background = canvas.copy_from_bbox(self.figure.bbox)
            self.key = key
        else:
            canvas.restore_region(self.background)
        renderer = canvas.get_renderer()
        for artist in self.dynamic:
            if artist.get_visible():
                artist.draw(renderer)
        image = np.asarray(canvas.buffer_rgba())[..., :3].copy()
        for text in self.texts:
            text.paste(image, self.figure)
        return image


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is >= ``value`` (> 0)."""
    if not value > 0:
        return 1.0
    power = 10.0 ** np.floor(np.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if step * power >= value * (1 - 1e-9):
            return float(step * power)
    return float(10.0 * power)


def rectangles(left: Any, bottom: Any, width: Any, height: Any) -> np.ndarray:
    """Vertices (n, 4, 2) of axis-aligned rectangles (arrays or scalars, broadcast)."""
    left, bottom, width, height = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (left, bottom, width, height))
    )
    verts = np.empty((left.size, 4, 2))
    right, top = (left + width).ravel(), (bottom + height).ravel()
    left, bottom = left.ravel(), bottom.ravel()
    verts[:, 0, 0] = verts[:, 1, 0] = left
    verts[:, 2, 0] = verts[:, 3, 0] = right
    verts[:, 0, 1] = verts[:, 3, 1] = bottom
    verts[:, 1, 1] = verts[:, 2, 1] = top
    return verts


def fit_range(current: Any, low: float, high: float, floor: float = 0.0) -> tuple[float, float]:
    """An axis range for data in [``low``, ``high``] (0 always inside, ``floor`` > 0 the
    smallest top): ``current`` while the data fit in it and fill at least a quarter of it (so
    that the ticks, hence the background, rarely change), else 1-2-2.5-5 rounded bounds."""
    low, high = min(low, 0.0), max(high, 0.0)
    if current is not None:
        bottom, top = current
        fits = bottom <= low and high <= top
        if fits and (high - low) >= 0.25 * (top - bottom):
            return current
    top = nice_ceiling(high) if high > 0 else 0.0
    bottom = -nice_ceiling(-low) if low < 0 else 0.0
    if top - bottom < floor or top == bottom:
        top = max(top, floor or 1.0)
    return bottom, top


class DynamicAxis:
    """A value axis of ``axes`` (``which`` "x" or "y") whose limits change from frame to frame
    without redrawing the background: its ticks and tick labels are drawn with the frame
    (matplotlib's own are hidden). :meth:`set` sets the limits."""

    def __init__(
        self, view: FrameView, axes: Any, which: str = "y", size: float = 6.5, nbins: int = 5
    ) -> None:
        from matplotlib.collections import LineCollection
        from matplotlib.ticker import MaxNLocator
        from matplotlib.transforms import blended_transform_factory

        self.axes = axes
        self.which = which
        self.locator = MaxNLocator(nbins=nbins)
        if which == "y":
            axes.tick_params(axis="y", left=False, labelleft=False)
            transform = blended_transform_factory(axes.transAxes, axes.transData)
        else:
            axes.tick_params(axis="x", bottom=False, labelbottom=False)
            transform = blended_transform_factory(axes.transData, axes.transAxes)
        self.transform = transform
        self.ticks = LineCollection([], colors="black", lw=0.8, transform=transform)
        self.ticks.set_clip_on(False)
        axes.add_collection(self.ticks, autolim=False)
        view.animate(self.ticks)
        view.dynamic_axes.add((id(axes), which))
        if which == "y":
            options = {"ha": "right", "va": "center", "offset": (-8.0, 0.0)}
        else:
            options = {"ha": "center", "va": "top", "offset": (0.0, -7.0)}
        self.labels = [
            view.fast_text((0.0, 0.0), size, transform=transform, **options)
            for _ in range(nbins + 3)
        ]
        self.length = 4.0 / 72 * 100  # tick length, px
        if which == "y":  # the axis label clear of the labels drawn with the frame
            axes.yaxis.set_label_coords(-44.0 / axes.bbox.width, 0.5)
        else:
            axes.xaxis.set_label_coords(0.5, -24.0 / axes.bbox.height)

    def set(self, low: float, high: float) -> None:
        axes = self.axes
        values = self.locator.tick_values(low, high)
        span = high - low
        values = values[(values >= low - 1e-9 * span) & (values <= high + 1e-9 * span)]
        if self.which == "y":
            axes.set_ylim(low, high)
            size = axes.bbox.width
        else:
            axes.set_xlim(low, high)
            size = axes.bbox.height
        tick = self.length / max(size, 1.0)
        step = values[1] - values[0] if values.size > 1 else 1.0
        digits = max(0, -int(np.floor(np.log10(abs(step))))) if step else 0
        segments = []
        for label, value in zip(self.labels, values, strict=False):
            position = (0.0, value) if self.which == "y" else (value, 0.0)
            segments.append(
                ((-tick, value), (0.0, value))
                if self.which == "y"
                else ((value, -tick), (value, 0.0))
            )
            label.set_position(position)
            label.set_text(f"{value:.{digits}f}" if abs(value) < 1e5 else f"{value:.2g}")
            label.visible = True
        for label in self.labels[values.size :]:
            label.visible = False
        self.ticks.set_segments(segments)


class Bars:
    """A bar chart drawn as one collection (one draw call, not one patch per bar): bars at
    ``positions`` of ``width``, vertical or (``horizontal``) horizontal."""

    def __init__(
        self, axes: Any, positions: Any, width: float, color: Any, horizontal: bool = False
    ) -> None:
        from matplotlib.collections import PolyCollection

        self.positions = np.asarray(positions, dtype=float)
        self.width = width
        self.horizontal = horizontal
        self.collection = PolyCollection([], facecolors=color, edgecolors="none")
        axes.add_collection(self.collection, autolim=False)
        self.set(np.zeros(self.positions.size))

    def set(self, lengths: Any, starts: Any = 0.0, colors: Any = None) -> None:
        """Bar lengths (heights, or widths when horizontal), starting at ``starts``."""
        lows = self.positions - self.width / 2
        if self.horizontal:
            verts = rectangles(starts, lows, lengths, self.width)
        else:
            verts = rectangles(lows, starts, self.width, lengths)
        self.collection.set_verts(verts)
        if colors is not None:
            self.collection.set_facecolors(colors)


class GlyphFont:
    """Monospace text drawn from cached glyph images: each character is rendered by Agg once
    (per process and size) and pasted into the frame, so that a text that changes every frame
    costs no font layout and rasterisation (which is most of a frame's drawing time)."""

    _fonts: dict[float, GlyphFont] = {}

    def __init__(self, size: float) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.size = size
        figure = Figure(figsize=(1.0, 1.0), dpi=100)
        self.canvas = FigureCanvasAgg(figure)
        self.text = figure.text(0.0, 0.0, "", family="monospace", size=size, va="baseline")
        renderer = self.canvas.get_renderer()
        properties = self.text.get_fontproperties()
        width, _, _ = renderer.get_text_width_height_descent("0" * 40, properties, False)
        _, height, descent = renderer.get_text_width_height_descent("Mgj|", properties, False)
        self.advance = int(round(width / 40))
        self.line = int(np.ceil(height * 1.2))
        self.pad = max(2, self.advance // 2)
        cell_w, cell_h = self.advance + 2 * self.pad, self.line + 2 * self.pad
        figure.set_size_inches(cell_w / 100, cell_h / 100)
        self.baseline = self.pad + int(np.ceil(descent)) + (self.line - int(np.ceil(height))) // 2
        self.text.set_position((self.pad / cell_w, self.baseline / cell_h))
        self.glyphs: dict[str, np.ndarray] = {}

    @classmethod
    def of_size(cls, size: float) -> GlyphFont:
        font = cls._fonts.get(size)
        if font is None:
            font = cls._fonts[size] = cls(size)
        return font

    def glyph(self, char: str) -> np.ndarray:
        """Coverage (cell_h, cell_w) in [0, 1] of ``char``, its pen at (pad, pad)."""
        glyph = self.glyphs.get(char)
        if glyph is None:
            self.text.set_text(char)
            self.canvas.draw()
            pixels = np.asarray(self.canvas.buffer_rgba())
            glyph = self.glyphs[char] = 1.0 - pixels[..., 0].astype(np.float32) / 255.0
        return glyph

    def paste(self, image: np.ndarray, text: str, left: float, top: float) -> None:
        """Draw ``text`` (lines split at newlines) in black onto ``image`` (H, W, 3) uint8, its
        first line's top-left corner at pixel (``left``, ``top``)."""
        height, width = image.shape[:2]
        pad, advance = self.pad, self.advance
        y0 = int(round(top)) - pad
        for row, line in enumerate(text.split("\n")):
            x0 = int(round(left)) - pad
            for column, char in enumerate(line):
                if char == " ":
                    continue
                glyph = self.glyph(char)
                gh, gw = glyph.shape
                y, x = y0 + row * self.line, x0 + column * advance
                top_cut, left_cut = max(0, -y), max(0, -x)
                bottom, right = min(gh, height - y), min(gw, width - x)
                if top_cut >= bottom or left_cut >= right:
                    continue
                cover = glyph[top_cut:bottom, left_cut:right, None]
                target = image[y + top_cut : y + bottom, x + left_cut : x + right]
                target[...] = target * (1.0 - cover)


class FastText:
    """A dynamic text of a :class:`FrameView`: monospace, black, drawn from cached glyphs at a
    figure position (``xy`` in figure fractions, or data coordinates of ``axes``; ``va``
    "top" or "center" of the first line; ``offset`` in pixels)."""

    def __init__(
        self,
        xy: tuple[float, float],
        size: float,
        axes: Any = None,
        va: str = "top",
        offset: tuple[float, float] = (0.0, 0.0),
        ha: str = "left",
        transform: Any = None,
    ) -> None:
        self.xy = xy
        self.ha = ha
        self.transform = transform
        self.font = GlyphFont.of_size(size)
        self.axes = axes
        self.va = va
        self.offset = offset
        self.text = ""
        self.visible = True

    def set_text(self, text: str) -> None:
        self.text = text

    def set_position(self, xy: tuple[float, float]) -> None:
        self.xy = xy

    def paste(self, image: np.ndarray, figure: Any) -> None:
        if not (self.visible and self.text):
            return
        transform = self.transform
        if transform is None:
            transform = self.axes.transData if self.axes is not None else figure.transFigure
        x, y = transform.transform(self.xy)
        top = image.shape[0] - y - self.offset[1]
        if self.va == "center":
            top -= self.font.line / 2
        if self.ha != "left":
            width = max(len(line) for line in self.text.split("\n")) * self.font.advance
            x -= width if self.ha == "right" else width / 2
        self.font.paste(image, self.text, x + self.offset[0], top)


def view_of(owner: Any, view_class: type[ViewT]) -> ViewT:
    """``owner``'s view of class ``view_class``, made on the first call and reused."""
    view = _VIEWS.get(owner)
    if type(view) is not view_class:
        view = _VIEWS[owner] = view_class(owner)
    return view  # type: ignore[return-value]


class HumanWindow:
    """The ``human`` render mode: the env's image in one matplotlib (pyplot) figure, made on
    the first frame and updated in place. With an interactive backend the window is shown and
    each frame is held until 1 / ``fps`` s after the previous one; with a non-interactive
    backend (Agg: tests, CI, no display) the figure is only drawn on its canvas."""

    def __init__(self, fps: float, title: str) -> None:
        self.interval = 1.0 / fps if fps else 0.0
        self.title = title
        self.figure: Any = None
        self.image: Any = None
        self.last = 0.0

    def show(self, frame: np.ndarray) -> None:
        import matplotlib.pyplot as plt

        if self.figure is None or not plt.fignum_exists(self.figure.number):
            height, width = frame.shape[:2]
            self.figure = plt.figure(figsize=(width / 100, height / 100), dpi=100)
            axes = self.figure.add_axes((0.0, 0.0, 1.0, 1.0))
            axes.set_axis_off()
            self.image = axes.imshow(frame, interpolation="nearest", aspect="auto")
            manager = self.figure.canvas.manager
            if manager is not None:
                manager.set_window_title(self.title)
            if self.interactive:
                plt.ion()
                self.figure.show()
        else:
            self.image.set_data(frame)
        canvas = self.figure.canvas
        if not self.interactive:
            canvas.draw()
            return
        canvas.draw_idle()
        wait = self.interval - (time.perf_counter() - self.last)
        canvas.start_event_loop(max(wait, 0.001))  # process the GUI events, pace at render_fps
        self.last = time.perf_counter()

    @property
    def interactive(self) -> bool:
        """Whether the figure's canvas belongs to a GUI backend (Agg's does not)."""
        canvas = self.figure.canvas
        return getattr(type(canvas), "required_interactive_framework", None) is not None

    def close(self) -> None:
        if self.figure is not None:
            import matplotlib.pyplot as plt

            plt.close(self.figure)
            self.figure = self.image = None


def human_window(env: Any) -> HumanWindow:
    """``env``'s ``human`` window, made on the first call."""
    window = _WINDOWS.get(env)
    if window is None:
        fps = env.metadata.get("render_fps", 4)
        spec = getattr(env, "spec", None)
        title = spec.id if spec is not None else type(env).__name__
        window = _WINDOWS[env] = HumanWindow(fps, title)
    return window


def close_views(*owners: Any) -> None:
    """Close ``owners``' human windows and drop their views."""
    for owner in owners:
        window = _WINDOWS.pop(owner, None)
        if window is not None:
            window.close()
        _VIEWS.pop(owner, None)
