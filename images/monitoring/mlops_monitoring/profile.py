"""`baseline`: what the training features look like, as `baseline.json`.

Per feature: its type and what drift is measured against. A numeric feature keeps the cut points of its deciles
and the share of training rows in each bin (for the population stability index) and a reference sample (for the
Kolmogorov-Smirnov test); a categorical one (text, or a number with few distinct values such as a one-hot column)
keeps the share of each category. Missing values are counted apart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from mlops_monitoring.errors import MonitoringError
from mlops_monitoring.interface import BASELINE_FILE, SCHEMA_FILE, SCHEMA_VERSION

NUMERIC_BINS = 10
MAX_DISTINCT_NUMBERS_AS_CATEGORIES = 10
"""A numeric column with at most this many distinct values (a flag, a one-hot column) is compared as categories."""
REFERENCE_SAMPLE_SIZE = 1000
SAMPLE_SEED = 0
MISSING = "__missing__"
NUMERIC = "numeric"
CATEGORICAL = "categorical"


def read_training_features(data_dir: Path, schema_dir: Path | None) -> pd.DataFrame:
    """The preprocess step's `baseline` output (headerless CSV, the served column order), named by its `schema`
    output's `features.json` when there is one."""
    files = sorted(data_dir.rglob("*.csv"))
    if not files:
        raise MonitoringError(f"no *.csv file under {data_dir}")
    try:
        frame = pd.concat([pd.read_csv(path, header=None, dtype=str, keep_default_na=False) for path in files],
                          ignore_index=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise MonitoringError(f"the training data under {data_dir} is not CSV: {error}") from error
    frame.columns = feature_names(schema_dir, frame.shape[1])
    return frame.replace("", np.nan)


def feature_names(schema_dir: Path | None, column_count: int) -> list[str]:
    schema = schema_dir / SCHEMA_FILE if schema_dir is not None else None
    if schema is None or not schema.is_file():
        return [f"feature_{index}" for index in range(column_count)]
    try:
        names = json.loads(schema.read_text(encoding="utf-8"))["features"]
    except (ValueError, KeyError, TypeError) as error:
        raise MonitoringError(f"{schema} is not {{\"features\": [names...]}}: {error}") from error
    if not isinstance(names, list) or len(names) != column_count or len(set(map(str, names))) != column_count:
        raise MonitoringError(f"{schema} names {len(names) if isinstance(names, list) else 'no'} distinct "
                              f"features; the training data has {column_count} columns")
    return [str(name) for name in names]


def as_numbers(column: pd.Series) -> pd.Series | None:
    """The column as floats, or None when some present value is not a number."""
    numbers = pd.to_numeric(column, errors="coerce")
    return numbers.astype(float) if numbers.notna().sum() == column.notna().sum() else None


def category_key(value: Any) -> str:
    """The same key for a category in training and in served traffic (`1`, `1.0` and ` 1` are one category)."""
    if isinstance(value, float) and np.isnan(value):
        return MISSING
    text = str(value).strip()
    try:
        return format(float(text), "g")
    except ValueError:
        return text


def profile_feature(name: str, column: pd.Series) -> dict[str, Any]:
    missing_share = float(column.isna().mean())
    numbers = as_numbers(column)
    present = numbers.dropna() if numbers is not None else None
    if present is not None and present.nunique() > MAX_DISTINCT_NUMBERS_AS_CATEGORIES:
        return _numeric_profile(name, present.to_numpy(), missing_share)
    keys = column.dropna().map(category_key)
    if keys.empty:
        raise MonitoringError(f"feature {name!r} has no value in the training data")
    frequencies = keys.value_counts(normalize=True).sort_index()
    return {"name": name, "type": CATEGORICAL, "missingShare": missing_share,
            "frequencies": {str(key): float(share) for key, share in frequencies.items()}}


def _numeric_profile(name: str, values: np.ndarray, missing_share: float) -> dict[str, Any]:
    cut_points = np.unique(np.quantile(values, np.linspace(0, 1, NUMERIC_BINS + 1))[1:-1])
    counts = np.bincount(np.searchsorted(cut_points, values, side="left"), minlength=len(cut_points) + 1)
    rng = np.random.default_rng(SAMPLE_SEED)
    sample = values if len(values) <= REFERENCE_SAMPLE_SIZE else rng.choice(values, REFERENCE_SAMPLE_SIZE,
                                                                              replace=False)
    return {"name": name, "type": NUMERIC, "missingShare": missing_share,
            "cutPoints": cut_points.tolist(), "binShares": (counts / counts.sum()).tolist(),
            "mean": float(values.mean()), "std": float(values.std()), "min": float(values.min()),
            "max": float(values.max()), "referenceSample": np.sort(sample).tolist()}


def build_baseline(frame: pd.DataFrame) -> dict[str, Any]:
    if frame.empty:
        raise MonitoringError("the training data has no rows")
    return {"schemaVersion": SCHEMA_VERSION, "rowCount": len(frame),
            "features": [profile_feature(str(name), frame[name]) for name in frame.columns]}


def write_baseline(baseline: dict[str, Any], output_dir: Path) -> Path:
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / BASELINE_FILE
    path.write_text(json.dumps(baseline, indent=1, sort_keys=True), encoding="utf-8")
    return path


def load_baseline(text: str, source: str) -> dict[str, Any]:
    """A `baseline.json` of this engine's schema version, or a MonitoringError saying why it is not one."""
    try:
        baseline = json.loads(text)
    except ValueError as error:
        raise MonitoringError(f"{source} is not JSON: {error}") from error
    if not isinstance(baseline, dict) or baseline.get("schemaVersion") != SCHEMA_VERSION:
        found = baseline.get("schemaVersion") if isinstance(baseline, dict) else None
        raise MonitoringError(f"{source} is not an open-engine baseline of schema version {SCHEMA_VERSION} "
                              f"(found {found!r})")
    if not isinstance(baseline.get("features"), list) or not baseline["features"]:
        raise MonitoringError(f"{source} lists no feature")
    return baseline
