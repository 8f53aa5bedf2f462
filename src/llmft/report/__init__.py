"""The report layer: what a run found, written down and shown.

* :mod:`~llmft.report.results`: the results file of a chapter (``results/<case>/<profile>.json``);
* :mod:`~llmft.report.compare`: every case's results side by side (the comparison chapter);
* :mod:`~llmft.report.plots` and :mod:`~llmft.report.display`: figures and tables with their provenance;
* :mod:`~llmft.report.published` and :mod:`~llmft.report.recorded`: published figures and recorded GPU runs.
"""
