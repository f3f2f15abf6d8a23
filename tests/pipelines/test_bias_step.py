"""The retraining pipeline with `features.clarify`: the bias and explainability step after training, registration
gated on the configured limits (a condition reading the step's gate report, a Fail step naming the breached
metrics), and the package registered with the bias and explainability reports as its ModelMetrics."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from mlops_platform import monitoring_image
from mlops_platform.config import Fairness
from mlops_platform.pipelines import definitions
from mlops_platform.pipelines.retraining import build_definition
from tests.pipelines.test_pipeline_definition import (
    ARGS,
    KMS,
    MONITORING_IMAGE,
    all_steps,
    output_ref,
    processing_input,
    referenced_steps,
    step,
)

FAIRNESS = Fairness(facet="gender", limits=(("statistical_parity_difference", 0.1),
                                            ("class_imbalance", 0.4)))
BIASED_ARGS = dataclasses.replace(ARGS, drift_baseline="open", monitoring_image_uri=MONITORING_IMAGE,
                                  bias_arguments=tuple(monitoring_image.bias_baseline_arguments(FAIRNESS)))


@pytest.fixture(scope="module")
def with_bias() -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(build_definition(BIASED_ARGS))
    return parsed


def test_the_bias_step_runs_after_training_beside_evaluate(with_bias: dict[str, Any]) -> None:
    assert [(s["Name"], s["Type"]) for s in with_bias["Steps"]] == [
        ("preprocess", "Processing"), ("train", "Training"), ("evaluate", "Processing"),
        ("bias-explainability", "Processing"), ("check-metric", "Condition")]
    assert referenced_steps(step(with_bias, "bias-explainability")["Arguments"]) == {"preprocess", "train"}


def test_the_bias_step_runs_the_images_entry_point_on_the_splits_and_the_model(with_bias: dict[str, Any]) -> None:
    arguments = step(with_bias, "bias-explainability")["Arguments"]
    app = arguments["AppSpecification"]
    assert app["ImageUri"] == MONITORING_IMAGE and "ContainerEntrypoint" not in app
    assert app["ContainerArguments"] == [
        "bias-baseline", "--train-dir", monitoring_image.BIAS_TRAIN_DIR, "--test-dir", monitoring_image.BIAS_TEST_DIR,
        "--schema-dir", monitoring_image.BASELINE_SCHEMA_DIR, "--model-dir", monitoring_image.BIAS_MODEL_DIR,
        "--output-dir", monitoring_image.BIAS_OUTPUT_DIR, "--facet", "gender",
        "--limit", "statistical_parity_difference=0.1", "--limit", "class_imbalance=0.4"]
    for name, local in (("train", monitoring_image.BIAS_TRAIN_DIR), ("test", monitoring_image.BIAS_TEST_DIR),
                        ("schema", monitoring_image.BASELINE_SCHEMA_DIR)):
        source = processing_input(arguments, name)
        assert (source["S3Uri"], source["LocalPath"]) == ({"Get": output_ref("preprocess", name)}, local)
    model = processing_input(arguments, "model")
    assert model["S3Uri"] == {"Get": "Steps.train.ModelArtifacts.S3ModelArtifacts"}
    assert model["LocalPath"] == monitoring_image.BIAS_MODEL_DIR
    [output] = arguments["ProcessingOutputConfig"]["Outputs"]
    assert (output["OutputName"], output["S3Output"]["LocalPath"]) == ("bias", monitoring_image.BIAS_OUTPUT_DIR)
    assert arguments["ProcessingOutputConfig"]["KmsKeyId"] == KMS
    assert arguments["NetworkConfig"]["EnableNetworkIsolation"] is True
    [gate] = step(with_bias, "bias-explainability")["PropertyFiles"]
    assert gate == {"PropertyFileName": "BiasGate", "OutputName": "bias", "FilePath": monitoring_image.BIAS_GATE_FILE}


def test_registration_is_gated_on_the_limits_and_a_breach_fails_naming_the_metric(
        with_bias: dict[str, Any]) -> None:
    check_metric = step(with_bias, "check-metric")["Arguments"]
    assert [(s["Name"], s["Type"]) for s in check_metric["IfSteps"]] == [
        ("drift-baseline", "Processing"), ("check-bias", "Condition")]
    check_bias = step(with_bias, "check-bias")["Arguments"]
    [condition] = check_bias["Conditions"]
    assert condition["Type"] == "Equals" and condition["RightValue"] == 0
    assert condition["LeftValue"] == {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.bias-explainability."
                                                                              "PropertyFiles.BiasGate"},
                                                      "Path": "breachedCount"}}
    assert [s["Name"] for s in check_bias["IfSteps"]] == ["register-RegisterModel"]
    [fail] = check_bias["ElseSteps"]
    assert (fail["Name"], fail["Type"]) == ("bias-above-limits", "Fail")
    message = fail["Arguments"]["ErrorMessage"]["Std:Join"]["Values"]
    assert message[0].startswith("Model not registered: bias above its configured limit")
    assert message[1]["Std:JsonGet"]["Path"] == "breached"


def test_the_package_is_registered_with_its_bias_and_explainability_reports(with_bias: dict[str, Any]) -> None:
    register = step(with_bias, "register-RegisterModel")["Arguments"]
    metrics = register["ModelMetrics"]

    def report(name: str) -> dict[str, Any]:
        return {"ContentType": "application/json", "S3Uri": {"Std:Join": {"On": "/", "Values": [
            {"Get": output_ref("bias-explainability", "bias")}, name]}}}

    assert metrics["Bias"] == {"PreTrainingReport": report(monitoring_image.PRE_TRAINING_BIAS_FILE),
                               "PostTrainingReport": report(monitoring_image.POST_TRAINING_BIAS_FILE)}
    assert metrics["Explainability"] == {"Report": report(monitoring_image.EXPLAINABILITY_FILE)}
    assert metrics["ModelQuality"]["Statistics"]["S3Uri"]["Std:Join"]["Values"][1] == "evaluation.json"
    assert "Statistics" in metrics["ModelDataQuality"], "the drift baseline is kept"
    assert "DriftCheckBaselines" in register


def test_without_fairness_there_is_no_bias_step() -> None:
    plain = json.loads(build_definition(dataclasses.replace(BIASED_ARGS, bias_arguments=None)))
    assert not {"bias-explainability", "check-bias", "bias-above-limits"} & set(all_steps(plain))
    assert not step(plain, "register-RegisterModel")["Arguments"]["ModelMetrics"]["Bias"]


def test_the_bias_step_needs_the_monitoring_image() -> None:
    with pytest.raises(ValueError, match="bias_arguments run in the monitoring image"):
        build_definition(dataclasses.replace(ARGS, bias_arguments=("bias-baseline",)))


def test_the_definition_cache_key_covers_the_facet_and_limits() -> None:
    other = Fairness(facet="gender", limits=(("statistical_parity_difference", 0.2),))
    keys = {definitions.cache_key(args) for args in (
        ARGS, BIASED_ARGS, dataclasses.replace(BIASED_ARGS, bias_arguments=tuple(
            monitoring_image.bias_baseline_arguments(other))))}
    assert len(keys) == 3
