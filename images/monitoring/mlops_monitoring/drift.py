"""`check`'s arithmetic: per feature, how far the served values moved from the baseline.

The verdict per feature is its population stability index (PSI) over the baseline's bins (numeric: the training
deciles; categorical: the training categories plus one bin for categories never seen in training):
PSI = sum((served - expected) * ln(served / expected)), shares floored at `SHARE_FLOOR`. A feature drifted when
its PSI is at least `PSI_DRIFTED` (0.2, the usual "significant shift" mark). The two-sample Kolmogorov-Smirnov
test (numeric, against the baseline's reference sample) and Pearson's chi-square test (categorical) are reported
alongside, from scipy; with thousands of served rows their p-values flag even negligible shifts, so they inform
and PSI decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
from scipy import stats  # type: ignore[import-untyped]

from mlops_monitoring.errors import MonitoringError
from mlops_monitoring.profile import CATEGORICAL, NUMERIC, category_key

PSI_DRIFTED = 0.2
SHARE_FLOOR = 1e-4
UNSEEN_CATEGORY = "__unseen__"


@dataclass(frozen=True)
class FeatureDrift:
    name: str
    kind: str
    psi: float
    test: str
    statistic: float
    p_value: float
    served_values: int
    missing_share: float
    drifted: bool

    def as_report(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.kind, "psi": self.psi, "test": self.test,
                "statistic": self.statistic, "pValue": self.p_value, "servedValues": self.served_values,
                "missingShare": self.missing_share, "drifted": self.drifted}


def population_stability_index(expected: np.ndarray, served: np.ndarray) -> float:
    expected = np.clip(expected, SHARE_FLOOR, None)
    served = np.clip(served, SHARE_FLOOR, None)
    return float(np.sum((served - expected) * np.log(served / expected)))


def feature_drift(feature: dict[str, Any], served: pd.Series) -> FeatureDrift:
    missing_share = float(served.isna().mean()) if len(served) else 0.0
    present = served.dropna()
    if feature["type"] == NUMERIC:
        return _numeric_drift(feature, present, missing_share)
    if feature["type"] == CATEGORICAL:
        return _categorical_drift(feature, present, missing_share)
    raise MonitoringError(f"baseline feature {feature.get('name')!r} has unknown type {feature.get('type')!r}")


def _numeric_drift(feature: dict[str, Any], present: pd.Series, missing_share: float) -> FeatureDrift:
    values = pd.to_numeric(present, errors="coerce").dropna().astype(float).to_numpy()
    expected = np.asarray(feature["binShares"], dtype=float)
    if values.size == 0:
        return _nothing_served(feature["name"], NUMERIC, expected, missing_share)
    cut_points = np.asarray(feature["cutPoints"], dtype=float)
    counts = np.bincount(np.searchsorted(cut_points, values, side="left"), minlength=len(cut_points) + 1)
    psi = population_stability_index(expected, counts / counts.sum())
    test = stats.ks_2samp(np.asarray(feature["referenceSample"], dtype=float), values)
    return FeatureDrift(feature["name"], NUMERIC, psi, "ks", float(test.statistic), float(test.pvalue),
                        int(values.size), missing_share, psi >= PSI_DRIFTED)


def _categorical_drift(feature: dict[str, Any], present: pd.Series, missing_share: float) -> FeatureDrift:
    categories = [*feature["frequencies"], UNSEEN_CATEGORY]
    keys = present.map(category_key)
    keys = keys.where(keys.isin(feature["frequencies"]), UNSEEN_CATEGORY)
    counts = keys.value_counts().reindex(categories, fill_value=0).to_numpy(dtype=float)
    total = counts.sum()
    expected = np.asarray([*feature["frequencies"].values(), 0.0], dtype=float)
    if total == 0:
        return _nothing_served(feature["name"], CATEGORICAL, expected, missing_share)
    psi = population_stability_index(expected, counts / total)
    smoothed = np.clip(expected, SHARE_FLOOR, None)
    test = stats.chisquare(counts, smoothed / smoothed.sum() * total)
    return FeatureDrift(feature["name"], CATEGORICAL, psi, "chi2", float(test.statistic), float(test.pvalue),
                        int(total), missing_share, psi >= PSI_DRIFTED)


def _nothing_served(name: str, kind: str, expected: np.ndarray, missing_share: float) -> FeatureDrift:
    """Every served value missing (or, for a numeric feature, not a number): drifted, no test to run."""
    psi = population_stability_index(expected, np.zeros_like(expected))
    return FeatureDrift(name, kind, psi, "none", 0.0, 0.0, 0, missing_share, True)


def served_frame(rows: list[list[Any]], baseline: dict[str, Any]) -> pd.DataFrame:
    """Captured rows under the baseline's feature names; empty cells are missing values."""
    names = [feature["name"] for feature in baseline["features"]]
    frame = pd.DataFrame(rows, columns=names, dtype=object)
    return frame.replace({"": np.nan, None: np.nan})


def compare(baseline: dict[str, Any], served: pd.DataFrame) -> list[FeatureDrift]:
    return [feature_drift(feature, served[feature["name"]]) for feature in baseline["features"]]


def drifted_share(features: list[FeatureDrift]) -> float:
    return sum(feature.drifted for feature in features) / len(features)
