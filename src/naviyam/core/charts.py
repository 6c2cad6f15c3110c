"""What every chart the service draws shares: a font that shows Hangul."""

from __future__ import annotations

import io


def use_korean_font() -> str | None:
    """Set matplotlib's font to NanumGothic when installed; the family used (None: matplotlib's default)."""
    import matplotlib  # lazy: charts only; matplotlib takes about a second to import
    from matplotlib import font_manager  # lazy: charts only; matplotlib takes about a second to import

    names = {f.name for f in font_manager.fontManager.ttflist}
    for family in ("NanumGothic", "NanumBarunGothic", "Noto Sans CJK KR"):
        if family in names:
            matplotlib.rcParams["font.family"] = family
            matplotlib.rcParams["axes.unicode_minus"] = False
            return family
    return None


def new_figure(width: float, height: float):
    """A matplotlib ``Figure`` with the Hangul font, drawn without pyplot (safe in a server's threads)."""
    from matplotlib.figure import Figure  # lazy: charts only; matplotlib takes about a second to import

    use_korean_font()
    return Figure(figsize=(width, height))


def figure_png(fig, dpi: int = 100) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
