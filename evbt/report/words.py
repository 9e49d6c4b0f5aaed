"""A run's config in words: what a trader would say the run does, for what was run.

:func:`describe_config` says what the strategy trades, its costs and account, the data and
(when one ran) the event study; a sweep's swept parameters are left out of the strategy's
sentence and read as words instead (:func:`swept_words`: "stop loss: none, 5%, 10%").
"""

from __future__ import annotations

import math
from typing import Any

from evbt.report.html import pct

#: how a swept parameter is named on the page, and the unit of its values
PARAM_NAMES = {
    "entry_offset": "entry offset (sessions from the reaction session)",
    "hold": "hold (sessions)",
    "stop_loss": "stop loss",
    "take_profit": "take profit",
    "direction": "direction",
    "weight": "weight",
    "exit_offset": "exit offset (sessions)",
    "price": "fill price",
    "fees": "fees per side",
    "slippage": "slippage per side",
}
SHORT_NAMES = {
    "entry_offset": "entry offset", "hold": "hold", "stop_loss": "stop loss",
    "take_profit": "take profit", "exit_offset": "exit offset", "fees": "fees",
    "slippage": "slippage",
}  # fmt: skip
_PCT_PARAMS = frozenset({"stop_loss", "take_profit", "fees", "slippage"})


def param_name(p: str, short: bool = False) -> str:
    return (SHORT_NAMES if short else PARAM_NAMES).get(p, p.replace("_", " "))


def value_words(param: str, v: Any) -> str:
    """One swept value as a reader says it: "none" for no stop, "5%", "+2", "long"."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or v == "none":
        return "none"
    if param in _PCT_PARAMS:
        return _frac(v)
    if param in ("entry_offset", "exit_offset") and isinstance(v, (int, float)):
        return f"{int(v):+d}" if int(v) else "0"
    if isinstance(v, float) and v == int(v):
        return str(int(v))
    return str(v)


def swept_words(sweep: dict[str, Any]) -> list[str]:
    """``{"stop_loss": [None, 0.05, 0.1]}`` -> ``["stop loss: none, 5%, 10%"]``."""
    out = []
    for k, vals in sweep.items():
        if k in ("blocks", "wf_blocks") or not isinstance(vals, list | tuple):
            continue
        out.append(f"{param_name(k)}: {', '.join(value_words(k, v) for v in vals)}")
    return out


def _join(items: list[Any], word: str = "or") -> str:
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {word} " + items[-1]


def _frac(v: Any) -> str:
    return pct(v, 2).replace(".00%", "%")


def describe_config(cfg: dict[str, Any], kind: str = "bt") -> list[str]:
    """The config as a few plain sentences (what a trader would say the run does).

    ``kind``: "bt" says everything; "study" only which events and tickers, the data and the
    study; "sweep" leaves the swept parameters out of the strategy's sentence (they are
    listed by :func:`swept_words`) and says nothing of an event study it did not run.
    """
    out: list[str] = []
    swept = {k for k in (cfg.get("sweep") or {}) if k not in ("blocks", "wf_blocks")}
    s = dict(cfg.get("strategy") or {})
    for k in swept:
        s.pop(k, None)
    if kind == "study" and s:
        tickers = s.get("tickers") or []
        tick = _join(["the reporting company" if t == "reporter" else t for t in tickers], "and")
        out.append(f"Abnormal returns of {tick or 'the selected tickers'} around {_selection(s)}.")
        s = {}
    if s:
        direction = (
            "Trade (long or short, swept)"
            if "direction" in swept
            else ("Short" if s.get("direction") == "short" else "Long")
        )
        tickers = s.get("tickers") or []
        tick = _join(["the reporting company" if t == "reporter" else t for t in tickers], "and")
        off = int(s.get("entry_offset") or 0)
        when = (
            "at a swept offset from the reaction session"
            if "entry_offset" in swept
            else "on the reaction session"
            if off == 0
            else f"{abs(off)} session{'s' if abs(off) != 1 else ''} "
            f"{'after' if off > 0 else 'before'} the reaction session"
        )
        fill = "the next session's open" if s.get("price") == "next_open" else "the close"
        if s.get("exit_anchor") == "next_earnings":
            hold = (
                f"until {abs(int(s.get('exit_offset') or 0))} session(s) "
                f"{'before' if int(s.get('exit_offset') or 0) < 0 else 'after'} "
                "the next earnings reaction session"
            )
        elif "hold" in swept:
            hold = "for a swept number of sessions"
        elif s.get("hold") is not None:
            hold = f"for {s.get('hold')} sessions"
        else:
            hold = ""
        out.append(
            f"{direction} {tick or 'the selected tickers'}{' ' + hold if hold else ''}, "
            f"entering at {fill} "
            f"{when} of each {_selection(s)}."
        )
        risk = []
        if s.get("stop_loss") is not None:
            risk.append(f"stop-loss at {_frac(s['stop_loss'])}")
        if s.get("take_profit") is not None:
            risk.append(f"take-profit at {_frac(s['take_profit'])}")
        if risk:
            where = "intrabar (high/low)" if s.get("stop_on") == "high_low" else "at each close"
            out.append(f"{_join(risk, 'and').capitalize()} from the entry price, checked {where}.")
        rules = []
        if s.get("weight") not in (None, 1, 1.0):
            rules.append(f"signal weight {s['weight']}")
        if s.get("overlap"):
            rules.append(
                f"overlapping windows are {'merged' if s['overlap'] == 'merge' else 'skipped'}"
            )
        if s.get("skip_if_earnings_within") is not None:
            rules.append(
                f"signals within {s['skip_if_earnings_within']} sessions of the ticker's own "
                "earnings are skipped"
            )
        if rules:
            out.append(_join(rules, "and").capitalize() + ".")
        if s.get("allow_lookahead"):
            out.append("Lookahead was ALLOWED: entries may precede what the market could know.")
    c = cfg.get("costs") or {}
    if c and kind != "study":
        out.append(
            f"Costs per side: fees {_frac(c.get('fees', 0))}, slippage {_frac(c.get('slippage', 0))}."
        )
    p = cfg.get("portfolio") or {}
    if p and kind != "study":
        cash = f"{float(p.get('init_cash', 0)):,.0f}"
        size = p.get("size", 1)
        sized = (
            f"{_frac(size)} of equity"
            if p.get("size_type", "fraction") == "fraction"
            else f"{float(size):,.0f} notional"
        )
        if p.get("mode") == "shared_cash":
            out.append(
                f"One shared account of {cash}; each entry takes {sized} times its weight, "
                f"gross exposure capped at {_frac(p.get('max_gross', 1))} of equity."
            )
        else:
            out.append(f"Each ticker trades its own account of {cash}; each entry takes {sized}.")
    d = cfg.get("data") or {}
    if d:
        span = f"{d.get('start') or 'the first session'} to {d.get('end') or 'the last'}"
        bench = f", benchmark {d['benchmark']}" if d.get("benchmark") else ""
        out.append(f"Prices: {d.get('source', '?')} data, {span}{bench}.")
    st = cfg.get("study") or {}
    if st and st.get("enabled", True) and st.get("window") and kind in ("bt", "study"):
        w = st["window"]
        model = "market model" if st.get("model") == "market_model" else "market-adjusted returns"
        out.append(
            f"Event study over sessions [{w[0]}, +{w[1]}] around the reaction session, "
            f"{model}, {st.get('bootstrap', 0):,} bootstrap draws, {st.get('placebo', 0):,} "
            "placebo dates."
        )
    return out


def _selection(s: dict[str, Any]) -> str:
    """The events a strategy selects: "confirmed model_launch event by DeepSeek tagged ..."."""
    sel = s.get("select") or {}
    what = _join(sel.get("kind") or [], "or") or "selected"
    bits = [f"{_join(sel['status'])} " if sel.get("status") else "", f"{what} event"]
    if sel.get("org"):
        bits.append(f" by {_join(sel['org'])}")
    if sel.get("tags"):
        bits.append(f" tagged {_join(sel['tags'], 'and')}")
    if sel.get("tags_any"):
        bits.append(f" tagged any of {_join(sel['tags_any'])}")
    if sel.get("ids"):
        bits.append(f" (ids {_join(sel['ids'], 'and')})")
    if sel.get("confidence"):
        bits.append(f" with confidence {_join(sel['confidence'])}")
    return "".join(bits)
