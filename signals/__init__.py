"""Events -> reaction sessions -> signal table and arrays (the lookahead guard lives here)."""

from evbt.signals.rules import SignalArrays, SignalSet, build_signals, to_arrays
from evbt.signals.select import select_events

__all__ = ["SignalArrays", "SignalSet", "build_signals", "select_events", "to_arrays"]
