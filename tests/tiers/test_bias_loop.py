"""Bias → retraining in the shipped large stacks (`features.clarify` on, churn's fairness from Pulumi.yaml): the ops
retraining pipeline gates registration on the bias step, the drift check carries the facet, limits and ground
truth to the image, its role reads that ground truth, and a bias breach event — made by the image's own code —
starts retraining through the drift rule (the same single-flight, cooldown decision), distinguishable as `bias`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from moto.events.models import EventPattern

from mlops_monitoring.check import CheckOutcome
from mlops_monitoring.fairness import Breach
from mlops_monitoring.live_bias import LiveBias
from mlops_platform import monitoring_image, naming
from mlops_platform.offline.size_capture import CapturedSize
from tests.tiers.test_drift_loop import drift_event, drift_step, one, settings_of, statements


def use_case_fairness(captured: CapturedSize) -> Any:
    ops = next(cfg for cfg in captured.configs if cfg.stack.name == "ops")
    return next(u for u in ops.use_cases if u.name == "churn").fairness


def test_the_large_ops_retraining_pipeline_gates_registration_on_bias(
        shipped_capture: Callable[[str], CapturedSize]) -> None:
    captured = shipped_capture("large")
    fairness = use_case_fairness(captured)
    assert fairness is not None and fairness.facet == "gender"
    pipeline = one(captured, "aws:sagemaker/pipeline:Pipeline", "ops-churn-retraining")
    definition = json.loads(pipeline.inputs["pipelineDefinition"])
    bias = next(s for s in definition["Steps"] if s["Name"] == "bias-explainability")
    assert bias["Arguments"]["AppSpecification"]["ContainerArguments"] == monitoring_image.bias_baseline_arguments(
        fairness)
    [check_metric] = [s for s in definition["Steps"] if s["Name"] == "check-metric"]
    assert [s["Name"] for s in check_metric["Arguments"]["IfSteps"]] == ["drift-baseline", "check-bias"]


def test_the_drift_check_hands_the_image_the_facet_limits_and_ground_truth(
        shipped_capture: Callable[[str], CapturedSize]) -> None:
    captured = shipped_capture("large")
    fairness = use_case_fairness(captured)
    settings = settings_of(drift_step(captured))
    assert settings.bias is not None
    assert settings.bias.facet == fairness.facet
    assert settings.bias.limits == dict(fairness.limits)
    assert settings.bias.ground_truth_uri == fairness.ground_truth
    policy = statements(one(captured, "aws:iam/rolePolicy:RolePolicy", "ops-churn-drift-execution").inputs["policy"])
    read = policy["ReadGroundTruth"]
    assert read["Action"] in ("s3:GetObject", ["s3:GetObject"])
    prefix = fairness.ground_truth.removeprefix("s3://").rstrip("/")
    assert read["Resource"] in ([naming.objects_arn("aws", prefix)], naming.objects_arn("aws", prefix))


def bias_outcome(biased: bool, retrain: bool) -> dict[str, Any]:
    breached = [Breach("statistical_parity_difference", 0.31, 0.1)] if biased else []
    return {"drifted": False, "retrain": retrain, "drift_share": 0.0,
            "bias": LiveBias("test", values={"statistical_parity_difference": 0.31 if biased else 0.02},
                             breached=breached)}


def test_a_bias_breach_starts_retraining_through_the_drift_rule(
        shipped_capture: Callable[[str], CapturedSize]) -> None:
    captured = shipped_capture("large")
    settings = settings_of(drift_step(captured))
    rule = one(captured, "aws:cloudwatch/eventRule:EventRule", "ops-churn-retrain-on-drift")
    pattern = EventPattern.load(rule.inputs["eventPattern"])
    breach = drift_event(settings, **bias_outcome(biased=True, retrain=True))
    assert breach["detail"]["triggers"] == ["bias"] and breach["detail"]["bias"]["biased"] is True
    assert pattern.matches_event(breach)
    assert not pattern.matches_event(drift_event(settings, **bias_outcome(biased=True, retrain=False))), (
        "biased during a cooldown or with a retraining in flight: the check said no")
    fair = drift_event(settings, **bias_outcome(biased=False, retrain=False))
    assert fair["detail"]["triggers"] == [] and not pattern.matches_event(fair)


def test_the_event_says_which_of_drift_and_bias_asked() -> None:
    both = CheckOutcome("test", drifted=True, retrain=True, bias=LiveBias(
        "test", breached=[Breach("equalized_odds_difference", 0.4, 0.1)]))
    assert both.triggers == ["drift", "bias"]
    assert CheckOutcome("test", drifted=True).triggers == ["drift"]
