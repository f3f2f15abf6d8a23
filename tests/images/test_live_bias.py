"""The live bias check: `check` with the facet and limits the platform passes (`features.clarify`), through the
monitoring image's entry point against moto, over captured traffic whose predictions are fair or biased across the
facet, with and without ground-truth labels joined by event id. A breach asks for retraining through the drift
decision (single flight, cooldown) and event; the report and event say `bias`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlops_monitoring import bias as bias_engine
from mlops_monitoring import fairness
from mlops_platform import monitoring_image
from mlops_platform.config import Fairness, UseCase
from mlops_platform.placement import Placement
from tests.images.test_drift_engine import (  # noqa: F401  (fixtures)
    ACCOUNT,
    BASELINE_KEY,
    BUCKET,
    REGION,
    Run,
    World,
    _relocated,
    baseline_file,
    entry_point,
    features,
    register,
    retraining_started,
    run_check,
    world,
)

BIAS_KEY = "churn/retraining/exec-1/bias/bias/post-training-bias.json"
FAIRNESS = Fairness(facet="plan", limits=(("statistical_parity_difference", 0.1),
                                          ("equalized_odds_difference", 0.1)),
                    ground_truth=f"s3://{BUCKET}/ground-truth/churn/")
USE_CASE = UseCase(name="churn", drift_threshold=0.3, retraining_cooldown_hours=24, fairness=FAIRNESS)
NAMES = ["age", "income", "tenure", "plan_basic", "plan_premium"]


def post_training_baseline() -> dict[str, Any]:
    """The report `bias-baseline` registers, from the engine's own functions over a fair test split."""
    rng = np.random.default_rng(0)
    groups = fairness.facet_groups(_frame(features(400, seed=20)), "plan")
    labels = rng.integers(0, 2, 400)
    measure = fairness.post_training(labels, labels, groups)
    return bias_engine.post_training_report("label", "plan", measure, NAMES, 400)


def _frame(rows: np.ndarray) -> Any:
    import pandas as pd  # type: ignore[import-untyped]

    return pd.DataFrame(rows, columns=NAMES)


@pytest.fixture
def registered(world: World) -> World:  # noqa: F811  (the fixture)
    """An Approved package with the drift baseline and, in its ModelMetrics, the post-training bias report, as the
    retraining pipeline registers them."""
    world.s3.put_object(Bucket=BUCKET, Key=BIAS_KEY, Body=json.dumps(post_training_baseline()).encode())
    world.sagemaker.create_model_package(
        ModelPackageGroupName="churn", ModelApprovalStatus="Approved",
        InferenceSpecification={"Containers": [{"Image": "111.dkr.ecr.eu-west-1.amazonaws.com/x:1"}],
                                "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
        DriftCheckBaselines={"ModelDataQuality": {"Statistics": {
            "ContentType": "application/json", "S3Uri": f"s3://{BUCKET}/{BASELINE_KEY}"}}},
        ModelMetrics={"Bias": {"PostTrainingReport": {"ContentType": "application/json",
                                                      "S3Uri": f"s3://{BUCKET}/{BIAS_KEY}"}}})
    return world


def captured(root: Path, rows: np.ndarray, probabilities: np.ndarray) -> Path:
    """Single-row CSV requests with the model's probability as the captured output, each with its event id."""
    capture = root / "capture" / "churn" / "prod" / "AllTraffic" / "2026" / "12" / "01" / "10"
    capture.mkdir(parents=True)
    lines = []
    for index, (row, probability) in enumerate(zip(rows, probabilities, strict=True)):
        record = {"captureData": {
            "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "encoding": "CSV",
                              "data": ",".join(f"{value:.6f}" for value in row)},
            "endpointOutput": {"observedContentType": "text/csv", "mode": "OUTPUT", "encoding": "CSV",
                               "data": f"{probability:.4f}"}},
            "eventMetadata": {"eventId": f"event-{index}", "inferenceTime": "2026-12-01T10:00:00Z"},
            "eventVersion": "0"}
        lines.append(json.dumps(record))
    (capture / "capture-1.jsonl").write_text("\n".join(lines) + "\n")
    return root / "capture"


def ground_truth(checked: World, labels: np.ndarray) -> None:
    """Ground-truth records under the configured prefix, split over two objects (and one object that is not)."""
    lines = [json.dumps({"groundTruthData": {"data": str(int(label)), "encoding": "CSV"},
                         "eventMetadata": {"eventId": f"event-{index}"}, "eventVersion": "0"})
             for index, label in enumerate(labels)]
    half = len(lines) // 2
    for key, part in (("2026/12/01/a.jsonl", [*lines[:half], "not json"]), ("2026/12/02/b.jsonl", lines[half:]),
                      ("2026/12/02/_manifest.json", ["{}"])):
        checked.s3.put_object(Bucket=BUCKET, Key=f"ground-truth/churn/{key}", Body="\n".join(part).encode())


def premium(rows: np.ndarray) -> np.ndarray:
    return np.asarray(rows[:, 4] == 1.0)


def run_bias_check(checked: World, capture_dir: Path, capsys: pytest.CaptureFixture[str]) -> Run:
    """The drift engine's `check` run (tests/images/test_drift_engine.py) for the use case with a facet; it must
    report and put its one event."""
    run = run_check(checked, capture_dir, capsys, use_case=USE_CASE)
    assert run.report and run.event is not None, run.stderr
    return run


def test_the_check_arguments_carry_the_facet_limits_and_ground_truth() -> None:
    arguments = monitoring_image.check_arguments(USE_CASE, Placement("ops", ACCOUNT, REGION), ACCOUNT, "s3://r")
    tail = arguments[arguments.index("--facet"):]
    assert tail == ["--facet", "plan", "--limit", "statistical_parity_difference=0.1", "--limit",
                    "equalized_odds_difference=0.1", "--ground-truth-uri", FAIRNESS.ground_truth]
    without = monitoring_image.check_arguments(UseCase(name="churn"), Placement("ops", ACCOUNT, REGION), ACCOUNT,
                                               "s3://r")
    assert "--facet" not in without


def test_fair_predictions_are_no_bias(registered: World, capsys: pytest.CaptureFixture[str]) -> None:
    rows = features(600, seed=2)
    probabilities = np.random.default_rng(1).random(600)
    run = run_bias_check(registered, captured(registered.root, rows, probabilities), capsys)
    assert run.exit_code == 0, run.stderr
    bias = run.report["bias"]
    assert bias["biased"] is False and bias["predictedRows"] == 600 and bias["labelledRows"] == 0
    assert set(bias["values"]) == {"statistical_parity_difference"}, "no labels: only what needs none"
    assert bias["values"]["statistical_parity_difference"] < 0.1
    assert run.event is not None
    assert (run.event["detail"]["retrain"], run.event["detail"]["triggers"]) == (False, [])


def test_biased_predictions_start_retraining_as_bias(registered: World, capsys: pytest.CaptureFixture[str]) -> None:
    rows = features(600, seed=3)
    probabilities = np.where(premium(rows), 0.9, 0.2)
    run = run_bias_check(registered, captured(registered.root, rows, probabilities), capsys)
    assert run.exit_code == 0, run.stderr
    assert run.event is not None
    detail = run.event["detail"]
    assert (detail["drifted"], detail["retrain"], detail["triggers"]) == (False, True, ["bias"])
    assert detail["bias"]["breached"][0].startswith("statistical_parity_difference=1.0000>0.1")
    assert "retraining starts (bias)" in detail["reason"]
    assert detail["bias"]["baselineValues"]["statistical_parity_difference"] < 0.2


def test_ground_truth_joined_by_event_id_measures_equalized_odds(registered: World,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Even selection rates, but the model is right for basic-plan customers and wrong for premium ones."""
    rows = features(600, seed=4)
    labels = np.random.default_rng(2).integers(0, 2, 600)
    predicted = np.where(premium(rows), 1 - labels, labels)
    ground_truth(registered, labels)
    run = run_bias_check(registered, captured(registered.root, rows, predicted * 0.8 + 0.1), capsys)
    bias = run.report["bias"]
    assert bias["labelledRows"] == 600
    assert bias["values"]["statistical_parity_difference"] < 0.1
    assert bias["values"]["equalized_odds_difference"] == pytest.approx(1.0)
    assert [entry.split("=")[0] for entry in bias["breached"]] == ["equalized_odds_difference"]
    assert run.event is not None and run.event["detail"]["retrain"] is True


def test_a_bias_breach_respects_the_cooldown(registered: World, capsys: pytest.CaptureFixture[str]) -> None:
    retraining_started(registered, hours_ago=2, status="Succeeded")
    rows = features(600, seed=5)
    run = run_bias_check(registered, captured(registered.root, rows, np.where(premium(rows), 0.9, 0.2)), capsys)
    assert run.event is not None
    detail = run.event["detail"]
    assert (detail["retrain"], detail["triggers"]) == (False, ["bias"])
    assert "within the 24 h cooldown" in detail["reason"]


def test_a_package_without_a_bias_report_gives_no_bias_verdict(world: World,  # noqa: F811  (the fixture)
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    package = register(world)
    rows = features(300, seed=6)
    run = run_bias_check(world, captured(world.root, rows, np.where(premium(rows), 0.9, 0.2)), capsys)
    assert run.exit_code == 0, run.stderr
    assert run.report["bias"]["reason"] == f"model package {package} has no ModelMetrics.Bias.PostTrainingReport"
    assert run.event is not None and run.event["detail"]["retrain"] is False

