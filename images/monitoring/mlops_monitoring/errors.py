"""The one exception the engine raises for bad input; the entry point turns it into one line on stderr."""

from __future__ import annotations


class MonitoringError(Exception):
    """Input the engine cannot use (no training data, a feature list that does not fit it, ...); says why."""
