"""mlops-platform guardrails: one rule per module-level object, judged per resource tier."""
