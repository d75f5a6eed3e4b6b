"""Experiments: many runs, then the report. One home for ``cosim compare``, ``cosim sweep`` and ``cosim study``.

- :mod:`~cosim.experiments.jobs`: independent jobs (one run or one traffic recording each), locally or on Ray;
- :mod:`~cosim.experiments.plan`: a comparison checked before anything runs (strategies x seeds, folders);
- :mod:`~cosim.experiments.tasks`: the two jobs of a comparison (record a seed's traffic, replay it for a run);
- :mod:`~cosim.experiments.compare`: runs a plan and then writes the report (:func:`cosim.report.build_report`);
- :mod:`~cosim.experiments.commands`: ``cosim compare`` on the command line, with its progress display;
- :mod:`~cosim.experiments.sweep`: a grid of scenarios x strategies x seeds x config values;
- :mod:`~cosim.experiments.study`: one comparison per scenario, written up as a document.

Experiments sit above the report: they run jobs and then call it; the report never imports them.
"""
