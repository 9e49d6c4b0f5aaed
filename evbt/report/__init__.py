"""Offline HTML tearsheets of run folders: :func:`write_report`, a comparison of runs
(:func:`write_compare`) and the index of a results root (:func:`write_index`).

The page of each kind of run: :mod:`evbt.report.backtest`, :mod:`~evbt.report.study`,
:mod:`~evbt.report.sweep`, :mod:`~evbt.report.preearnings`; the run's config in words:
:mod:`~evbt.report.words`; Plotly figures: :mod:`~evbt.report.figures`; the HTML shell:
:mod:`~evbt.report.html`; the shared plotly.js: :mod:`~evbt.report.assets`.
"""

from evbt.report.sections import CHROMIUM_ARGS, find_chromium, write_report

__all__ = ["CHROMIUM_ARGS", "find_chromium", "write_compare", "write_index", "write_report"]


def __getattr__(name: str):
    if name == "write_compare":
        from evbt.report.compare import write_compare

        return write_compare
    if name == "write_index":
        from evbt.report.index import write_index

        return write_index
    raise AttributeError(name)
