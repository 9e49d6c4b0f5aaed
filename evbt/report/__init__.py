"""The offline HTML tearsheet of a run folder: :func:`write_report`.

Sections and the page's text live in :mod:`evbt.report.sections`, Plotly figures in
:mod:`evbt.report.figures`, the HTML shell in :mod:`evbt.report.html`.
"""

from evbt.report.sections import write_report

__all__ = ["write_report"]
