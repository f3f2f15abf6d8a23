"""The open drift engine run through the monitoring image's entry point on generated data: `baseline` over
training features, then `check` over captured traffic (stable and drifted) against moto's S3, SageMaker registry
and pipelines, CloudWatch and EventBridge. The verdicts, the metrics and the event are asserted."""

from __future__ import annotations

import base64
import json
import os
import runpy
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import numpy as np
import pytest
from moto import mock_aws
from moto.sagemaker.models import sagemaker_backends

from mlops_monitoring.aws import Clients
from mlops_platform import contract, monitoring_image
from mlops_platform.config import UseCase
from mlops_platform.placement import Placement

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's default account
BUCKET = "model-artifacts"
BASELINE_KEY = "churn/retraining/exec-1/data-quality-baseline/baseline/baseline.json"
FEATURES = ["age", "income", "tenure", "plan_basic", "plan_premium"]
USE_CASE = UseCase(name="churn", drift_threshold=0.3, retraining_cooldown_hours=24)


def entry_point() -> list[str]:
    """The Dockerfile's ENTRYPOINT, exactly."""
    for line in (monitoring_image.IMAGE_DIR / "Dockerfile").read_text().splitlines():
        if line.startswith("ENTRYPOINT "):
            command: list[str] = json.loads(line.removeprefix("ENTRYPOINT "))
            return command
    raise AssertionError("the Dockerfile has no ENTRYPOINT")


def features(rows: int, seed: int, drifted: bool = False) -> np.ndarray:
    """Numeric columns and one one-hot categorical, as the preprocess step writes them."""
    rng = np.random.default_rng(seed)
    shift = 1.0 if drifted else 0.0
    age = rng.normal(40 + 12 * shift, 10, rows)
    income = rng.lognormal(10 + 0.6 * shift, 0.5, rows)
    tenure = rng.normal(30, 8, rows)  # never drifts
    premium = rng.random(rows) < (0.7 if drifted else 0.3)
    return np.column_stack([age, income, tenure, (~premium).astype(float), premium.astype(float)])


def write_training(root: Path) -> tuple[Path, Path]:
    data, schema = root / "baseline-data", root / "schema"
    data.mkdir(parents=True)
    schema.mkdir()
    np.savetxt(data / "baseline.csv", features(3000, seed=1), delimiter=",", fmt="%.6f")
    (schema / monitoring_image.SCHEMA_FILE).write_text(json.dumps({"features": FEATURES}))
    return data, schema


def capture_record(row: np.ndarray, encoding: str) -> dict[str, Any]:
    csv_line = ",".join(f"{value:.6f}" for value in row)
    data, content_type = {
        "CSV": (csv_line, "text/csv"),
        "JSON": (json.dumps({"instances": [row.tolist()]}), "application/json"),
        "BASE64": (base64.b64encode(csv_line.encode()).decode(), "text/csv"),
    }[encoding]
    return {"captureData": {"endpointInput": {"observedContentType": content_type, "mode": "INPUT", "data": data,
                                              "encoding": encoding},
                            "endpointOutput": {"observedContentType": "text/csv", "mode": "OUTPUT", "data": "0.4",
                                               "encoding": "CSV"}},
            "eventMetadata": {"eventId": "e", "inferenceTime": "2026-12-01T10:00:00Z"}, "eventVersion": "0"}


def write_capture(root: Path, rows: np.ndarray, malformed: list[str] = ()) -> Path:  # type: ignore[assignment]
    capture = root / "capture" / "churn" / "prod" / "AllTraffic" / "2026" / "12" / "01" / "10"
    capture.mkdir(parents=True)
    encodings = ("CSV", "JSON", "BASE64")
    lines = [json.dumps(capture_record(row, encodings[index % 3])) for index, row in enumerate(rows)]
    (capture / "capture-1.jsonl").write_text("\n".join([*lines, *malformed]) + "\n")
    return root / "capture"


@pytest.fixture(scope="module")
def baseline_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`baseline` run as the image runs it: the ENTRYPOINT in a fresh process, with the interface's arguments
    pointed at local directories."""
    root = tmp_path_factory.mktemp("baseline")
    data, schema = write_training(root)
    arguments = _relocated(monitoring_image.baseline_arguments(), {
        "--data-dir": str(data), "--schema-dir": str(schema), "--output-dir": str(root / "out")})
    command = entry_point()
    assert command[:2] == ["python", "-m"]
    env = {**os.environ, "PYTHONPATH": str(monitoring_image.IMAGE_DIR)}
    done = subprocess.run([sys.executable, *command[1:], *arguments], capture_output=True, text=True, env=env,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "baseline of 5 features over 3000 rows" in done.stdout
    return root / "out" / monitoring_image.BASELINE_FILE


def _relocated(arguments: list[Any], paths: dict[str, str]) -> list[Any]:
    relocated = list(arguments)
    for flag, path in paths.items():
        relocated[relocated.index(flag) + 1] = path
    return relocated


def test_the_baseline_is_schema_versioned_per_feature(baseline_file: Path) -> None:
    baseline = json.loads(baseline_file.read_text())
    assert baseline["schemaVersion"] == 1 and baseline["rowCount"] == 3000
    kinds = {feature["name"]: feature["type"] for feature in baseline["features"]}
    assert kinds == {"age": "numeric", "income": "numeric", "tenure": "numeric", "plan_basic": "categorical",
                     "plan_premium": "categorical"}
    age = baseline["features"][0]
    assert len(age["cutPoints"]) == 9 and abs(sum(age["binShares"]) - 1) < 1e-9
    assert len(age["referenceSample"]) == 1000
    assert baseline["features"][4]["frequencies"].keys() == {"0", "1"}


@dataclass
class World:
    sagemaker: Any
    s3: Any
    cloudwatch: Any
    root: Path
    put_events: list[dict[str, Any]]


@pytest.fixture
def world(baseline_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(variable, "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        s3 = session.client("s3")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket=BUCKET, Key=BASELINE_KEY, Body=baseline_file.read_bytes())
        sagemaker = session.client("sagemaker")
        sagemaker.create_model_package_group(ModelPackageGroupName=contract.model_package_group_name("churn"))
        sagemaker.create_pipeline(PipelineName=contract.pipeline_name("churn"), PipelineDefinition="{}",
                                  RoleArn=f"arn:aws:iam::{ACCOUNT}:role/mlops-ops-churn-pipeline")
        sent: list[dict[str, Any]] = []
        monkeypatch.setattr(Clients, "for_region", classmethod(lambda cls, region: observed_clients(region, sent)))
        yield World(sagemaker, s3, session.client("cloudwatch"), tmp_path, sent)


def observed_clients(region: str, sent: list[dict[str, Any]]) -> Clients:
    """The clients the check makes, with a hook that records each PutEvents request moto accepts (moto delivers
    events to rule targets only with its optional jsonpath_ng dependency)."""
    session = boto3.Session(region_name=region)
    events = session.client("events")
    events.meta.events.register("provide-client-params.events.PutEvents",
                                lambda params, **_: sent.extend(params["Entries"]))
    return Clients(session.client("sagemaker"), session.client("s3"), session.client("cloudwatch"), events)


def register(world: World, status: str = "Approved", baseline_uri: str | None = f"s3://{BUCKET}/{BASELINE_KEY}",
             ) -> str:
    extra: dict[str, Any] = {}
    if baseline_uri is not None:
        extra["DriftCheckBaselines"] = {"ModelDataQuality": {"Statistics": {
            "ContentType": "application/json", "S3Uri": baseline_uri}}}
    arn: str = world.sagemaker.create_model_package(
        ModelPackageGroupName="churn", ModelApprovalStatus=status,
        InferenceSpecification={"Containers": [{"Image": "111.dkr.ecr.eu-west-1.amazonaws.com/x:1"}],
                                "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
        **extra)["ModelPackageArn"]
    return arn


def retraining_started(world: World, hours_ago: float, status: str) -> None:
    """A retraining execution, as moto keeps it, started `hours_ago` with `status` (moto's API starts every
    execution now and Succeeded; the test sets both on moto's own record)."""
    arn = world.sagemaker.start_pipeline_execution(PipelineName=contract.pipeline_name("churn"))[
        "PipelineExecutionArn"]
    pipeline = sagemaker_backends[ACCOUNT][REGION].pipelines[contract.pipeline_name("churn")]
    execution = pipeline.pipeline_executions[arn]
    execution.start_time = (datetime.now(UTC) - timedelta(hours=hours_ago)).replace(tzinfo=None)
    execution.pipeline_execution_status = status


@dataclass
class Run:
    exit_code: int
    report: dict[str, Any]
    event: dict[str, Any] | None
    stderr: str


def run_check(world: World, capture_dir: Path, capsys: pytest.CaptureFixture[str],
              use_case: UseCase = USE_CASE) -> Run:
    """`check` with the interface's exact arguments (paths relocated), through the image's entry point module."""
    report_dir = world.root / "report"
    arguments = _relocated(
        monitoring_image.check_arguments(use_case, Placement("ops", ACCOUNT, REGION), ACCOUNT,
                                         "s3://model-artifacts/churn/drift/exec-9/report"),
        {"--capture-dir": str(capture_dir), "--report-dir": str(report_dir)})
    module = entry_point()[2]
    argv = sys.argv
    sys.argv = [module, *arguments]
    try:
        with pytest.raises(SystemExit) as exited:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
    finally:
        sys.argv = argv
    code = int(exited.value.code or 0)
    stderr = capsys.readouterr().err
    report_path = report_dir / monitoring_image.REPORT_FILE
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    assert len(world.put_events) <= 1, "one event per check"
    entry = world.put_events[0] if world.put_events else None
    event = None if entry is None else {"source": entry["Source"], "detail-type": entry["DetailType"],
                                        "resources": entry["Resources"], "detail": json.loads(entry["Detail"])}
    return Run(code, report, event, stderr)


def metric(world: World, name: str, feature: str | None = None) -> float | None:
    dimensions = [{"Name": "UseCase", "Value": "churn"}]
    if feature is not None:
        dimensions.append({"Name": "Feature", "Value": feature})
    now = datetime.now(UTC)
    result = world.cloudwatch.get_metric_statistics(
        Namespace=contract.DRIFT_METRIC_NAMESPACE, MetricName=name, Dimensions=dimensions,
        StartTime=now - timedelta(hours=1), EndTime=now + timedelta(hours=1), Period=3600, Statistics=["Maximum"])
    points = result["Datapoints"]
    return float(points[0]["Maximum"]) if points else None


def test_stable_traffic_is_no_drift_and_starts_nothing(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    package = register(world)
    run = run_check(world, write_capture(world.root, features(600, seed=2)), capsys)
    assert run.exit_code == 0, run.stderr
    assert run.report["drifted"] is False and run.report["driftShare"] == 0.0
    assert run.event is not None and run.event["source"] == contract.DRIFT_EVENT_SOURCE
    assert run.event["detail-type"] == contract.DRIFT_EVENT_DETAIL_TYPE
    detail = run.event["detail"]
    assert detail == {"useCase": "churn", "modelPackageArn": package, "driftShare": 0.0, "threshold": 0.3,
                      "drifted": False, "retrain": False, "reason": detail["reason"],
                      "reportUri": "s3://model-artifacts/churn/drift/exec-9/report/drift-report.json",
                      "triggers": []}
    assert "below the threshold" in detail["reason"]
    assert metric(world, "DriftDetected") == 0.0 and metric(world, "DriftShare") == 0.0
    assert metric(world, "FeatureDrift", "age") == 0.0
    assert run.report["capture"]["rows"] == 600 and run.report["capture"]["malformedRecords"] == 0


def test_drifted_traffic_starts_retraining(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    register(world)
    run = run_check(world, write_capture(world.root, features(600, seed=3, drifted=True)), capsys)
    assert run.exit_code == 0, run.stderr
    drifted = {feature["name"] for feature in run.report["features"] if feature["drifted"]}
    assert drifted == {"age", "income", "plan_basic", "plan_premium"}, "tenure did not move"
    assert run.event is not None
    assert run.event["detail"]["retrain"] is True and run.event["detail"]["driftShare"] == pytest.approx(0.8)
    assert metric(world, "DriftDetected") == 1.0 and metric(world, "DriftShare") == pytest.approx(0.8)
    assert metric(world, "FeatureDrift", "income") == 1.0 and metric(world, "FeatureDrift", "tenure") == 0.0
    score = metric(world, "FeatureDriftScore", "age")
    assert score is not None and score >= 0.2


def test_the_newest_approved_version_is_the_one_checked(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    register(world)
    newest = register(world)
    register(world, status="PendingManualApproval", baseline_uri=None)
    run = run_check(world, write_capture(world.root, features(300, seed=4)), capsys)
    assert run.event is not None and run.event["detail"]["modelPackageArn"] == newest
    assert run.event["resources"] == [newest]


def test_single_flight_no_retraining_while_one_is_executing(world: World,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    register(world)
    retraining_started(world, hours_ago=48, status="Executing")
    run = run_check(world, write_capture(world.root, features(600, seed=5, drifted=True)), capsys)
    assert run.event is not None
    detail = run.event["detail"]
    assert (detail["drifted"], detail["retrain"]) == (True, False)
    assert "is executing: one retraining at a time" in detail["reason"]


@pytest.mark.parametrize(("hours_ago", "retrain"), [(2, False), (30, True)])
def test_cooldown_after_the_last_retraining(world: World, capsys: pytest.CaptureFixture[str], hours_ago: float,
                                            retrain: bool) -> None:
    register(world)
    retraining_started(world, hours_ago=hours_ago, status="Succeeded")
    run = run_check(world, write_capture(world.root, features(600, seed=6, drifted=True)), capsys)
    assert run.event is not None
    assert run.event["detail"]["retrain"] is retrain
    if not retrain:
        assert "within the 24 h cooldown" in run.event["detail"]["reason"]


def test_too_few_records_give_no_verdict(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    register(world)
    run = run_check(world, write_capture(world.root, features(20, seed=7, drifted=True)), capsys)
    assert run.exit_code == 0
    assert run.event is not None
    assert run.event["detail"]["retrain"] is False and run.event["detail"]["driftShare"] is None
    assert "fewer than the 100 a verdict needs" in run.event["detail"]["reason"]
    assert metric(world, "DriftDetected") is None, "no verdict, no drift metric"


def test_no_approved_version_gives_no_verdict(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    register(world, status="PendingManualApproval")
    run = run_check(world, write_capture(world.root, features(300, seed=8)), capsys)
    assert run.exit_code == 0
    assert run.event is not None and run.event["detail"]["modelPackageArn"] is None
    assert run.event["detail"]["reason"] == "no Approved model package in group churn: nothing serves"


def test_a_package_without_baseline_gives_no_verdict(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    package = register(world, baseline_uri=None)
    run = run_check(world, write_capture(world.root, features(300, seed=8)), capsys)
    assert run.exit_code == 0
    assert run.event is not None and run.event["detail"]["retrain"] is False
    assert run.event["detail"]["reason"] == (
        f"model package {package} has no DriftCheckBaselines.ModelDataQuality.Statistics")


def test_malformed_records_are_counted_not_fatal(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    register(world)
    bad_json = base64.b64encode(b"{not json").decode()
    malformed = [
        "not json at all",
        json.dumps({"captureData": {}}),
        json.dumps(capture_record(np.array([1.0, 2.0]), "CSV")),
        json.dumps({"captureData": {"endpointInput": {"observedContentType": "application/json", "mode": "INPUT",
                                                      "data": bad_json, "encoding": "BASE64"}}}),
    ]
    run = run_check(world, write_capture(world.root, features(300, seed=9), malformed), capsys)
    assert run.exit_code == 0, run.stderr
    capture = run.report["capture"]
    assert (capture["records"], capture["rows"], capture["malformedRecords"]) == (304, 300, 4)
    assert capture["malformedReasons"] == {"line is not JSON": 1, "no captureData.endpointInput.data": 1,
                                           "row width is not the baseline's 5 features": 1, "data is not JSON": 1}
    assert run.report["drifted"] is False


def test_an_unreadable_baseline_is_one_error_line_and_a_failure(world: World,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    register(world, baseline_uri="s3://bucket-of-another-account/churn/baseline.json")
    run = run_check(world, write_capture(world.root, features(300, seed=10)), capsys)
    assert run.exit_code == 1
    assert run.stderr.count("\n") == 1
    assert run.stderr.startswith("mlops_monitoring check: error: GetObject failed: NoSuchBucket")
    assert run.event is None


def test_baseline_reads_what_the_preprocess_step_writes(tmp_path: Path) -> None:
    """The real handover: preprocess's `baseline` and `schema` outputs are the baseline step's inputs."""
    import pandas as pd  # type: ignore[import-untyped]

    from mlops_platform.pipelines.steps import preprocess

    rng = np.random.default_rng(11)
    raw = tmp_path / "input"
    raw.mkdir()
    pd.DataFrame({"age": rng.normal(40, 10, 400), "plan": rng.choice(["basic", "premium"], 400),
                  "label": rng.integers(0, 2, 400)}).to_csv(raw / "data.csv", index=False)
    result = preprocess.preprocess(raw, tmp_path / "out", "label", 42)
    assert preprocess.SCHEMA_FILE == monitoring_image.SCHEMA_FILE
    schema = json.loads(result.files["schema"].read_text())
    assert schema == {"features": result.feature_names, "target": "label"}
    arguments = _relocated(monitoring_image.baseline_arguments(), {
        "--data-dir": str(tmp_path / "out" / "baseline"), "--schema-dir": str(tmp_path / "out" / "schema"),
        "--output-dir": str(tmp_path / "baseline")})
    env = {**os.environ, "PYTHONPATH": str(monitoring_image.IMAGE_DIR)}
    done = subprocess.run([sys.executable, *entry_point()[1:], *arguments], capture_output=True, text=True,
                          env=env, check=False)
    assert done.returncode == 0, done.stderr
    baseline = json.loads((tmp_path / "baseline" / monitoring_image.BASELINE_FILE).read_text())
    assert [(f["name"], f["type"]) for f in baseline["features"]] == [
        ("age", "numeric"), ("plan_basic", "categorical"), ("plan_premium", "categorical")]


def test_baseline_without_training_data_is_one_error_line(tmp_path: Path) -> None:
    arguments = _relocated(monitoring_image.baseline_arguments(), {
        "--data-dir": str(tmp_path / "empty"), "--schema-dir": str(tmp_path), "--output-dir": str(tmp_path / "o")})
    (tmp_path / "empty").mkdir()
    env = {**os.environ, "PYTHONPATH": str(monitoring_image.IMAGE_DIR)}
    done = subprocess.run([sys.executable, *entry_point()[1:], *arguments], capture_output=True, text=True,
                          env=env, check=False)
    assert done.returncode == 2
    assert done.stderr == f"mlops_monitoring baseline: error: no *.csv file under {tmp_path / 'empty'}\n"
