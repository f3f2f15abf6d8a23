"""Bias arithmetic: the facet's groups, the pre- and post-training bias metrics and their limits.

The facet is a column of the use case's raw training data. The preprocess step keeps a numeric column under its
own name and one-hot encodes a categorical one into `<facet>_<value>` columns, so a row's group is the facet
column's value (`category_key`, at most `MAX_FACET_GROUPS` distinct) or the `<value>` of its one-hot column set
to 1 (`OTHER_GROUP` when none is: a category the train split never saw).

Pre-training metrics judge the labels of the train split, post-training ones the model's predictions (with the
labels where there are any); each is the worst case over the groups, 0 for an even facet, at most 1. The
post-training metrics are Fairlearn's (`fairlearn.metrics`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
from fairlearn.metrics import (  # type: ignore[import-untyped]
    MetricFrame,
    demographic_parity_difference,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)

from mlops_monitoring import interface
from mlops_monitoring.errors import MonitoringError
from mlops_monitoring.profile import category_key

MAX_FACET_GROUPS = 10
OTHER_GROUP = "__other__"
DESCRIPTIONS = {
    interface.CLASS_IMBALANCE: "Class Imbalance (CI)",
    interface.DIFFERENCE_IN_POSITIVE_PROPORTIONS: "Difference in Positive Proportions in Labels (DPL)",
    interface.STATISTICAL_PARITY_DIFFERENCE: "Statistical (demographic) parity difference of predictions",
    interface.EQUALIZED_ODDS_DIFFERENCE: "Equalized odds difference (true/false positive rates)",
}


def facet_groups(features: pd.DataFrame, facet: str) -> pd.Series:
    """Each row's group of the facet, as text."""
    if facet in features.columns:
        groups = features[facet].map(category_key)
        if groups.nunique() > MAX_FACET_GROUPS:
            raise MonitoringError(f"facet {facet!r} has {groups.nunique()} distinct values: a facet is a category "
                                  f"(at most {MAX_FACET_GROUPS} groups), not a continuous feature")
    else:
        one_hot = [column for column in features.columns if str(column).startswith(f"{facet}_")]
        if not one_hot:
            raise MonitoringError(f"facet {facet!r} is neither a feature nor one-hot features {facet}_<value>; "
                                  f"the features are: {', '.join(map(str, features.columns))}")
        values = features[one_hot].apply(pd.to_numeric, errors="coerce").fillna(0.0).to_numpy()
        names = np.array([str(column)[len(facet) + 1:] for column in one_hot], dtype=object)
        groups = pd.Series(np.where(values.max(axis=1) > 0, names[values.argmax(axis=1)], OTHER_GROUP),
                           index=features.index)
    if groups.nunique() < 2:
        raise MonitoringError(f"facet {facet!r} has one group only ({groups.iloc[0] if len(groups) else 'none'}): "
                              "nothing to compare")
    return groups.astype(str)


@dataclass(frozen=True)
class BiasMeasure:
    """Metric → worst-case value, and per group what it was computed from."""

    values: dict[str, float]
    groups: dict[str, dict[str, float]]


def pre_training(labels: np.ndarray, groups: pd.Series) -> BiasMeasure:
    frame = pd.DataFrame({"label": np.asarray(labels, dtype=float), "group": groups.to_numpy()})
    total, positives = len(frame), float(frame["label"].sum())
    per_group: dict[str, dict[str, float]] = {}
    for group, rows in frame.groupby("group", sort=True):
        count, rest = len(rows), total - len(rows)
        positive_share = float(rows["label"].mean())
        rest_share = (positives - float(rows["label"].sum())) / rest if rest else 0.0
        per_group[str(group)] = {"rows": float(count), "positiveShare": positive_share,
                                 "CI": (rest - count) / total, "DPL": rest_share - positive_share}
    shares = [group["positiveShare"] for group in per_group.values()]
    return BiasMeasure({
        interface.CLASS_IMBALANCE: max(abs(group["CI"]) for group in per_group.values()),
        interface.DIFFERENCE_IN_POSITIVE_PROPORTIONS: max(shares) - min(shares),
    }, per_group)


def post_training(labels: np.ndarray | None, predicted: np.ndarray, groups: pd.Series) -> BiasMeasure:
    """Statistical parity difference always; equalized odds difference where `labels` are given."""
    predicted = np.asarray(predicted, dtype=int)
    sensitive = groups.to_numpy()
    stand_in = predicted if labels is None else np.asarray(labels, dtype=int)
    values = {interface.STATISTICAL_PARITY_DIFFERENCE: float(demographic_parity_difference(
        stand_in, predicted, sensitive_features=sensitive))}
    metrics: dict[str, Any] = {"selectionRate": selection_rate}
    if labels is not None:
        values[interface.EQUALIZED_ODDS_DIFFERENCE] = float(equalized_odds_difference(
            stand_in, predicted, sensitive_features=sensitive))
        metrics.update(truePositiveRate=true_positive_rate, falsePositiveRate=false_positive_rate)
    frame = MetricFrame(metrics=metrics, y_true=stand_in, y_pred=predicted, sensitive_features=sensitive)
    by_group = frame.by_group
    per_group = {str(group): {"rows": float((sensitive == group).sum()),
                              **{name: _number(by_group.loc[group, name]) for name in metrics}}
                 for group in by_group.index}
    return BiasMeasure(values, per_group)


def _number(value: Any) -> float:
    number = float(value)
    return 0.0 if np.isnan(number) else number


def predicted_labels(probabilities: np.ndarray) -> np.ndarray:
    return (np.asarray(probabilities, dtype=float) >= interface.DECISION_THRESHOLD).astype(int)


@dataclass(frozen=True)
class Breach:
    metric: str
    value: float
    limit: float

    def __str__(self) -> str:
        return f"{self.metric}={self.value:.4f}>{self.limit:g}"


def breaches(values: dict[str, float], limits: dict[str, float]) -> list[Breach]:
    """The metrics measured above their limit, in the order of `BIAS_METRICS`; unmeasured metrics do not breach."""
    return [Breach(metric, values[metric], limits[metric]) for metric in interface.BIAS_METRICS
            if metric in limits and metric in values and values[metric] > limits[metric]]


def parse_limit(text: str) -> tuple[str, float]:
    """`metric=value`, as the pipeline passes each configured limit."""
    metric, separator, value = text.partition("=")
    if not separator or metric not in interface.BIAS_METRICS:
        raise MonitoringError(f"limit {text!r} is not <metric>=<value> with a metric of "
                              f"{', '.join(interface.BIAS_METRICS)}")
    try:
        limit = float(value)
    except ValueError as error:
        raise MonitoringError(f"limit {text!r} has no number after '='") from error
    if not 0.0 <= limit <= 1.0:
        raise MonitoringError(f"limit {text!r} is not from 0 to 1")
    return metric, limit


def clarify_facets(facet: str, measure: BiasMeasure, names: dict[str, str]) -> dict[str, Any]:
    """The per-group values in the layout of Clarify's analysis report (`facets.<facet>[].metrics[]`), which the
    model registry and Studio show: `names` maps each per-group field shown to the metric it explains."""
    return {facet: [{"value_or_threshold": group, "metrics": [
        {"name": field, "description": DESCRIPTIONS.get(metric, metric), "value": values[field]}
        for field, metric in names.items() if field in values]} for group, values in measure.groups.items()]}
