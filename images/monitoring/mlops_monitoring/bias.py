"""`bias-baseline`: the retraining pipeline's bias and explainability step, over the preprocess step's train and
test splits and the model the train step fitted.

Writes, into the output directory:
- `pre-training-bias.json`: class imbalance and difference in positive proportions of labels on the train split;
- `post-training-bias.json`: statistical parity and equalized odds differences of the model's predictions on the
  test split, with the facet, its groups and the feature names: the baseline the live check measures against;
- `explainability.json`: the mean absolute SHAP value of each feature over the test split, from XGBoost's own
  TreeSHAP (`Booster.predict(pred_contribs=True)`, exact for the trees the pipeline trains), features ranked;
- `bias-gate.json`: each configured limit against its metric, what the pipeline's condition reads.

The reports follow the layout of Clarify's analysis report (`pre_training_bias_metrics` /
`post_training_bias_metrics` with `facets.<facet>[].metrics[]`, `explanations`), JSON documents the model
registry accepts as `ModelMetrics.Bias` and `ModelMetrics.Explainability` sources.
"""

from __future__ import annotations

import json
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from mlops_monitoring import interface
from mlops_monitoring.errors import MonitoringError
from mlops_monitoring.fairness import (
    BiasMeasure,
    breaches,
    clarify_facets,
    facet_groups,
    post_training,
    pre_training,
    predicted_labels,
)
from mlops_monitoring.profile import feature_names

REPORT_VERSION = "1.0"
MODEL_ARCHIVE = "model.tar.gz"
MODEL_FILE = "xgboost-model"


@dataclass(frozen=True)
class Split:
    labels: np.ndarray
    features: pd.DataFrame


def read_split(split_dir: Path, schema_dir: Path | None) -> Split:
    """A preprocess split: headerless CSV, the target first, then the features (named by the schema)."""
    files = sorted(split_dir.rglob("*.csv"))
    if not files:
        raise MonitoringError(f"no *.csv file under {split_dir}")
    try:
        frame = pd.concat([pd.read_csv(path, header=None) for path in files], ignore_index=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise MonitoringError(f"the split under {split_dir} is not CSV: {error}") from error
    if frame.shape[1] < 2:
        raise MonitoringError(f"the split under {split_dir} needs a label column and a feature")
    features = frame.iloc[:, 1:].apply(pd.to_numeric, errors="coerce").astype(float)
    features.columns = feature_names(schema_dir, features.shape[1])
    labels = pd.to_numeric(frame.iloc[:, 0], errors="coerce")
    if labels.isna().any() or not set(labels.unique()) <= {0, 1}:
        raise MonitoringError(f"the labels under {split_dir} are not 0/1")
    return Split(labels.to_numpy(dtype=int), features)


def target_name(schema_dir: Path | None) -> str:
    schema = schema_dir / interface.SCHEMA_FILE if schema_dir is not None else None
    if schema is None or not schema.is_file():
        return "label"
    return str(json.loads(schema.read_text(encoding="utf-8")).get("target", "label"))


def load_booster(model_dir: Path) -> Any:
    """The booster in the training job's `model.tar.gz`."""
    import xgboost

    archive = model_dir / MODEL_ARCHIVE
    if not archive.is_file():
        raise MonitoringError(f"{archive} not found")
    with tarfile.open(archive, "r:gz") as tar, tempfile.TemporaryDirectory() as work:
        member = next((m for m in tar.getmembers() if m.isfile() and PurePosixPath(m.name).name == MODEL_FILE), None)
        source = tar.extractfile(member) if member is not None else None
        if source is None:
            raise MonitoringError(f"{archive} has no {MODEL_FILE} file")
        path = Path(work) / MODEL_FILE
        with source:
            path.write_bytes(source.read())
        booster = xgboost.Booster()
        try:
            booster.load_model(str(path))
        except xgboost.core.XGBoostError as error:
            raise MonitoringError(f"{archive}'s {MODEL_FILE} is not an XGBoost model: {error}") from error
    return booster


def predict(booster: Any, features: pd.DataFrame) -> np.ndarray:
    import xgboost

    return np.asarray(booster.predict(xgboost.DMatrix(features.to_numpy(dtype=float))), dtype=float)


def tree_shap(booster: Any, features: pd.DataFrame) -> dict[str, Any]:
    """Mean |SHAP| per feature (in log-odds, the booster's margin) and the expected value, from TreeSHAP."""
    import xgboost

    contributions = np.asarray(booster.predict(xgboost.DMatrix(features.to_numpy(dtype=float)),
                                               pred_contribs=True), dtype=float)
    importance = np.abs(contributions[:, :-1]).mean(axis=0)
    values = {str(name): float(value) for name, value in zip(features.columns, importance, strict=True)}
    return {"global_shap_values": values, "expected_value": float(contributions[:, -1].mean()),
            "ranking": sorted(values, key=lambda name: (-values[name], name))}


@dataclass(frozen=True)
class BiasBaselineInputs:
    train_dir: Path
    test_dir: Path
    schema_dir: Path | None
    model_dir: Path
    output_dir: Path
    facet: str
    limits: dict[str, float]


def run_bias_baseline(inputs: BiasBaselineInputs) -> dict[str, Any]:
    """Compute and write the four reports; returns the gate."""
    train, test = read_split(inputs.train_dir, inputs.schema_dir), read_split(inputs.test_dir, inputs.schema_dir)
    label = target_name(inputs.schema_dir)
    pre = pre_training(train.labels, facet_groups(train.features, inputs.facet))
    booster = load_booster(inputs.model_dir)
    predicted = predicted_labels(predict(booster, test.features))
    post = post_training(test.labels, predicted, facet_groups(test.features, inputs.facet))
    gate = gate_report({**pre.values, **post.values}, inputs.limits)
    reports = {
        interface.PRE_TRAINING_BIAS_FILE: pre_training_report(label, inputs.facet, pre, len(train.labels)),
        interface.POST_TRAINING_BIAS_FILE: post_training_report(label, inputs.facet, post, list(test.features.columns),
                                                                len(test.labels)),
        interface.EXPLAINABILITY_FILE: explainability_report(label, tree_shap(booster, test.features),
                                                             len(test.labels)),
        interface.BIAS_GATE_FILE: gate,
    }
    inputs.output_dir.mkdir(parents=True, exist_ok=True)
    for name, report in reports.items():
        (inputs.output_dir / name).write_text(json.dumps(report, indent=1, sort_keys=True), encoding="utf-8")
    return gate


def pre_training_report(label: str, facet: str, measure: BiasMeasure, rows: int) -> dict[str, Any]:
    return {"version": REPORT_VERSION, "dataset": "train", "rows": rows, "facet": facet,
            "summary": measure.values,
            "pre_training_bias_metrics": {"label": label, "facets": clarify_facets(facet, measure, {
                "CI": interface.CLASS_IMBALANCE, "DPL": interface.DIFFERENCE_IN_POSITIVE_PROPORTIONS})}}


def post_training_report(label: str, facet: str, measure: BiasMeasure, features: list[str],
                         rows: int) -> dict[str, Any]:
    return {"version": REPORT_VERSION, "dataset": "test", "rows": rows, "facet": facet, "features": features,
            "decisionThreshold": interface.DECISION_THRESHOLD, "groups": sorted(measure.groups),
            "summary": measure.values,
            "post_training_bias_metrics": {"label": label, "facets": clarify_facets(facet, measure, {
                "selectionRate": interface.STATISTICAL_PARITY_DIFFERENCE,
                "truePositiveRate": interface.EQUALIZED_ODDS_DIFFERENCE,
                "falsePositiveRate": interface.EQUALIZED_ODDS_DIFFERENCE})}}


def explainability_report(label: str, shap: dict[str, Any], rows: int) -> dict[str, Any]:
    return {"version": REPORT_VERSION, "dataset": "test", "rows": rows, "method": "xgboost TreeSHAP",
            "explanations": {"tree_shap": {"label": label, **shap}}}


def gate_report(values: dict[str, float], limits: dict[str, float]) -> dict[str, Any]:
    breached = breaches(values, limits)
    return {"limits": limits, "values": {metric: values[metric] for metric in limits if metric in values},
            "breachedCount": len(breached),
            "breached": ", ".join(map(str, breached)) if breached else "none"}
