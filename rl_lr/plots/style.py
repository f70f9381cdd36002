"""What every figure shares: one colour per policy, axes and figures made without pyplot,
saving to PNG (and SVG) atomically and reproducibly.

    >>> policy_colours(["cosine", "constant", "cosine"])
    {'constant': '#0072B2', 'cosine': '#D55E00'}
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from PIL import Image

from rl_lr.files import atomic_write_bytes

__all__ = [
    "DPI",
    "OKABE_ITO",
    "RETURN_LABEL",
    "TIMESTEPS_LABEL",
    "mark_switches",
    "new_axes",
    "new_figure",
    "policy_colours",
    "policy_linestyles",
    "save_figure",
]

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision
# deficiency. Ordered for lines on white: the yellow (weakest contrast) comes last.
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
             "#F0E442")
LineStyle = Literal["solid", "dashed", "dotted", "dashdot"]
LINESTYLES: tuple[LineStyle, ...] = ("solid", "dashed", "dotted", "dashdot")
DPI = 150
TIMESTEPS_LABEL = "timesteps (environment steps)"
RETURN_LABEL = "clean eval return (episode return)"


def policy_colours(policies: Iterable[str]) -> dict[str, str]:
    """A colour per policy, assigned in sorted order so that every figure of an experiment
    agrees; past eight policies the colours repeat (see :func:`policy_linestyles`)."""
    names = sorted(set(policies))
    return {name: OKABE_ITO[i % len(OKABE_ITO)] for i, name in enumerate(names)}


def policy_linestyles(policies: Iterable[str]) -> dict[str, LineStyle]:
    """Solid for the first eight policies (sorted), then dashed, dotted, dash-dot: with
    :func:`policy_colours`, every policy has its own look."""
    names = sorted(set(policies))
    return {name: LINESTYLES[(i // len(OKABE_ITO)) % len(LINESTYLES)]
            for i, name in enumerate(names)}


def colours_for(names: Iterable[str], colours: Mapping[str, str] | None) -> dict[str, str]:
    """``colours`` if given (it must cover ``names``), else :func:`policy_colours`."""
    names = list(names)
    if colours is None:
        return policy_colours(names)
    missing = [n for n in names if n not in colours]
    if missing:
        raise ValueError(f"colours must give a colour for every policy, missing {missing}")
    return dict(colours)


def mark_switches(ax: Axes, switches: Iterable[float]) -> None:
    """A dotted vertical line at each regime switch (the one look every figure gives them)."""
    for step in switches:
        ax.axvline(step, color="0.35", linestyle=":", linewidth=1.2)


def new_figure(width: float = 6.0, height: float = 3.5) -> Figure:
    """A fresh figure with constrained layout (no pyplot, so nothing global and no GUI)."""
    return Figure(figsize=(width, height), layout="constrained")


def new_axes(width: float = 6.0, height: float = 3.5) -> Axes:
    """A fresh ``Axes`` on its own figure (no pyplot)."""
    axes: Axes = new_figure(width, height).subplots()
    return axes


def _compact_png(data: bytes, dpi: int) -> bytes:
    """The PNG as a 256-colour palette image (no dithering): about 3x smaller, and for
    figures of flat colours visually the same."""
    with Image.open(io.BytesIO(data)) as image:
        palette = image.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT,
                                                dither=Image.Dither.NONE)
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True, dpi=(dpi, dpi))
    return out.getvalue()


def save_figure(target: Axes | Figure, path: Path | str, dpi: int = DPI, *,
                svg: bool = False, compact: bool = False) -> Path:
    """Write the figure holding ``target`` to ``path`` (format from the suffix), atomically;
    with ``svg=True`` also to ``path`` with suffix ``.svg``. Return ``path``.

    Files are reproducible: no timestamps in SVG/PDF metadata, fixed SVG ids. ``compact``
    writes a PNG as a 256-colour palette image (for web pages and READMEs).
    """
    path = Path(path)
    figure = target if isinstance(target, Figure) else target.get_figure(root=True)
    if not isinstance(figure, Figure):
        raise ValueError("the Axes belongs to no figure")
    if dpi < 1:
        raise ValueError(f"dpi must be >= 1, got {dpi}")
    targets = [path] + ([path.with_suffix(".svg")] if svg and path.suffix != ".svg" else [])
    engine = figure.get_layout_engine()
    try:
        for i, out in enumerate(targets):
            if i == 1 and engine is not None:
                figure.set_layout_engine("none")  # keep the first save's layout: same look
            fmt = out.suffix.lstrip(".").lower() or "png"
            metadata = {"Date": None} if fmt in ("svg", "pdf") else {"Software": None}
            buffer = io.BytesIO()
            with matplotlib.rc_context({"svg.hashsalt": "rl-lr", "svg.fonttype": "path"}):
                figure.savefig(buffer, format=fmt, dpi=dpi, metadata=metadata)
            data = buffer.getvalue()
            atomic_write_bytes(out, _compact_png(data, dpi) if compact and fmt == "png" else data)
    finally:
        if engine is not None and figure.get_layout_engine() is not engine:
            figure.set_layout_engine(engine)
    return path
