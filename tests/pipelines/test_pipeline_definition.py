"""The retraining pipeline definition: its steps, wiring, parameters, guardrails, and that it builds offline."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import socket
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlops_platform import contract, monitoring_image
from mlops_platform.pipelines import _sdk, retraining, spec
from mlops_platform.pipelines.retraining import RetrainingPipelineArgs, build_definition, step_scripts
from mlops_platform.pipelines.steps import evaluate

KMS = "arn:aws:kms:eu-west-1:111111111111:key/0b1c2d3e-0000-4000-8000-000000000001"
ARGS = RetrainingPipelineArgs(
    use_case="churn",
    region="eu-west-1",
    role_arn="arn:aws:iam::111111111111:role/churn-pipeline-execution",
    artifact_bucket="mlops-dev-artifacts",
    code_prefix="s3://mlops-dev-artifacts/code/churn",
    model_package_group_name="churn-models",
    kms_key_arn=KMS,
    subnet_ids=("subnet-0aaa", "subnet-0bbb"),
    security_group_ids=("sg-0ccc",),
)
# A second configuration: another region, a custom image, another metric and threshold.
CUSTOM_IMAGE = "222222222222.dkr.ecr.us-east-1.amazonaws.com/churn-xgboost:2.1"
VARIANT = dataclasses.replace(
    ARGS,
    region="us-east-1",
    training_image_uri=CUSTOM_IMAGE,
    metric_name="f1",
    metric_threshold=0.55,
    processing_instance_type="ml.c5.xlarge",
    training_instance_type="ml.m5.2xlarge",
    drift_baseline="sagemaker",
)
# AWS's built-in XGBoost 1.7-1 image for eu-west-1 (AWS's published registry account for the region).
XGBOOST_EU_WEST_1 = "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"
TRAINING_IMAGE = {"Get": "Parameters.TrainingImage"}
"""Where the training, evaluation and registered model name their image: the pipeline's TrainingImage."""


@pytest.fixture(scope="module")
def definition_text() -> str:
    return build_definition(ARGS)


@pytest.fixture(scope="module")
def definition(definition_text: str) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(definition_text)
    return parsed


@pytest.fixture(scope="module")
def monitored() -> dict[str, Any]:
    """With `features.modelMonitor`: Model Monitor's data-quality baseline before registering."""
    parsed: dict[str, Any] = json.loads(build_definition(dataclasses.replace(ARGS, drift_baseline="sagemaker")))
    return parsed


MONITORING_IMAGE = monitoring_image.image_uri("eu-west-1", "111111111111")


@pytest.fixture(scope="module")
def open_engine() -> dict[str, Any]:
    """With `features.modelMonitor` and `monitoring.engine: open`: the platform's own drift baseline."""
    args = dataclasses.replace(ARGS, drift_baseline="open", monitoring_image_uri=MONITORING_IMAGE)
    parsed: dict[str, Any] = json.loads(build_definition(args))
    return parsed


@pytest.fixture(scope="module")
def variant() -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(build_definition(VARIANT))
    return parsed


def all_steps(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every step by name, including those nested in the condition's branches."""
    found: dict[str, dict[str, Any]] = {}
    pending = list(definition["Steps"])
    while pending:
        step = pending.pop(0)
        found[step["Name"]] = step
        pending.extend(step.get("Arguments", {}).get("IfSteps", []))
        pending.extend(step.get("Arguments", {}).get("ElseSteps", []))
    return found


def step(definition: dict[str, Any], name: str) -> dict[str, Any]:
    return all_steps(definition)[name]


def references(value: Any) -> Iterator[str]:
    """Every ``{"Get": ...}`` reference in a JSON value."""
    if isinstance(value, dict):
        if isinstance(value.get("Get"), str):
            yield value["Get"]
        for item in value.values():
            yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def referenced_steps(value: Any) -> set[str]:
    return {match.group(1) for ref in references(value) if (match := re.match(r"Steps\.([^.]+)\.", ref))}


def output_ref(step_name: str, output: str) -> str:
    return f"Steps.{step_name}.ProcessingOutputConfig.Outputs['{output}'].S3Output.S3Uri"


def processing_input(arguments: dict[str, Any], name: str) -> dict[str, Any]:
    inputs: dict[str, dict[str, Any]] = {item["InputName"]: item["S3Input"] for item in arguments["ProcessingInputs"]}
    return inputs[name]


# --- steps, order, wiring ---------------------------------------------------------------------------------------


def test_pipeline_runs_preprocess_train_evaluate_then_the_condition(definition: dict[str, Any]) -> None:
    assert [(s["Name"], s["Type"]) for s in definition["Steps"]] == [
        ("preprocess", "Processing"),
        ("train", "Training"),
        ("evaluate", "Processing"),
        ("check-metric", "Condition"),
    ]
    condition = step(definition, "check-metric")["Arguments"]
    assert [(s["Name"], s["Type"]) for s in condition["IfSteps"]] == [("register-RegisterModel", "RegisterModel")]
    assert [(s["Name"], s["Type"]) for s in condition["ElseSteps"]] == [("metric-below-threshold", "Fail")]


def test_the_default_pipeline_needs_no_model_monitor(definition: dict[str, Any]) -> None:
    """Model Monitor is closed to new AWS customers: without `features.modelMonitor` nothing runs its analyzer."""
    assert "QualityCheck" not in {s["Type"] for s in all_steps(definition).values()}
    register = step(definition, "register-RegisterModel")["Arguments"]
    assert {kind for kind, metrics in register["ModelMetrics"].items() if metrics} == {"ModelQuality"}
    assert "DriftCheckBaselines" not in register


def test_with_model_monitor_the_baseline_runs_before_registering(monitored: dict[str, Any]) -> None:
    condition = step(monitored, "check-metric")["Arguments"]
    assert [(s["Name"], s["Type"]) for s in condition["IfSteps"]] == [
        ("data-quality-baseline", "QualityCheck"),
        ("register-RegisterModel", "RegisterModel"),
    ]


def test_each_step_depends_on_the_steps_before_it_through_property_references(
        definition: dict[str, Any], monitored: dict[str, Any]) -> None:
    depends = {name: referenced_steps(s.get("Arguments", {})) for name, s in all_steps(definition).items()}
    condition_only = referenced_steps(step(definition, "check-metric")["Arguments"]["Conditions"])
    assert depends["preprocess"] == set()
    assert depends["train"] == {"preprocess"}
    assert depends["evaluate"] == {"preprocess", "train"}
    assert condition_only == {"evaluate"}
    assert depends["register-RegisterModel"] == {"train", "evaluate"}
    assert depends["metric-below-threshold"] == {"evaluate"}
    with_baseline = {name: referenced_steps(s.get("Arguments", {})) for name, s in all_steps(monitored).items()}
    assert with_baseline["data-quality-baseline"] == {"preprocess"}
    assert with_baseline["register-RegisterModel"] == {"train", "evaluate", "data-quality-baseline"}


def test_parameters_and_their_defaults(definition: dict[str, Any]) -> None:
    assert definition["Parameters"] == [
        {"Name": "InputDataUrl", "Type": "String", "DefaultValue": "s3://mlops-dev-artifacts/churn/input/"},
        {"Name": "MetricThreshold", "Type": "Float", "DefaultValue": 0.7},
        {
            "Name": "ModelApprovalStatus",
            "Type": "String",
            "DefaultValue": "PendingManualApproval",
            "EnumValues": ["PendingManualApproval", "Approved", "Rejected"],
        },
        {"Name": "TrainingImage", "Type": "String", "DefaultValue": XGBOOST_EU_WEST_1},
    ]


def test_metric_threshold_default_comes_from_the_args(variant: dict[str, Any]) -> None:
    threshold = {p["Name"]: p for p in variant["Parameters"]}["MetricThreshold"]
    assert threshold["DefaultValue"] == 0.55


def test_preprocess_reads_the_input_parameter_and_writes_the_splits(definition: dict[str, Any]) -> None:
    preprocess = step(definition, "preprocess")["Arguments"]
    assert processing_input(preprocess, "input") == {
        "LocalPath": "/opt/ml/processing/input",
        "S3CompressionType": "None",
        "S3DataDistributionType": "FullyReplicated",
        "S3DataType": "S3Prefix",
        "S3InputMode": "File",
        "S3Uri": {"Get": "Parameters.InputDataUrl"},
    }
    outputs = preprocess["ProcessingOutputConfig"]["Outputs"]
    assert [(o["OutputName"], o["S3Output"]["LocalPath"]) for o in outputs] == [
        (name, f"/opt/ml/processing/{name}") for name in ("train", "validation", "test", "baseline", "schema")
    ]
    train_destination = outputs[0]["S3Output"]["S3Uri"]["Std:Join"]
    assert train_destination["Values"] == [
        "s3://mlops-dev-artifacts/churn/retraining",
        {"Get": "Execution.PipelineExecutionId"},
        "preprocess",
        "train",
    ]
    app = preprocess["AppSpecification"]
    assert app["ImageUri"] == "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    assert app["ContainerEntrypoint"] == ["python3", "/opt/ml/processing/input/code/preprocess.py"]


def test_train_reads_the_preprocess_outputs_with_builtin_xgboost(definition: dict[str, Any]) -> None:
    train = step(definition, "train")["Arguments"]
    channels = {c["ChannelName"]: c for c in train["InputDataConfig"]}
    assert set(channels) == {"train", "validation"}
    for name, channel in channels.items():
        assert channel["ContentType"] == "text/csv"
        assert channel["DataSource"]["S3DataSource"]["S3Uri"] == {"Get": output_ref("preprocess", name)}
    assert train["AlgorithmSpecification"]["TrainingImage"] == TRAINING_IMAGE
    assert train["HyperParameters"]["objective"] == "binary:logistic"
    assert train["ResourceConfig"]["InstanceType"] == "ml.m5.large"
    assert train["ProfilerConfig"] == {"DisableProfiler": True}
    assert "DebugHookConfig" not in train


def test_evaluate_scores_the_trained_model_on_the_test_split(definition: dict[str, Any]) -> None:
    evaluate_step = step(definition, "evaluate")
    arguments = evaluate_step["Arguments"]
    assert processing_input(arguments, "model")["S3Uri"] == {"Get": "Steps.train.ModelArtifacts.S3ModelArtifacts"}
    assert processing_input(arguments, "model")["LocalPath"] == "/opt/ml/processing/model"
    assert processing_input(arguments, "test")["S3Uri"] == {"Get": output_ref("preprocess", "test")}
    assert processing_input(arguments, "test")["LocalPath"] == "/opt/ml/processing/test"
    assert arguments["AppSpecification"] == {
        "ImageUri": TRAINING_IMAGE,
        "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/evaluate.py"],
        "ContainerArguments": ["--metric-name", "auc"],
    }
    [output] = arguments["ProcessingOutputConfig"]["Outputs"]
    assert (output["OutputName"], output["S3Output"]["LocalPath"]) == ("evaluation", "/opt/ml/processing/evaluation")
    assert evaluate_step["PropertyFiles"] == [
        {"PropertyFileName": "EvaluationReport", "OutputName": "evaluation", "FilePath": "evaluation.json"}
    ]


def test_evaluate_writes_its_report_where_the_property_file_reads_it(definition: dict[str, Any]) -> None:
    # The script's output directory is the output's LocalPath, and its file name is the property file's FilePath.
    evaluate_step = step(definition, "evaluate")
    [output] = evaluate_step["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    assert evaluate.parse_args([]).output_dir == output["S3Output"]["LocalPath"]
    assert evaluate_step["PropertyFiles"][0]["FilePath"] == evaluate.REPORT_FILE
    assert evaluate.parse_args([]).model_dir == processing_input(evaluate_step["Arguments"], "model")["LocalPath"]
    assert evaluate.parse_args([]).test_dir == processing_input(evaluate_step["Arguments"], "test")["LocalPath"]


def test_condition_compares_the_report_metric_with_the_threshold_parameter(definition: dict[str, Any]) -> None:
    [condition] = step(definition, "check-metric")["Arguments"]["Conditions"]
    assert condition == {
        "Type": "GreaterThanOrEqualTo",
        "LeftValue": {
            "Std:JsonGet": {
                "PropertyFile": {"Get": "Steps.evaluate.PropertyFiles.EvaluationReport"},
                "Path": "metrics.auc.value",
            }
        },
        "RightValue": {"Get": "Parameters.MetricThreshold"},
    }
    assert retraining.metric_json_path("auc") == "metrics.auc.value"


def test_the_metric_name_selects_the_report_path_and_the_evaluate_argument(variant: dict[str, Any]) -> None:
    [condition] = step(variant, "check-metric")["Arguments"]["Conditions"]
    assert condition["LeftValue"]["Std:JsonGet"]["Path"] == "metrics.f1.value"
    arguments = step(variant, "evaluate")["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert arguments == ["--metric-name", "f1"]


def test_data_quality_baseline_is_the_first_baseline_on_the_train_features(monitored: dict[str, Any]) -> None:
    baseline = step(monitored, "data-quality-baseline")
    assert baseline["CheckType"] == "DATA_QUALITY"
    assert baseline["SkipCheck"] is True
    assert baseline["RegisterNewBaseline"] is True
    assert baseline["ModelPackageGroupName"] == "churn-models"
    arguments = baseline["Arguments"]
    dataset = processing_input(arguments, "baseline_dataset_input")
    assert dataset["S3Uri"] == {"Get": output_ref("preprocess", "baseline")}
    assert json.loads(arguments["Environment"]["dataset_format"])["csv"]["header"] is False
    assert arguments["AppSpecification"]["ImageUri"].endswith(
        ".dkr.ecr.eu-west-1.amazonaws.com/sagemaker-model-monitor-analyzer"
    )


def test_register_puts_the_model_in_its_group_pending_manual_approval(definition: dict[str, Any]) -> None:
    register = step(definition, "register-RegisterModel")["Arguments"]
    assert register["ModelPackageGroupName"] == "churn-models"
    assert register["ModelApprovalStatus"] == {"Get": "Parameters.ModelApprovalStatus"}
    approval = {p["Name"]: p for p in definition["Parameters"]}["ModelApprovalStatus"]
    assert approval["DefaultValue"] == "PendingManualApproval"
    [container] = register["InferenceSpecification"]["Containers"]
    assert container["Image"] == TRAINING_IMAGE
    assert container["ModelDataUrl"] == {"Get": "Steps.train.ModelArtifacts.S3ModelArtifacts"}
    assert register["InferenceSpecification"]["SupportedContentTypes"] == ["text/csv"]


def test_register_attaches_the_evaluation_report_and_the_baseline(monitored: dict[str, Any]) -> None:
    register = step(monitored, "register-RegisterModel")["Arguments"]
    metrics = register["ModelMetrics"]
    assert metrics["ModelQuality"]["Statistics"] == {
        "ContentType": "application/json",
        "S3Uri": {
            "Std:Join": {"On": "/", "Values": [{"Get": output_ref("evaluate", "evaluation")}, "evaluation.json"]}
        },
    }
    quality = metrics["ModelDataQuality"]
    assert quality["Statistics"]["S3Uri"] == {"Get": "Steps.data-quality-baseline.CalculatedBaselineStatistics"}
    assert quality["Constraints"]["S3Uri"] == {"Get": "Steps.data-quality-baseline.CalculatedBaselineConstraints"}
    drift = register["DriftCheckBaselines"]["ModelDataQuality"]
    assert drift["Statistics"]["S3Uri"] == {"Get": "Steps.data-quality-baseline.BaselineUsedForDriftCheckStatistics"}
    assert drift["Constraints"]["S3Uri"] == {"Get": "Steps.data-quality-baseline.BaselineUsedForDriftCheckConstraints"}


def test_fail_step_says_why_the_model_was_not_registered(definition: dict[str, Any]) -> None:
    message = step(definition, "metric-below-threshold")["Arguments"]["ErrorMessage"]["Std:Join"]
    assert message["Values"] == [
        "Model not registered: its auc on the test split,",
        {
            "Std:JsonGet": {
                "PropertyFile": {"Get": "Steps.evaluate.PropertyFiles.EvaluationReport"},
                "Path": "metrics.auc.value",
            }
        },
        "is below MetricThreshold",
        {"Get": "Parameters.MetricThreshold"},
    ]


# --- encryption and network -------------------------------------------------------------------------------------

JOB_TYPES = {"Processing", "Training", "QualityCheck"}


def test_every_job_is_encrypted_with_the_key_and_runs_isolated_in_the_vpc(monitored: dict[str, Any]) -> None:
    jobs = {name: s["Arguments"] for name, s in all_steps(monitored).items() if s["Type"] in JOB_TYPES}
    assert set(jobs) == {"preprocess", "train", "evaluate", "data-quality-baseline"}
    vpc = {"SecurityGroupIds": ["sg-0ccc"], "Subnets": ["subnet-0aaa", "subnet-0bbb"]}
    for name, job in jobs.items():
        if name == "train":
            assert job["OutputDataConfig"]["KmsKeyId"] == KMS
            assert job["ResourceConfig"]["VolumeKmsKeyId"] == KMS
            assert (job["VpcConfig"], job["EnableNetworkIsolation"]) == (vpc, True)
            assert job["EnableInterContainerTrafficEncryption"] is True
        else:
            assert job["ProcessingOutputConfig"]["KmsKeyId"] == KMS, name
            assert job["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == KMS, name
            assert job["NetworkConfig"] == {
                "EnableInterContainerTrafficEncryption": True,
                "EnableNetworkIsolation": True,
                "VpcConfig": vpc,
            }, name
        assert job["RoleArn"] == ARGS.role_arn


def test_instance_types_come_from_the_args(variant: dict[str, Any]) -> None:
    assert step(variant, "train")["Arguments"]["ResourceConfig"]["InstanceType"] == "ml.m5.2xlarge"
    for name in ("preprocess", "evaluate", "data-quality-baseline"):
        cluster = step(variant, name)["Arguments"]["ProcessingResources"]["ClusterConfig"]
        assert cluster["InstanceType"] == "ml.c5.xlarge", name


# --- images ----------------------------------------------------------------------------------------------------


def test_the_builtin_images_are_the_regions(variant: dict[str, Any]) -> None:
    preprocess_image = step(variant, "preprocess")["Arguments"]["AppSpecification"]["ImageUri"]
    assert re.fullmatch(
        r"\d{12}\.dkr\.ecr\.us-east-1\.amazonaws\.com/sagemaker-scikit-learn:1\.2-1-cpu-py3", preprocess_image
    )
    baseline_image = step(variant, "data-quality-baseline")["Arguments"]["AppSpecification"]["ImageUri"]
    assert ".dkr.ecr.us-east-1.amazonaws.com/" in baseline_image


def test_a_custom_training_image_trains_evaluates_and_serves_the_model(variant: dict[str, Any]) -> None:
    """The image is the TrainingImage parameter (its starters pass a use case's recorded image); a custom image
    given at build time is its default."""
    assert step(variant, "train")["Arguments"]["AlgorithmSpecification"]["TrainingImage"] == TRAINING_IMAGE
    assert step(variant, "evaluate")["Arguments"]["AppSpecification"]["ImageUri"] == TRAINING_IMAGE
    [container] = step(variant, "register-RegisterModel")["Arguments"]["InferenceSpecification"]["Containers"]
    assert container["Image"] == TRAINING_IMAGE
    [image] = [p for p in variant["Parameters"] if p["Name"] == "TrainingImage"]
    assert image["DefaultValue"] == CUSTOM_IMAGE
    assert "sagemaker-xgboost" not in json.dumps(variant)


# --- code and paths -------------------------------------------------------------------------------------------


def test_step_scripts_are_referenced_by_s3_uri_under_the_code_prefix(definition: dict[str, Any]) -> None:
    code_uris = {
        name: processing_input(s["Arguments"], "code")["S3Uri"]
        for name, s in all_steps(definition).items()
        if s["Type"] == "Processing"
    }
    assert code_uris == {
        "preprocess": "s3://mlops-dev-artifacts/code/churn/preprocess.py",
        "evaluate": "s3://mlops-dev-artifacts/code/churn/evaluate.py",
    }
    # features.py runs only where the use case has feature groups (tests/pipelines/test_read_features_step.py)
    assert {uri.rsplit("/", 1)[1] for uri in code_uris.values()} == set(step_scripts()) - {"features.py"}


def test_step_scripts_are_the_package_files_to_upload() -> None:
    scripts = step_scripts()
    assert set(scripts) == {"preprocess.py", "evaluate.py", "features.py"}
    for name, path in scripts.items():
        assert path.is_file() and path.name == name
        assert "def main(" in path.read_text(encoding="utf-8")


def test_the_definition_carries_no_local_path(definition: dict[str, Any], definition_text: str) -> None:
    absolute = [text for text in strings(definition) if text.startswith("/") and text != "/"]  # "/": Join separator
    assert absolute and all(text.startswith("/opt/ml/") for text in absolute), absolute
    for local in (os.getcwd(), os.path.expanduser("~"), str(spec.STEP_SCRIPTS_DIR), "file://"):
        assert local not in definition_text


def test_a_trailing_slash_on_the_code_prefix_is_ignored() -> None:
    text = build_definition(dataclasses.replace(ARGS, code_prefix="s3://mlops-dev-artifacts/code/churn/"))
    assert "s3://mlops-dev-artifacts/code/churn/preprocess.py" in text
    assert "churn//" not in text


# --- offline and deterministic -------------------------------------------------------------------------------------


@pytest.fixture
def network_attempts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Refuses every connection and name lookup, and records them: the SDK swallows errors of some calls."""
    attempts: list[str] = []

    def refuse(what: str) -> Any:
        def blocked(*args: Any, **kwargs: Any) -> Any:
            attempts.append(f"{what}{args[1:] if what.startswith('connect') else args}")
            raise OSError(f"network disabled in this test: {what}")

        return blocked

    monkeypatch.setattr(socket.socket, "connect", refuse("connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("connect_ex"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    return attempts


def test_the_definition_builds_with_no_network(network_attempts: list[str], definition_text: str) -> None:
    assert build_definition(ARGS) == definition_text
    assert network_attempts == []


# Run in a fresh interpreter: in this one, state cached by earlier builds (boto3's default session, botocore's
# credential resolvers) could hide a connection attempt.
FRESH_PROCESS_BUILD = """
import json, socket, sys
attempts = []
def refuse(what):
    def blocked(*args, **kwargs):
        attempts.append(what + repr(args[1:] if what == "connect" else args[:2]))
        raise OSError("network disabled")
    return blocked
socket.socket.connect = refuse("connect")
socket.socket.connect_ex = refuse("connect_ex")
socket.create_connection = refuse("create_connection")
socket.getaddrinfo = refuse("getaddrinfo")
from mlops_platform.pipelines.retraining import RetrainingPipelineArgs, build_definition
at_import = list(attempts)
fields = json.loads(sys.argv[1])
args = RetrainingPipelineArgs(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})
definition = build_definition(args)
print(json.dumps({"import": at_import, "build": attempts[len(at_import):], "definition": definition}))
"""


def test_a_fresh_process_builds_the_definition_with_no_network(definition_text: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS_BUILD, json.dumps(dataclasses.asdict(ARGS))],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    report = json.loads(result.stdout)
    assert report["build"] == []
    assert report["definition"] == definition_text
    # Importing sagemaker 2.x builds a JumpStart default session whose credential chain may ask the instance
    # metadata service (outside the build; offline it fails at once). Nothing else is contacted.
    assert all("169.254.169.254" in attempt for attempt in report["import"]), report["import"]
    assert result.stderr == ""


def test_the_session_uses_no_local_sdk_config_and_its_default_bucket_needs_no_s3(network_attempts: list[str]) -> None:
    # Session.default_bucket() would check the bucket in S3; no step needs it today, the override keeps it offline.
    session = retraining._OfflinePipelineSession("eu-west-1", "mlops-dev-artifacts")
    assert session.default_bucket() == "mlops-dev-artifacts"
    assert session.boto_region_name == "eu-west-1"
    assert session.sagemaker_config == {
        "SchemaVersion": "1.0",
        "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
    }
    assert network_attempts == []


def test_the_build_ignores_the_machines_aws_profile(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, definition_text: str
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "missing-config"))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-2")
    assert build_definition(ARGS) == definition_text


def test_the_same_args_give_the_same_definition(definition_text: str) -> None:
    again = build_definition(dataclasses.replace(ARGS))
    assert again == definition_text
    assert json.dumps(json.loads(again), sort_keys=True) == again


def test_different_args_give_a_different_definition(definition_text: str, variant: dict[str, Any]) -> None:
    assert json.dumps(variant, sort_keys=True) != definition_text


def test_the_pipeline_is_named_after_the_use_case() -> None:
    assert contract.pipeline_name("churn") == "churn-retraining"


# --- args validation ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"code_prefix": "/work/code/churn"}, "code_prefix '/work/code/churn' must be an s3:// URI"),
        ({"metric_name": "logloss"}, "metric_name 'logloss' is not one of auc, accuracy, f1, precision, recall"),
        ({"subnet_ids": ()}, "subnet_ids and security_group_ids must be non-empty"),
        ({"security_group_ids": ()}, "subnet_ids and security_group_ids must be non-empty"),
        ({"use_case": "churn_v2"}, "use_case 'churn_v2' must be letters, digits and hyphens"),
    ],
)
def test_invalid_args_are_one_clear_error(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        build_definition(dataclasses.replace(ARGS, **change))


def test_the_pipeline_supports_exactly_the_metrics_evaluate_reports() -> None:
    assert retraining.SUPPORTED_METRICS == evaluate.SUPPORTED_METRICS


# --- the SDK's side effects ---------------------------------------------------------------------------------------


def test_building_prints_nothing_warns_nothing_and_leaves_logging_alone(capsys: pytest.CaptureFixture[str]) -> None:
    import boto3  # type: ignore[import-untyped]

    root = logging.getLogger()
    before = (root.level, list(root.handlers))
    default_session = boto3.DEFAULT_SESSION
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build_definition(ARGS)
    assert [str(w.message) for w in caught] == []
    assert capsys.readouterr() == ("", "")
    assert (root.level, list(root.handlers)) == before
    assert boto3.DEFAULT_SESSION is default_session
    for name in _sdk._NOISY_LOGGERS:
        assert logging.getLogger(name).filters == []
    assert os.environ["SAGEMAKER_SUPPRESS_V2_WARNING"] == "1"


def test_sdk_config_is_validated_once_per_config_and_the_sdk_function_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    import sagemaker.utils as sdk_utils

    versions: list[str] = []

    def stand_in(config: dict[str, str]) -> None:
        versions.append(config["SchemaVersion"])

    def validate(config: dict[str, str]) -> None:
        """The SDK's validator as its lookups find it (sagemaker.utils imports it without re-exporting it)."""
        getattr(sdk_utils, _sdk._CONFIG_VALIDATOR)(config)

    monkeypatch.setattr(sdk_utils, "validate_sagemaker_config", stand_in)
    config = {"SchemaVersion": "1.0"}
    with _sdk.sdk_config_validated_once():
        for _ in range(3):
            validate(config)
        config["SchemaVersion"] = "2.0"  # changed since: validated again
        validate(config)
        validate(config)
    assert versions == ["1.0", "2.0"]
    assert getattr(sdk_utils, _sdk._CONFIG_VALIDATOR) is stand_in


def test_an_invalid_sdk_config_still_fails_inside_the_block() -> None:
    import jsonschema  # type: ignore[import-untyped]
    import sagemaker.utils as sdk_utils

    with _sdk.sdk_config_validated_once(), pytest.raises(jsonschema.ValidationError):
        getattr(sdk_utils, _sdk._CONFIG_VALIDATOR)({"SchemaVersion": "1.0", "SageMaker": {"NoSuchKey": True}})


# --- the open engine's drift baseline ----------------------------------------------------------------------------


def test_the_open_engine_baseline_runs_before_registering_without_model_monitor(open_engine: dict[str, Any]) -> None:
    condition = step(open_engine, "check-metric")["Arguments"]
    assert [(s["Name"], s["Type"]) for s in condition["IfSteps"]] == [
        ("drift-baseline", "Processing"),
        ("register-RegisterModel", "RegisterModel"),
    ]
    assert "QualityCheck" not in {s["Type"] for s in all_steps(open_engine).values()}
    assert not any("model-monitor" in text for text in strings(open_engine))


def test_the_open_baseline_runs_the_monitoring_images_entry_point_on_the_train_features(
        open_engine: dict[str, Any]) -> None:
    arguments = step(open_engine, "drift-baseline")["Arguments"]
    app = arguments["AppSpecification"]
    assert app["ImageUri"] == MONITORING_IMAGE
    assert "ContainerEntrypoint" not in app, "the image's own ENTRYPOINT runs"
    assert app["ContainerArguments"] == monitoring_image.baseline_arguments()
    data = processing_input(arguments, "baseline-data")
    assert data["S3Uri"] == {"Get": output_ref("preprocess", "baseline")}
    assert data["LocalPath"] == monitoring_image.BASELINE_DATA_DIR
    schema = processing_input(arguments, "schema")
    assert (schema["S3Uri"], schema["LocalPath"]) == ({"Get": output_ref("preprocess", "schema")},
                                                       monitoring_image.BASELINE_SCHEMA_DIR)
    [output] = arguments["ProcessingOutputConfig"]["Outputs"]
    assert output["S3Output"]["LocalPath"] == monitoring_image.BASELINE_OUTPUT_DIR
    assert arguments["ProcessingOutputConfig"]["KmsKeyId"] == KMS
    network = arguments["NetworkConfig"]
    assert network["EnableNetworkIsolation"] is True
    assert network["VpcConfig"]["Subnets"] == list(ARGS.subnet_ids)


def test_register_records_the_open_baseline_as_the_packages_drift_check_baseline(
        open_engine: dict[str, Any]) -> None:
    register = step(open_engine, "register-RegisterModel")["Arguments"]
    baseline_json = {"Std:Join": {"On": "/", "Values": [{"Get": output_ref("drift-baseline", "baseline")},
                                                        monitoring_image.BASELINE_FILE]}}
    drift = register["DriftCheckBaselines"]["ModelDataQuality"]
    assert drift["Statistics"] == {"ContentType": "application/json", "S3Uri": baseline_json}
    assert register["ModelMetrics"]["ModelDataQuality"]["Statistics"]["S3Uri"] == baseline_json


@pytest.mark.parametrize(("change", "problem"), [
    ({"drift_baseline": "evidently"}, "drift_baseline 'evidently' is not one of open, sagemaker"),
    ({"drift_baseline": "open"}, "monitoring_image_uri is required"),
])
def test_drift_baseline_arguments_are_validated(change: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        build_definition(dataclasses.replace(ARGS, **change))
