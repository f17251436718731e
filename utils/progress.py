"""Progress bars that read well both ways a notebook runs.

Stepping through a notebook in Jupyter, a widget bar updates in place ("widgets"). Under
papermill no browser draws widgets, and their saved text is the bar as it was created
(0%), so the pipeline passes "text": a plain bar on stdout, redrawn at most every few
seconds, whose last state is 100%. Nothing goes to stderr either way. `None` draws none.
"""
from __future__ import annotations

import sys

from .choices import CHOICES

STYLES = CHOICES["progress"]


def progress(iterable=None, total: int | None = None, desc: str = "", style: str | None = "widgets",
             mininterval: float = 5.0):
    """A tqdm bar over `iterable` in the given style (see the module's docstring); True
    means "text" and False None, for callers that only switch the bar on or off."""
    style = {True: "text", False: None}.get(style, style) if isinstance(style, bool) else style
    if style not in STYLES:
        raise ValueError(f"progress style {style!r} unknown; choose from {STYLES}")
    if style == "widgets":
        try:
            import ipywidgets  # noqa: F401  (tqdm's widget bar needs it)
            from tqdm.notebook import tqdm
            return tqdm(iterable, total=total, desc=desc)
        except ImportError:
            style = "text"
    from tqdm.std import tqdm
    return tqdm(iterable, total=total, desc=desc, file=sys.stdout, mininterval=mininterval,
                ncols=100, disable=style is None)
