"""The bias part of `check`: the served traffic's post-training bias against the serving version's baseline.

The registered post-training report names the features (the served column order) and the facet; the captured
rows give the facet's groups, their captured outputs the predictions (probability at or above the report's
decision threshold: positive). Statistical parity difference needs no label; equalized odds difference is measured
over the rows whose ground-truth label joined (by the record's event id), when at least `min_records` did and both
labels occur. Too few predictions, or a report that does not fit the traffic, give no bias verdict (the reason
says why) and never a breach.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from mlops_monitoring import aws, interface
from mlops_monitoring.capture import CapturedTraffic
from mlops_monitoring.errors import MonitoringError
from mlops_monitoring.fairness import Breach, breaches, facet_groups, post_training
from mlops_monitoring.ground_truth import GROUND_TRUTH_SUFFIX, read_ground_truth


@dataclass(frozen=True)
class BiasSettings:
    facet: str
    limits: dict[str, float]
    ground_truth_uri: str | None = None
    """`s3://bucket/prefix/` of the ground-truth records (`ground_truth`), read by the check itself: a processing
    input would fail the whole check while the prefix is still empty."""


@dataclass
class LiveBias:
    reason: str
    baseline_uri: str | None = None
    values: dict[str, float] = field(default_factory=dict)
    baseline_values: dict[str, float] = field(default_factory=dict)
    breached: list[Breach] = field(default_factory=list)
    predicted_rows: int = 0
    labelled_rows: int = 0

    @property
    def biased(self) -> bool:
        return bool(self.breached)

    def as_report(self) -> dict[str, Any]:
        return {"reason": self.reason, "baselineUri": self.baseline_uri, "values": self.values,
                "baselineValues": self.baseline_values, "biased": self.biased,
                "breached": [str(breach) for breach in self.breached], "predictedRows": self.predicted_rows,
                "labelledRows": self.labelled_rows}

    def metrics(self, use_case: str) -> list[dict[str, Any]]:
        dimension = {"Name": interface.DIMENSION_USE_CASE, "Value": use_case}
        data = [{"MetricName": interface.METRIC_BIAS, "Unit": "None", "Value": value,
                 "Dimensions": [dimension, {"Name": interface.DIMENSION_METRIC, "Value": metric}]}
                for metric, value in self.values.items()]
        data.append({"MetricName": interface.METRIC_BIAS_DETECTED, "Dimensions": [dimension],
                     "Value": float(self.biased), "Unit": "None"})
        return data


def live_bias(settings: BiasSettings, s3: Any, package: dict[str, Any], traffic: CapturedTraffic,
              min_records: int) -> LiveBias:
    uri = aws.bias_baseline_uri(package)
    if uri is None:
        return LiveBias(f"model package {package['ModelPackageArn']} has no ModelMetrics.Bias.PostTrainingReport")
    try:
        report = _load_report(aws.read_s3_text(s3, uri), uri)
        return _measure(settings, report, uri, traffic, min_records, s3)
    except MonitoringError as problem:
        return LiveBias(str(problem), baseline_uri=uri)


def _load_report(text: str, source: str) -> dict[str, Any]:
    try:
        report = json.loads(text)
    except ValueError as error:
        raise MonitoringError(f"{source} is not JSON: {error}") from error
    if not isinstance(report, dict) or not isinstance(report.get("features"), list) or not report["features"]:
        raise MonitoringError(f"{source} is not a post-training bias report of the open engine (no features)")
    return report


def _measure(settings: BiasSettings, report: dict[str, Any], uri: str, traffic: CapturedTraffic,
             min_records: int, s3: Any) -> LiveBias:
    names = [str(name) for name in report["features"]]
    predicted = [index for index, value in enumerate(traffic.predictions) if value is not None]
    if len(predicted) < min_records:
        return LiveBias(f"{len(predicted)} captured rows with a prediction, fewer than the {min_records} a bias "
                        "verdict needs", baseline_uri=uri, predicted_rows=len(predicted))
    rows = [traffic.rows[index] for index in predicted]
    if any(len(row) != len(names) for row in rows):
        raise MonitoringError(f"the captured rows are not the {len(names)} features of {uri}")
    features = pd.DataFrame(rows, columns=names).apply(pd.to_numeric, errors="coerce")
    groups = facet_groups(features, settings.facet)
    threshold = float(report.get("decisionThreshold", interface.DECISION_THRESHOLD))
    labels_of_predictions = (np.asarray([traffic.predictions[index] for index in predicted], dtype=float)
                             >= threshold).astype(int)
    values = post_training(None, labels_of_predictions, groups).values
    labelled = _labelled(settings, s3, traffic, predicted)
    if len(labelled) >= min_records and len({label for _, label in labelled}) == 2:
        position = {index: place for place, index in enumerate(predicted)}
        positions = [position[index] for index, _ in labelled]
        with_labels = post_training(np.asarray([label for _, label in labelled]), labels_of_predictions[positions],
                                    groups.iloc[positions].reset_index(drop=True))
        values[interface.EQUALIZED_ODDS_DIFFERENCE] = with_labels.values[interface.EQUALIZED_ODDS_DIFFERENCE]
    found = breaches(values, settings.limits)
    measured = ", ".join(f"{metric}={value:.4f}" for metric, value in values.items())
    reason = (f"{', '.join(map(str, found))} above the limit" if found else f"{measured}, within the limits")
    baseline = report.get("summary", {})
    return LiveBias(reason, uri, values, {metric: float(baseline[metric]) for metric in values if metric in baseline},
                    found, len(predicted), len(labelled))


def _labelled(settings: BiasSettings, s3: Any, traffic: CapturedTraffic,
              predicted: list[int]) -> list[tuple[int, int]]:
    """(row index, label) of the predicted rows whose record's ground truth joined."""
    if settings.ground_truth_uri is None:
        return []
    labels = read_ground_truth(aws.s3_lines(s3, settings.ground_truth_uri, GROUND_TRUTH_SUFFIX)).labels
    joined = [(index, traffic.event_ids[index]) for index in predicted]
    return [(index, labels[event_id]) for index, event_id in joined if event_id is not None and event_id in labels]

