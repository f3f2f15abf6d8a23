"""The read-features step: its place in the retraining definition where the use case has feature groups, and its
script run locally on offline stores written as Feature Store writes them (Parquet, with Feature Store's own
columns), through the same entry point the job runs."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd  # type: ignore[import-untyped]
import pytest

from mlops_platform.pipelines.retraining import STEP_READ_FEATURES, build_definition, step_scripts
from mlops_platform.pipelines.spec import FeatureGroupInput, pipeline_step_scripts
from mlops_platform.pipelines.steps import features
from tests.pipelines.test_pipeline_definition import ARGS, XGBOOST_EU_WEST_1, processing_input

CUSTOMERS = FeatureGroupInput(name="churn-customers", record_identifier="customer_id", event_time="event_time",
                              offline_store_uri="s3://features-bucket/churn/churn-customers/")
CARDS = FeatureGroupInput(name="churn-cards", record_identifier="card_id", event_time="seen_at",
                          offline_store_uri="s3://features-bucket/churn/churn-cards/")


@pytest.fixture(scope="module")
def with_features() -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(build_definition(dataclasses.replace(ARGS, feature_groups=(CUSTOMERS, CARDS))))
    return parsed


def test_the_step_reads_each_groups_offline_store_before_preprocessing(with_features: dict[str, Any]) -> None:
    steps = {s["Name"]: s for s in with_features["Steps"]}
    assert [s["Name"] for s in with_features["Steps"]][:2] == [STEP_READ_FEATURES, "preprocess"]
    assert steps["preprocess"]["DependsOn"] == [STEP_READ_FEATURES]
    arguments = steps[STEP_READ_FEATURES]["Arguments"]
    for group in (CUSTOMERS, CARDS):
        store = processing_input(arguments, f"offline-store-{group.name}")
        assert store["S3Uri"] == group.offline_store_uri and store["S3DataType"] == "S3Prefix"
        assert store["LocalPath"] == f"/opt/ml/processing/offline-store/{group.name}"
    assert processing_input(arguments, "code")["S3Uri"] == "s3://mlops-dev-artifacts/code/churn/features.py"
    assert arguments["AppSpecification"]["ImageUri"] == XGBOOST_EU_WEST_1, "the image with pandas and pyarrow"
    assert arguments["AppSpecification"]["ContainerArguments"] == [
        "--group", "churn-customers:customer_id:event_time", "--group", "churn-cards:card_id:seen_at"]
    output = arguments["ProcessingOutputConfig"]["Outputs"][0]
    assert output["OutputName"] == "features" and output["S3Output"]["LocalPath"] == "/opt/ml/processing/features"
    assert arguments["ProcessingOutputConfig"]["KmsKeyId"] == ARGS.kms_key_arn
    assert arguments["NetworkConfig"]["EnableNetworkIsolation"] is True


def test_every_step_script_is_referenced_where_the_use_case_has_feature_groups(with_features: dict[str, Any]) -> None:
    referenced = {processing_input(s["Arguments"], "code")["S3Uri"].rsplit("/", 1)[1]
                  for s in with_features["Steps"] if s["Type"] == "Processing"}
    assert referenced == set(step_scripts())


def test_without_feature_groups_there_is_no_such_step() -> None:
    assert STEP_READ_FEATURES not in build_definition(ARGS)


# --- the script, on offline stores as Feature Store writes them ---------------------------------------------------


def offline_store(root: Path, group: str, records: list[dict[str, Any]], files: int = 2) -> Path:
    """Parquet files under `<group>/<account>/sagemaker/<region>/offline-store/<group>-<time>/data/...`."""
    data = root / group / "333333333333" / "sagemaker" / "eu-west-1" / "offline-store" / f"{group}-1733220000" / "data"
    frame = pd.DataFrame(records)
    for index in range(files):
        folder = data / "year=2026" / "month=12" / f"day=0{index + 1}"
        folder.mkdir(parents=True)
        frame.iloc[index::files].to_parquet(folder / f"part-{index}.parquet", index=False)
    return root


def customer(customer_id: str, event_time: str, tenure: int, write_time: str = "2026-12-03T10:00:00Z",
             deleted: bool = False) -> dict[str, Any]:
    return {"customer_id": customer_id, "event_time": event_time, "tenure_months": tenure,
            "write_time": pd.Timestamp(write_time), "api_invocation_time": pd.Timestamp(write_time),
            "is_deleted": deleted}


def test_the_latest_version_of_each_record_is_kept_and_deleted_records_dropped(tmp_path: Path) -> None:
    root = offline_store(tmp_path / "in", "churn-customers", [
        customer("c1", "2026-12-01T00:00:00Z", 3),
        customer("c1", "2026-12-02T00:00:00Z", 4),
        customer("c2", "2026-12-01T00:00:00Z", 7),
        customer("c2", "2026-12-01T00:00:00Z", 8, write_time="2026-12-03T11:00:00Z"),
        customer("c3", "2026-12-01T00:00:00Z", 1, deleted=True),
    ])
    written = features.run(root, tmp_path / "out", [features.Group("churn-customers", "customer_id", "event_time")])
    assert written == {"churn-customers": 2}
    result = pd.read_csv(tmp_path / "out" / "churn-customers.csv")
    assert list(result.columns) == ["customer_id", "event_time", "tenure_months"]
    assert result.to_dict("records") == [
        {"customer_id": "c1", "event_time": "2026-12-02T00:00:00Z", "tenure_months": 4},
        {"customer_id": "c2", "event_time": "2026-12-01T00:00:00Z", "tenure_months": 8}]


def test_event_times_in_unix_seconds_order_the_versions(tmp_path: Path) -> None:
    records = [{"card_id": "k1", "seen_at": 1733220000.0, "declines": 0},
               {"card_id": "k1", "seen_at": 1733220500.5, "declines": 2},
               {"card_id": "k2", "seen_at": 1733220100.0, "declines": 1}]
    root = offline_store(tmp_path / "in", "cards", records, files=1)
    features.run(root, tmp_path / "out", [features.Group("cards", "card_id", "seen_at")])
    result = pd.read_csv(tmp_path / "out" / "cards.csv")
    assert result[["card_id", "declines"]].to_dict("records") == [{"card_id": "k1", "declines": 2},
                                                                  {"card_id": "k2", "declines": 1}]


def test_the_script_runs_standalone_and_reports_each_group(tmp_path: Path) -> None:
    root = offline_store(tmp_path / "in", "churn-customers", [customer("c1", "2026-12-01T00:00:00Z", 3)], files=1)
    result = subprocess.run(
        [sys.executable, str(step_scripts()["features.py"]), "--input-dir", str(root), "--output-dir",
         str(tmp_path / "out"), "--group", "churn-customers:customer_id:event_time"],
        capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "read-features: churn-customers: 1 records"


@pytest.mark.parametrize(("records", "group", "message"), [
    (None, "churn-customers:customer_id:event_time", "no Parquet files under"),
    ([{"id": "c1", "event_time": "2026-12-01T00:00:00Z"}], "churn-customers:customer_id:event_time",
     "has no column 'customer_id'"),
    ([{"customer_id": "c1", "event_time": "yesterday"}], "churn-customers:customer_id:event_time",
     "neither an ISO-8601 time nor Unix seconds"),
    ([{"customer_id": "c1", "event_time": "2026-12-01T00:00:00Z"}], "churn-customers", "expected NAME:"),
])
def test_a_problem_with_the_offline_store_exits_2_with_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], records: list[dict[str, Any]] | None, group: str,
        message: str) -> None:
    root = tmp_path / "in"
    if records is not None:
        offline_store(root, "churn-customers", records, files=1)
    else:
        (root / "churn-customers").mkdir(parents=True)
    assert features.main(["--input-dir", str(root), "--output-dir", str(tmp_path / "out"), "--group", group]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and message in error[0]


def test_a_pipeline_uploads_the_read_features_script_only_where_it_reads_features() -> None:
    assert "features.py" in pipeline_step_scripts(reads_features=True)
    assert set(pipeline_step_scripts(reads_features=False)) == {"preprocess.py", "evaluate.py"}
