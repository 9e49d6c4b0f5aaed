"""Strategies: one generic ``event_window`` rule and named presets with a stated thesis.

Every strategy is a frozen, typed :class:`StrategyParams`; a preset is just a set of
defaults for it, which a TOML ``[strategy]`` table may override field by field.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from evbt.errors import InputError

#: Named ticker baskets usable wherever tickers are given.
BASKETS: dict[str, tuple[str, ...]] = {
    "semis": ("NVDA", "AMD", "AVGO", "TSM", "MU", "INTC", "ASML"),
    "semis_etf": ("SMH", "SOXX"),
    "nvda": ("NVDA",),
    "broad": ("QQQ", "SPY"),
}
#: Special ticker token: the event's own tickers (for earnings, the reporter).
REPORTER = "reporter"


@dataclass(frozen=True)
class Select:
    """Which catalog events a strategy trades. Empty tuple = no filter on that field.

    ``tags`` are all required (AND); ``tags_any`` needs at least one (OR).
    """

    kind: tuple[str, ...] = ()
    org: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    tags_any: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    status: tuple[str, ...] = ("confirmed",)
    confidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class StrategyParams:
    """The ``event_window`` rule: enter ``entry_offset`` sessions from each selected event's
    reaction session, hold ``hold`` sessions (or exit ``exit_offset`` sessions from the
    ticker's next known earnings reaction when ``exit_anchor = "next_earnings"``)."""

    name: str = "event_window"
    tickers: tuple[str, ...] = ("NVDA",)
    select: Select = field(default_factory=Select)
    direction: str = "long"  # long | short
    entry_offset: int = 0  # sessions from the reaction session (negative = before)
    hold: int = 5  # sessions from entry to the time exit
    exit_anchor: str = "none"  # none | next_earnings
    exit_offset: int = -1  # sessions from the anchor's reaction session
    stop_loss: float | None = None  # fraction, e.g. 0.08
    take_profit: float | None = None
    price: str = "close"  # close | next_open
    stop_on: str = "close"  # close | high_low
    weight: float = 1.0
    overlap: str = "skip"  # skip | merge
    skip_if_earnings_within: int | None = None  # sessions; None = no interaction rule
    allow_lookahead: bool = False

    def check(self) -> StrategyParams:
        """Raise InputError for a bad value (one line: field and fix)."""

        def bad(f: str, fix: str) -> InputError:
            return InputError(f"[strategy] {f} = {getattr(self, f)!r}: {fix}")

        if self.direction not in ("long", "short"):
            raise bad("direction", 'use "long" or "short"')
        if self.price not in ("close", "next_open"):
            raise bad("price", 'use "close" or "next_open"')
        if self.stop_on not in ("close", "high_low"):
            raise bad("stop_on", 'use "close" or "high_low"')
        if self.exit_anchor not in ("none", "next_earnings"):
            raise bad("exit_anchor", 'use "none" or "next_earnings"')
        if self.overlap not in ("skip", "merge"):
            raise bad("overlap", 'use "skip" or "merge"')
        if not isinstance(self.hold, int) or self.hold < 1:
            raise bad("hold", "use a whole number of sessions >= 1")
        if not isinstance(self.entry_offset, int):
            raise bad("entry_offset", "use a whole number of sessions")
        for f in ("stop_loss", "take_profit"):
            v = getattr(self, f)
            if v is not None and not (0 < v < 10):
                raise bad(f, "use a fraction > 0 (e.g. 0.08 for 8%), or leave it out")
        if not (self.weight > 0):
            raise bad("weight", "use a number > 0")
        if not self.tickers:
            raise bad("tickers", 'name at least one ticker or a basket such as "semis"')
        return self

    def resolved_tickers(self) -> tuple[str, ...]:
        """Tickers with baskets expanded, order kept, duplicates dropped."""
        out: list[str] = []
        for t in self.tickers:
            for x in BASKETS.get(t.lower(), (t,)):
                if x not in out:
                    out.append(x)
        return tuple(out)

    def replace(self, **kw: object) -> StrategyParams:
        return dataclasses.replace(self, **kw)  # type: ignore[arg-type]


def launch_shock() -> StrategyParams:
    """Short NVDA after a Chinese lab's efficiency-model launch.

    Thesis: frontier quality on far less compute lowers the expected demand for GPUs; the
    market needs days to digest it (DeepSeek-R1 launched 2025-01-20, NVDA fell ~17% on
    2025-01-27). Enter at the reaction session's close, hold five sessions.
    """
    return StrategyParams(
        name="launch_shock",
        tickers=("NVDA",),
        select=Select(kind=("model_launch",), tags=("china", "efficiency")),
        direction="short",
        entry_offset=0,
        hold=5,
        stop_loss=0.10,
    )


def launch_rebound() -> StrategyParams:
    """Buy NVDA a few sessions after a Chinese launch shock, betting the selloff overshoots.

    Thesis: cheaper inference widens use (Jevons), so the dip reverses; enter three sessions
    after the reaction session, hold ten.
    """
    return StrategyParams(
        name="launch_rebound",
        tickers=("NVDA",),
        select=Select(kind=("model_launch",), tags=("china", "efficiency")),
        direction="long",
        entry_offset=3,
        hold=10,
    )


def earnings_runup() -> StrategyParams:
    """Long NVDA into its quarterly report, out before it.

    Thesis: anticipation lifts the stock in the sessions before a scheduled report; exit at
    the close of the report day (reports come after the close) to avoid the gap. Scheduled
    events may be entered before they happen; never before their date was known.
    """
    return StrategyParams(
        name="earnings_runup",
        tickers=(REPORTER,),
        select=Select(kind=("earnings",), org=("NVIDIA",)),
        direction="long",
        entry_offset=-5,
        hold=4,
    )


def post_earnings() -> StrategyParams:
    """Trade NVDA's reaction session and post-earnings drift.

    Thesis: the report's news keeps being priced for days after the first session. Enter at
    the reaction session's open (signal on the report day, filled at the next open) and
    hold five sessions.
    """
    return StrategyParams(
        name="post_earnings",
        tickers=(REPORTER,),
        select=Select(kind=("earnings",), org=("NVIDIA",)),
        direction="long",
        entry_offset=-1,
        price="next_open",
        hold=5,
    )


PRESETS = {
    "event_window": StrategyParams,
    "launch_shock": launch_shock,
    "launch_rebound": launch_rebound,
    "earnings_runup": earnings_runup,
    "post_earnings": post_earnings,
}


def get_preset(name: str) -> StrategyParams:
    """The preset called ``name``; unknown names get a did-you-mean hint."""
    import difflib

    if name not in PRESETS:
        near = difflib.get_close_matches(name, list(PRESETS), n=1)
        hint = f"did you mean {near[0]!r}? " if near else ""
        raise InputError(
            f"[strategy] name = {name!r} is not a strategy: {hint}choose one of {', '.join(PRESETS)}"
        )
    return PRESETS[name]()
