"""The retraining pipeline's data lake input: the preprocess step reads each table's Athena result (JSON lines,
gzipped or not) as it reads CSV files, and the definition hands it the tables as SageMaker Athena dataset
definitions instead of the S3 input."""

from __future__ import annotations

import dataclasses
import gzip
import json
from pathlib import Path
from typing import Any

import pandas as pd  # type: ignore[import-untyped]
import pytest

from mlops_platform.pipelines import retraining
from mlops_platform.pipelines.retraining import build_definition
from mlops_platform.pipelines.spec import AthenaTrainingInput
from mlops_platform.pipelines.steps import preprocess
from tests.pipelines.test_pipeline_definition import ARGS
from tests.pipelines.test_pipeline_steps import churn_frame, read_split

QUERY = AthenaTrainingInput(
    table="customers.churn_history", database="customers_shared",
    query='SELECT "tenure", "label" FROM "customers_shared"."churn_history"', workgroup="mlops-ops-data-lake",
    output_s3_uri="s3://results/training-data/churn/customers.churn_history/",
    kms_key_arn="arn:aws:kms:eu-west-1:111111111111:key/results")


def write_json_lines(frame: pd.DataFrame, path: Path, gzipped: bool) -> None:
    text = frame.to_json(orient="records", lines=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    if gzipped:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)


def test_preprocess_reads_query_results_as_it_reads_csv(tmp_path: Path) -> None:
    frame = churn_frame()
    csv_dir, lake_dir, empty = tmp_path / "csv", tmp_path / "lake", tmp_path / "empty"
    csv_dir.mkdir()
    empty.mkdir()
    frame.to_csv(csv_dir / "all.csv", index=False)
    # Athena names its result files without an extension; one gzipped, one not.
    write_json_lines(frame.iloc[:200], lake_dir / "customers.churn_history" / "20261203_0001", gzipped=True)
    write_json_lines(frame.iloc[200:], lake_dir / "customers.churn_history" / "20261203_0002", gzipped=False)
    from_csv, from_lake = tmp_path / "out-csv", tmp_path / "out-lake"
    assert preprocess.main(["--input-dir", str(csv_dir), "--output-dir", str(from_csv)]) == 0
    assert preprocess.main(["--input-dir", str(empty), "--lake-dir", str(lake_dir),
                            "--output-dir", str(from_lake)]) == 0
    for split in ("train", "validation", "test"):
        pd.testing.assert_frame_equal(read_split(from_csv, split), read_split(from_lake, split))


def test_no_csv_and_no_query_result_is_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "input").mkdir()
    assert preprocess.main(["--input-dir", str(tmp_path / "input"), "--lake-dir", str(tmp_path / "lake"),
                            "--output-dir", str(tmp_path / "out")]) == 2
    assert "no *.csv file" in capsys.readouterr().err


def test_a_result_that_is_not_json_lines_is_one_clear_error(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "input").mkdir()
    broken = tmp_path / "lake" / "customers.churn_history" / "part"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(gzip.compress(b"tenure,label\n1,0\n"))
    assert preprocess.main(["--input-dir", str(tmp_path / "input"), "--lake-dir", str(tmp_path / "lake"),
                            "--output-dir", str(tmp_path / "out")]) == 2
    assert "not a JSON-lines query result" in capsys.readouterr().err


@pytest.fixture(scope="module")
def lake_definition() -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(build_definition(dataclasses.replace(ARGS, training_queries=(QUERY,))))
    return parsed


def test_the_preprocess_step_reads_each_table_by_its_athena_query(lake_definition: dict[str, Any]) -> None:
    preprocess_step = next(s for s in lake_definition["Steps"] if s["Name"] == retraining.STEP_PREPROCESS)
    inputs = {i["InputName"]: i for i in preprocess_step["Arguments"]["ProcessingInputs"]}
    assert set(inputs) == {"table-customers-churn-history", "code"}, "no S3 input around Lake Formation"
    definition = inputs["table-customers-churn-history"]["DatasetDefinition"]
    assert definition["LocalPath"] == f"/opt/ml/processing/{preprocess.LAKE_DIR}/customers.churn_history"
    assert definition["AthenaDatasetDefinition"] == {
        "Catalog": "AwsDataCatalog", "Database": QUERY.database, "QueryString": QUERY.query,
        "WorkGroup": QUERY.workgroup, "OutputS3Uri": QUERY.output_s3_uri, "KmsKeyId": QUERY.kms_key_arn,
        "OutputFormat": "JSON", "OutputCompression": "GZIP"}
    network = preprocess_step["Arguments"]["NetworkConfig"]
    assert network["EnableNetworkIsolation"] is True, "SageMaker runs the query; the job stays isolated"


def test_the_pipeline_names_the_preprocess_lake_folder_the_step_reads() -> None:
    assert retraining.PREPROCESS_LAKE_DIR == preprocess.LAKE_DIR
