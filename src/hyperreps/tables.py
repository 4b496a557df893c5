"""Tables as the pipeline writes them: Markdown (to read), CSV (to compute with) and LaTeX
(to paste into a paper), each written to a temporary name and renamed into place."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .publish import write_text

FORMATS = ("md", "csv", "tex")


def render(df: pd.DataFrame, fmt: str, floatfmt: str = ".4g", caption: str = "") -> str:
    if fmt == "md":
        text = df.to_markdown(index=False, floatfmt=floatfmt)
        return (f"{caption}\n\n{text}\n" if caption else f"{text}\n")
    if fmt == "csv":
        return df.to_csv(index=False, float_format="%.6g")
    if fmt == "tex":
        styled = (df.style.hide(axis="index")
                  .format(precision=4, na_rep="--", escape="latex")
                  .format_index(escape="latex", axis=1))
        return styled.to_latex(caption=caption or None, hrules=True)
    raise ValueError(f"unknown table format {fmt!r}; choose from {FORMATS}")


def write_table(df: pd.DataFrame, paths, caption: str = "", floatfmt: str = ".4g") -> None:
    """Write ``df`` to each path; the suffix (.md, .csv, .tex) picks the format."""
    for p in [paths] if isinstance(paths, (str, os.PathLike)) else paths:
        p = Path(p)
        write_text(p, render(df, p.suffix.lstrip("."), floatfmt, caption))


def write_csv(df: pd.DataFrame, path, exact: bool = False) -> None:
    """A data table as CSV, written atomically: 8 significant digits, or with ``exact`` every
    float as its shortest round-trip repr (what a later computation reads back bit for bit,
    e.g. the frontier's models that ``hyperreps audit`` places other models against)."""
    write_text(Path(path), df.to_csv(index=False, float_format=None if exact else "%.8g"))
