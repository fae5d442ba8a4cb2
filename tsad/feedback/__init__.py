"""Operator feedback on alerts, and what tsad learns from it.

* ``records`` — one label on a point or range of one series (``false_positive``,
  ``true_positive``, ``missed``, ``expected``), validated once, bounded per series.
* ``adapt`` — per-series adaptation: a threshold offset (log-odds) and expected
  ranges, a pure function of the series' records, so a delete or a reset replays.
* ``features`` — what the ranker sees of one candidate alert (an incident).
* ``ranker`` — a gradient-boosted classifier over those features across series.
* ``component`` — ``FeedbackDesk``, what ``TsadService`` holds: the operations the
  API and the CLI call, and the ranker's retraining schedule (off the event loop).
"""
