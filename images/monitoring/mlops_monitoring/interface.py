"""What the monitoring image's entry point reads and writes: container paths, file names, metric names.

Dependency-free, so the Pulumi program (`mlops_platform.monitoring_image`) builds the processing jobs from the
same values the image uses, without importing numpy or scipy.
"""

from __future__ import annotations

SCHEMA_VERSION = 1
"""The version of `baseline.json`'s layout; `check` refuses a baseline of another version."""

PROCESSING_BASE = "/opt/ml/processing"
BASELINE_DATA_DIR = f"{PROCESSING_BASE}/input/baseline-data"
"""The training features (the preprocess step's `baseline` output: headerless CSV, the served column order)."""
BASELINE_SCHEMA_DIR = f"{PROCESSING_BASE}/input/schema"
"""The preprocess step's `schema` output: `features.json`, the feature names in column order."""
BASELINE_OUTPUT_DIR = f"{PROCESSING_BASE}/output/baseline"
CAPTURE_INPUT_DIR = f"{PROCESSING_BASE}/input/capture"
"""SageMaker data-capture files (JSON Lines), searched recursively."""
REPORT_OUTPUT_DIR = f"{PROCESSING_BASE}/output/report"

BASELINE_FILE = "baseline.json"
SCHEMA_FILE = "features.json"
REPORT_FILE = "drift-report.json"

MIN_CAPTURED_RECORDS = 100
"""Fewer captured requests than this give no drift verdict."""

METRIC_FEATURE_DRIFT = "FeatureDrift"
"""Per feature (dimensions UseCase, Feature): 1 when the feature drifted, else 0."""
METRIC_FEATURE_SCORE = "FeatureDriftScore"
"""Per feature (dimensions UseCase, Feature): the population stability index of the feature."""
METRIC_DRIFT_SHARE = "DriftShare"
"""Per use case (dimension UseCase): the share of features that drifted."""
METRIC_DRIFT_DETECTED = "DriftDetected"
"""Per use case (dimension UseCase): 1 when the share reached the threshold, else 0."""
DIMENSION_USE_CASE = "UseCase"
DIMENSION_FEATURE = "Feature"

COMMAND_BASELINE = "baseline"
COMMAND_CHECK = "check"
COMMAND_BIAS_BASELINE = "bias-baseline"

# Bias and explainability (`features.clarify`): `bias-baseline` in the retraining pipeline, the bias part of
# `check` on live traffic.
CLASS_IMBALANCE = "class_imbalance"
"""Pre-training, train split: the largest |(n_rest - n_group) / (n_rest + n_group)| over the facet's groups."""
DIFFERENCE_IN_POSITIVE_PROPORTIONS = "difference_in_positive_proportions"
"""Pre-training, train split: the largest minus the smallest share of positive labels across the facet's groups."""
STATISTICAL_PARITY_DIFFERENCE = "statistical_parity_difference"
"""Post-training: the largest minus the smallest share of positive predictions across the groups (Fairlearn's
demographic parity difference); needs no label, so the live check always computes it."""
EQUALIZED_ODDS_DIFFERENCE = "equalized_odds_difference"
"""Post-training: the larger of the true- and false-positive rate differences across the groups (Fairlearn's);
live, only over the captured requests whose ground-truth label joined."""
PRE_TRAINING_METRICS = (CLASS_IMBALANCE, DIFFERENCE_IN_POSITIVE_PROPORTIONS)
POST_TRAINING_METRICS = (STATISTICAL_PARITY_DIFFERENCE, EQUALIZED_ODDS_DIFFERENCE)
BIAS_METRICS = (*PRE_TRAINING_METRICS, *POST_TRAINING_METRICS)
LIVE_METRICS = POST_TRAINING_METRICS
"""What the live check can measure: a served request has a prediction, and a label only once ground truth joins."""
DECISION_THRESHOLD = 0.5
"""A predicted probability at or above it is a positive prediction (as the evaluate step scores labels)."""

BIAS_TRAIN_DIR = f"{PROCESSING_BASE}/input/train"
BIAS_TEST_DIR = f"{PROCESSING_BASE}/input/test"
"""The preprocess step's headerless splits, target first, then the features in the schema's order."""
BIAS_MODEL_DIR = f"{PROCESSING_BASE}/input/model"
"""The training job's `model.tar.gz` (holding `xgboost-model`)."""
BIAS_OUTPUT_DIR = f"{PROCESSING_BASE}/output/bias"
PRE_TRAINING_BIAS_FILE = "pre-training-bias.json"
POST_TRAINING_BIAS_FILE = "post-training-bias.json"
EXPLAINABILITY_FILE = "explainability.json"
BIAS_GATE_FILE = "bias-gate.json"
"""Read by the retraining pipeline's condition: `{"breachedCount": n, "breached": "metric=value>limit, ...", ...}`."""

METRIC_BIAS = "Bias"
"""Per use case and bias metric (dimensions UseCase, Metric): the live value."""
METRIC_BIAS_DETECTED = "BiasDetected"
"""Per use case (dimension UseCase): 1 when a live bias metric exceeded its limit, else 0."""
DIMENSION_METRIC = "Metric"
