"""Which catalog rows a strategy's ``select`` picks, and the tickers a row names."""

from __future__ import annotations

import numpy as np
import pandas as pd

from evbt.strategies.presets import StrategyParams


def tickers_of(row: pd.Series) -> list[str]:
    raw = row.get("tickers")
    if raw is None or (isinstance(raw, float) and np.isnan(raw)):
        return []
    return [t.strip() for t in str(raw).split(";") if t.strip()]


def select_events(catalog: pd.DataFrame, params: StrategyParams) -> pd.DataFrame:
    """Catalog rows matching ``params.select`` (case-insensitive; tags AND, tags_any OR)."""
    s = params.select
    df = catalog
    keep = np.ones(len(df), dtype=bool)

    def isin(col: str, vals: tuple[str, ...]) -> np.ndarray:
        have = df[col].fillna("").astype(str).str.lower()
        return have.isin([v.lower() for v in vals]).to_numpy()

    if s.kind:
        keep &= isin("kind", s.kind)
    if s.org:
        keep &= isin("org", s.org)
    if s.status:
        keep &= isin("status", s.status)
    if s.confidence:
        keep &= isin("confidence", s.confidence)
    if s.ids:
        keep &= df["id"].isin(s.ids).to_numpy()
    if s.tags or s.tags_any:
        tagsets = [
            {t.strip().lower() for t in str(x).split(";") if t.strip()}
            if isinstance(x, str)
            else set()
            for x in df["tags"]
        ]
        if s.tags:
            need = {t.lower() for t in s.tags}
            keep &= np.array([need <= ts for ts in tagsets], dtype=bool)
        if s.tags_any:
            anyof = {t.lower() for t in s.tags_any}
            keep &= np.array([bool(anyof & ts) for ts in tagsets], dtype=bool)
    return df.loc[keep]
