"""`useCases[].fairness` and `features.clarify`: what bias means per use case, and where the flag can be hosted."""

from __future__ import annotations

from typing import Any

import pytest

from mlops_platform.config import FAIRNESS_METRICS, Fairness, PlatformConfig
from tests.test_config import assert_error, config_error, parse, valid_raw

FAIR = {"facet": "gender", "limits": {"statistical_parity_difference": 0.1, "equalized_odds_difference": 0.15}}
CLARIFY = {"clarify": True, "modelMonitor": True}


def with_fairness(fairness: Any, features: dict[str, bool] | None = None, **overrides: Any) -> dict[str, Any]:
    return valid_raw("large", useCases=[{"name": "churn", "fairness": fairness}],
                     features=CLARIFY if features is None else features, **overrides)


def parsed(raw: dict[str, Any]) -> PlatformConfig:
    return parse(raw, "ops")


def test_a_fairness_block_is_parsed_in_config_order() -> None:
    cfg = parsed(with_fairness({**FAIR, "groundTruth": "s3://data-lake-curated/ground-truth/churn/"}))
    assert cfg.features.clarify is True
    assert cfg.use_cases[0].fairness == Fairness(
        facet="gender", limits=(("statistical_parity_difference", 0.1), ("equalized_odds_difference", 0.15)),
        ground_truth="s3://data-lake-curated/ground-truth/churn/")
    assert cfg.use_cases[0].fairness.limit("equalized_odds_difference") == 0.15
    assert cfg.use_cases[0].fairness.limit("class_imbalance") is None


def test_the_metrics_are_the_engines() -> None:
    assert FAIRNESS_METRICS == ("class_imbalance", "difference_in_positive_proportions",
                                "statistical_parity_difference", "equalized_odds_difference")


@pytest.mark.parametrize(("fairness", "key", "fragment"), [
    ("gender", "useCases[0].fairness", "a map with: facet, limits, groundTruth"),
    ({"limits": FAIR["limits"]}, "useCases[0].fairness.facet", "required: the training data's column"),
    ({"facet": "a,b", "limits": FAIR["limits"]}, "useCases[0].fairness.facet", "required: the training data's column"),
    ({"facet": "gender"}, "useCases[0].fairness.limits", "required: a map of metric to its largest allowed value"),
    ({"facet": "gender", "limits": {}}, "useCases[0].fairness.limits", "metrics from: class_imbalance"),
    ({"facet": "gender", "limits": {"disparate_impact": 0.8}}, "useCases[0].fairness.limits.disparate_impact",
     "unknown metric"),
    ({"facet": "gender", "limits": {"class_imbalance": 1.5}}, "useCases[0].fairness.limits.class_imbalance",
     "a number from 0 to 1"),
    ({"facet": "gender", "limits": {"class_imbalance": "low"}}, "useCases[0].fairness.limits.class_imbalance",
     "a number from 0 to 1"),
    ({**FAIR, "groundTruth": "https://bucket/labels"}, "useCases[0].fairness.groundTruth", "an s3://bucket/prefix/"),
    ({**FAIR, "labels": "s3://x/y"}, "useCases[0].fairness.labels", "unknown field"),
])
def test_a_bad_fairness_block_is_one_error_naming_the_key(fairness: Any, key: str, fragment: str) -> None:
    assert_error(config_error(with_fairness(fairness), "ops"), key, fragment)


def test_clarify_needs_a_use_case_with_fairness() -> None:
    raw = valid_raw("large", useCases=["churn"], features=CLARIFY)
    assert_error(config_error(raw, "ops"), "features.clarify", "needs at least one use case with a fairness block")


def test_a_fairness_block_is_validated_but_inert_without_clarify() -> None:
    """As drift thresholds are without drift monitoring: the project-level use case declares it once, and only
    the stacks that switch clarify on measure it."""
    cfg = parsed(with_fairness(FAIR, features={}))
    assert cfg.features.clarify is False and cfg.use_cases[0].fairness is None, "nothing downstream measures it"
    assert_error(config_error(with_fairness({"facet": "gender"}, features={}), "ops"), "useCases[0].fairness.limits",
                 "required")


@pytest.mark.parametrize("size", ["small", "medium", "large"])
def test_clarify_needs_the_drift_check_that_hosts_the_live_bias_check(size: str) -> None:
    """A size whose tiers run no drift check (modelMonitor off: no capture replicated, no check) cannot host the
    live bias check: the flag is refused there, in every size."""
    stack = "ops" if size == "large" else "dev"
    raw = valid_raw(size, useCases=[{"name": "churn", "fairness": FAIR}],
                    features={"clarify": True, "modelMonitor": False})
    assert_error(config_error(raw, stack), "features.clarify", "set features.modelMonitor: true too")
    hosted = valid_raw(size, useCases=[{"name": "churn", "fairness": FAIR}], features=CLARIFY)
    assert parse(hosted, stack).features.clarify is True


def test_clarify_with_the_sagemaker_engine_is_refused() -> None:
    err = config_error(with_fairness(FAIR, monitoring={"engine": "sagemaker"}), "ops")
    assert_error(err, "monitoring.engine", "features.clarify runs in the platform's open engine only")
    assert "Clarify's managed jobs are closed to new AWS customers" in err.allowed
