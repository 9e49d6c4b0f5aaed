"""``evbt.config``: the typed run spec, as documented (it lives in :mod:`evbt.strategies.config`).

>>> import evbt.config
>>> evbt.config.PortfolioConfig().mode
'per_ticker'
"""

from evbt.strategies.config import (
    Config,
    CostsConfig,
    DataConfig,
    OutputConfig,
    PortfolioConfig,
    StudyConfig,
    from_dict,
    load_config,
)

__all__ = [
    "Config",
    "CostsConfig",
    "DataConfig",
    "OutputConfig",
    "PortfolioConfig",
    "StudyConfig",
    "from_dict",
    "load_config",
]
