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
