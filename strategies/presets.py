"""Strategies: one generic ``event_window`` rule and named presets with a stated thesis.

Every strategy is a frozen, typed :class:`StrategyParams`; a preset is just a set of
defaults for it, which a TOML ``[strategy]`` table may override field by field.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

from evbt.errors import FieldError
from evbt.strategies.fields import bad, check_fields, table

# The TOML words, checked on construction (evbt.strategies.fields); kernel codes are mapped from them
# in one place (backtest/enums.py). Kinds, statuses, confidences: the catalog's vocabulary.
Direction = Literal["long", "short"]
ExitAnchor = Literal["none", "next_earnings"]
PriceAt = Literal["close", "next_open"]
StopOn = Literal["close", "high_low"]
Overlap = Literal["skip", "merge"]
Kind = Literal["model_launch", "earnings", "product", "policy", "other"]
Status = Literal["confirmed", "expected"]
Confidence = Literal["confirmed", "single", "unconfirmed"]

#: Named ticker baskets usable wherever tickers are given.
BASKETS: dict[str, tuple[str, ...]] = {
    "semis": ("NVDA", "AMD", "AVGO", "TSM", "MU", "INTC", "ASML"),
    "semis_etf": ("SMH", "SOXX"),
    "nvda": ("NVDA",),
    "broad": ("QQQ", "SPY"),
}
#: Sector benchmarks and the studied tickers each holds as a large share of its weight, as
#: issue 15 cites them (SMH, SOXX and the PHLX Semiconductor index ^SOX hold NVDA, AMD,
#: AVGO, MU, TSM and INTC). Only those six are listed: a ticker missing here (ASML, say) is
#: not known to be absent from the fund, and gets no warning. Against such a benchmark a
#: ticker's abnormal return nets out part of its own move, and same-date residuals of its
#: members turn negatively correlated. The event study and pre-earnings warn when the
#: benchmark holds a studied ticker, and name the ``broad`` basket instead (QQQ, SPY: the
#: semis are a small share of them).
BENCHMARK_HOLDS: dict[str, tuple[str, ...]] = {
    "SMH": ("NVDA", "AMD", "AVGO", "MU", "TSM", "INTC"),
    "SOXX": ("NVDA", "AMD", "AVGO", "MU", "TSM", "INTC"),
    "^SOX": ("NVDA", "AMD", "AVGO", "MU", "TSM", "INTC"),
}
#: Special ticker token: the event's own tickers (for earnings, the reporter).
REPORTER = "reporter"


@table("strategy.select")
@dataclass(frozen=True)
class Select:
    """Which catalog events a strategy trades. Empty tuple = no filter on that field.

    ``tags`` are all required (AND); ``tags_any`` needs at least one (OR); ``tickers``
    keeps events naming any of them (so ``kind = ["earnings"], tickers = ["AMD"]`` picks
    AMD's reports). ``attrs`` filters on the launch attributes (``data/events/attributes.csv``), in TOML
    ``attrs = { open_weights = true, active_params_b = { max = 40 } }`` (a value must be
    equal; ``min``/``max`` bound a number, inclusive; an event without the attribute never
    matches). ``weight_by`` names a numeric attribute that scales the strategy's ``weight``:
    ``value / max`` over the selected events (``min / value`` with ``weight_invert``), so
    weights stay in (0, 1]; events without it are not selected.
    """

    kind: tuple[Kind, ...] = ()
    org: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    tags_any: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    tickers: tuple[str, ...] = ()  # events naming any of these (e.g. the reporter "AMD")
    status: tuple[Status, ...] = ("confirmed",)
    confidence: tuple[Confidence, ...] = ()
    attrs: tuple[tuple[str, str, float | bool], ...] = ()
    weight_by: str = ""
    weight_invert: bool = False

    def __post_init__(self) -> None:
        if self.attrs:
            from evbt.errors import InputError
            from evbt.strategies.attrs import normalise_attr_spec

            try:
                spec = normalise_attr_spec(self.attrs, where="attrs")
            except InputError as e:
                raise FieldError(type(self).__name__, f"[strategy.select] {e}") from None
            object.__setattr__(self, "attrs", spec)
        check_fields(self, "strategy.select")
        if self.weight_by and not self.weight_by.replace("_", "a").isalnum():
            raise bad(
                self,
                "strategy.select",
                "weight_by",
                "name a numeric attribute, e.g. active_params_b",
            )


@table("strategy")
@dataclass(frozen=True)
class StrategyParams:
    """The ``event_window`` rule: enter ``entry_offset`` sessions from each selected event's
    reaction session, hold ``hold`` sessions (or exit ``exit_offset`` sessions from the
    ticker's next known earnings reaction when ``exit_anchor = "next_earnings"``).

    Values are checked on construction (TOML words, no leverage: ``weight`` in (0, 1]):

    >>> p = get_preset("launch_shock").replace(hold=3, tickers=("NVDA", "semis_etf"))
    >>> p.direction, p.hold, p.resolved_tickers()
    ('short', 3, ('NVDA', 'SMH', 'SOXX'))
    >>> p.replace(direction="down")
    Traceback (most recent call last):
    ...
    evbt.errors.FieldError: StrategyParams: [strategy] direction = "down": use "long" or "short"
    """

    name: str = "event_window"
    tickers: tuple[str, ...] = ("NVDA",)
    select: Select = field(default_factory=Select)
    direction: Direction = "long"
    entry_offset: int = 0  # sessions from the reaction session (negative = before)
    hold: int = 5  # sessions from entry to the time exit
    exit_anchor: ExitAnchor = "none"
    exit_offset: int = -1  # sessions from the anchor's reaction session
    stop_loss: float | None = None  # fraction, e.g. 0.08
    take_profit: float | None = None
    price: PriceAt = "close"
    stop_on: StopOn = "close"
    weight: float = 1.0
    overlap: Overlap = "skip"
    skip_if_earnings_within: int | None = None  # sessions; None = no interaction rule
    allow_lookahead: bool = False

    def __post_init__(self) -> None:
        check_fields(self, "strategy")  # types and Literal words
        if not self.name:
            raise bad(self, "strategy", "name", 'name a strategy, e.g. "event_window"')
        if self.hold < 1:
            raise bad(self, "strategy", "hold", "use a whole number of sessions >= 1")
        for f in ("stop_loss", "take_profit"):
            v = getattr(self, f)
            if v is not None and not v > 0:
                raise bad(
                    self, "strategy", f, "use a fraction > 0 (e.g. 0.08 for 8%), or leave it out"
                )
        if not 0 < self.weight <= 1:
            raise bad(
                self, "strategy", "weight", "use a fraction of equity in (0, 1] (no leverage)"
            )
        if self.skip_if_earnings_within is not None and self.skip_if_earnings_within < 0:
            raise bad(
                self, "strategy", "skip_if_earnings_within", "use sessions >= 0, or leave it out"
            )
        if not self.tickers:
            raise bad(
                self, "strategy", "tickers", 'name at least one ticker or a basket such as "semis"'
            )

    def check(self) -> StrategyParams:
        """Kept for callers: the fields were checked on construction (``__post_init__``)."""
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
    from evbt.hints import nearest

    if name not in PRESETS:
        near = nearest(name, list(PRESETS))
        hint = f"did you mean {near!r}? " if near else ""
        raise FieldError(
            "get_preset",
            f'[strategy] name = "{name}" is not a strategy: {hint}choose one of {", ".join(PRESETS)}',
        )
    return PRESETS[name]()
