"""Named, typed parameter sets that configure signal rules."""

from evbt.strategies.presets import BASKETS, PRESETS, Select, StrategyParams, get_preset

__all__ = ["BASKETS", "PRESETS", "Select", "StrategyParams", "get_preset"]
