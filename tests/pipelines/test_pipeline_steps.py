"""The retraining pipeline's step scripts, run locally on generated data.

evaluate.py scores with the container's xgboost; here a scikit-learn model's probabilities stand in for the booster's,
and one test scores a real booster with the dev group's xgboost (see the module docstring of
mlops_platform/pipelines/steps/evaluate.py).
"""

from __future__ import annotations

import ast
import io
import json
import math
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import jmespath  # type: ignore[import-untyped]
import numpy as np
import pandas as pd  # type: ignore[import-untyped]
import pytest
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.metrics import roc_auc_score  # type: ignore[import-untyped]

from mlops_platform.pipelines import retraining
from mlops_platform.pipelines.steps import evaluate, preprocess

ROWS = 400
MISSING_LABELS = 20


def churn_frame(rows: int = ROWS, seed: int = 7) -> pd.DataFrame:
    """Numeric and categorical features with missing values; the label depends on tenure, charges and plan."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 72, rows).astype(float)
    charges = rng.normal(70.0, 20.0, rows)
    plan = rng.choice(["basic", "plus", "premium"], rows).astype(object)
    region = rng.choice(["north", "south"], rows).astype(object)
    logit = -0.05 * tenure + 0.04 * (charges - 70.0) + np.where(plan == "basic", 1.0, -0.5)
    label = (rng.random(rows) < 1.0 / (1.0 + np.exp(-logit))).astype(float)
    tenure[rng.choice(rows, 30, replace=False)] = np.nan
    charges[rng.choice(rows, 25, replace=False)] = np.nan
    plan[rng.choice(rows, 15, replace=False)] = None
    label[rng.choice(rows, MISSING_LABELS, replace=False)] = np.nan
    return pd.DataFrame({"tenure": tenure, "plan": plan, "charges": charges, "region": region, "label": label})


@pytest.fixture
def input_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "input"
    directory.mkdir()
    frame = churn_frame()
    # Two files: preprocess reads every CSV of its input.
    frame.iloc[:150].to_csv(directory / "part-1.csv", index=False)
    frame.iloc[150:].to_csv(directory / "part-2.csv", index=False)
    return directory


def run_preprocess(input_dir: Path, output_dir: Path, *extra: str) -> int:
    return preprocess.main(["--input-dir", str(input_dir), "--output-dir", str(output_dir), *extra])


def read_split(output_dir: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(output_dir / name / f"{name}.csv", header=None)


# --- preprocess --------------------------------------------------------------------------------------------------


def test_preprocess_writes_seventy_fifteen_fifteen_splits_of_the_labelled_rows(input_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_preprocess(input_dir, out) == 0
    sizes = {name: len(read_split(out, name)) for name in ("train", "validation", "test")}
    labelled = ROWS - MISSING_LABELS
    held_out = math.ceil(labelled * 0.3)
    assert sizes == {
        "train": labelled - held_out,
        "validation": held_out - math.ceil(held_out / 2),
        "test": math.ceil(held_out / 2),
    }
    assert sum(sizes.values()) == labelled


def test_preprocess_output_is_headerless_target_first_and_fully_numeric(input_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_preprocess(input_dir, out) == 0
    first_line = (out / "train" / "train.csv").read_text().splitlines()[0]
    assert "label" not in first_line and "tenure" not in first_line
    splits = {name: read_split(out, name) for name in ("train", "validation", "test")}
    # tenure, charges, then plan (3 values + missing) and region (2 values) one-hot encoded, after the target.
    assert {frame.shape[1] for frame in splits.values()} == {1 + 2 + 4 + 2}
    for frame in splits.values():
        assert not frame.isna().any().any()
        assert set(frame[0].unique()) == {0, 1}
        assert all(pd.api.types.is_numeric_dtype(dtype) for dtype in frame.dtypes)
        one_hot = frame.iloc[:, 3:]
        assert set(np.unique(one_hot.to_numpy())) <= {0.0, 1.0}
        assert (one_hot.iloc[:, :4].sum(axis=1) == 1).all()  # exactly one plan per row, missing included


def test_preprocess_baseline_is_the_train_split_without_its_target(input_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_preprocess(input_dir, out) == 0
    train = read_split(out, "train")
    baseline = read_split(out, "baseline")
    np.testing.assert_array_equal(baseline.to_numpy(), train.iloc[:, 1:].to_numpy())


def test_preprocess_is_reproducible_with_its_seed(input_dir: Path, tmp_path: Path) -> None:
    assert run_preprocess(input_dir, tmp_path / "a") == 0
    assert run_preprocess(input_dir, tmp_path / "b") == 0
    assert run_preprocess(input_dir, tmp_path / "c", "--seed", "3") == 0
    train = {run: (tmp_path / run / "train" / "train.csv").read_bytes() for run in ("a", "b", "c")}
    assert train["a"] == train["b"]
    assert train["a"] != train["c"]


def test_preprocess_reports_a_missing_target_column(
    input_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_preprocess(input_dir, tmp_path / "out", "--target", "churned") == 2
    error = capsys.readouterr().err
    assert error.startswith("preprocess: error: target column 'churned' not found; columns are: tenure, plan")
    assert not (tmp_path / "out").exists()


def test_preprocess_rejects_a_target_that_is_not_binary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "in").mkdir()
    pd.DataFrame({"x": range(30), "label": ["yes", "no", "maybe"] * 10}).to_csv(tmp_path / "in" / "d.csv", index=False)
    assert run_preprocess(tmp_path / "in", tmp_path / "out") == 2
    assert "target 'label' must be binary (0/1 or true/false)" in capsys.readouterr().err


def test_preprocess_reports_an_empty_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "in").mkdir()
    assert run_preprocess(tmp_path / "in", tmp_path / "out") == 2
    assert "no *.csv file in" in capsys.readouterr().err


def test_encoding_learns_medians_and_categories_from_train_only() -> None:
    train = pd.DataFrame({"age": [1.0, 3.0, np.nan, 100.0], "plan": ["a", "b", None, "a"], "label": [0, 1, 0, 1]})
    encoding = preprocess.fit_encoding(train, "label")
    assert encoding.medians == {"age": 3.0}
    assert encoding.categories == {"plan": ["__missing__", "a", "b"]}
    other = pd.DataFrame({"age": [np.nan, 7.0], "plan": ["c", None], "label": [1, 0]})
    encoded = preprocess.encode(other, "label", encoding)
    assert list(encoded.columns) == ["label", "age", "plan___missing__", "plan_a", "plan_b"]
    assert encoded.to_numpy().tolist() == [[1, 3.0, 0.0, 0.0, 0.0], [0, 7.0, 1.0, 0.0, 0.0]]


def test_preprocess_runs_as_a_standalone_script(input_dir: Path, tmp_path: Path) -> None:
    script = retraining.step_scripts()["preprocess.py"]
    result = subprocess.run(
        [sys.executable, str(script), "--input-dir", str(input_dir), "--output-dir", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "preprocess: 8 features, in order: tenure, charges, plan___missing__, plan_basic" in result.stdout
    assert (tmp_path / "out" / "test" / "test.csv").is_file()


# --- evaluate ---------------------------------------------------------------------------------------------------


def test_evaluate_predictions_computes_every_metric_on_known_values() -> None:
    labels = np.array([0.0, 0.0, 1.0, 1.0])
    scores = np.array([0.1, 0.4, 0.35, 0.8])  # 0.5 threshold → predictions 0, 0, 0, 1
    report = evaluate.evaluate_predictions(labels, scores, "auc")
    assert report == {
        "metrics": {
            "auc": {"value": 0.75},
            "accuracy": {"value": 0.75},
            "f1": {"value": pytest.approx(2 / 3)},
            "precision": {"value": 1.0},
            "recall": {"value": 0.5},
        }
    }


@pytest.mark.parametrize(
    ("labels", "scores", "metric", "message"),
    [
        ([1.0, 1.0], [0.2, 0.9], "auc", "must contain both classes"),
        ([0.0, 1.0], [0.2, 1.5], "auc", "probabilities in [0, 1]"),
        ([0.0, 1.0], [0.2], "auc", "2 labels but predictions of shape (1,)"),
        ([0.0, 1.0], [0.2, 0.9], "logloss", "metric 'logloss' is not one of auc, accuracy, f1, precision, recall"),
    ],
)
def test_evaluate_predictions_rejects_what_it_cannot_score(
    labels: list[float], scores: list[float], metric: str, message: str
) -> None:
    with pytest.raises(evaluate.EvaluateError, match=re.escape(message)):
        evaluate.evaluate_predictions(np.array(labels), np.array(scores), metric)


def test_write_report_writes_the_json_the_property_file_reads(tmp_path: Path) -> None:
    report = {"metrics": {"auc": {"value": 0.8125}}}
    path = evaluate.write_report(tmp_path / "evaluation" / "evaluation.json", report)
    assert json.loads(path.read_text(encoding="utf-8")) == report


def test_evaluate_on_the_preprocessed_test_split_reports_what_the_condition_reads(
    input_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert run_preprocess(input_dir, out) == 0
    train = read_split(out, "train")
    model = LogisticRegression(max_iter=1000).fit(train.iloc[:, 1:].to_numpy(), train[0].to_numpy())

    def predict(features: np.ndarray) -> np.ndarray:
        return np.asarray(model.predict_proba(features)[:, 1], dtype=np.float64)

    report = evaluate.evaluate(out / "test", tmp_path / "evaluation", "auc", predict)

    test = read_split(out, "test")
    expected_auc = roc_auc_score(test[0], predict(test.iloc[:, 1:].to_numpy()))
    written = json.loads((tmp_path / "evaluation" / "evaluation.json").read_text(encoding="utf-8"))
    assert written == report
    # The condition step's JsonGet path (a plain dotted path, read alike by JSONPath and JMESPath).
    for metric in retraining.SUPPORTED_METRICS:
        value = jmespath.search(retraining.metric_json_path(metric), written)
        assert isinstance(value, float) and 0.0 <= value <= 1.0
    assert jmespath.search(retraining.metric_json_path("auc"), written) == pytest.approx(expected_auc)
    assert expected_auc > 0.6  # the generated label depends on the features: the pipeline would register this


def test_read_test_set_takes_the_label_from_the_first_column(tmp_path: Path) -> None:
    (tmp_path / "test.csv").write_text("1,0.5,2\n0,0.25,3\n", encoding="utf-8")
    labels, features = evaluate.read_test_set(tmp_path)
    assert labels.tolist() == [1.0, 0.0]
    assert features.tolist() == [[0.5, 2.0], [0.25, 3.0]]


def write_model_archive(directory: Path, members: dict[str, bytes]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    archive = directory / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return archive


def test_extract_model_copies_only_the_booster_file(tmp_path: Path) -> None:
    write_model_archive(tmp_path / "model", {"xgboost-model": b"booster bytes", "../outside": b"ignored"})
    (tmp_path / "work").mkdir()
    path = evaluate.extract_model(tmp_path / "model", tmp_path / "work")
    assert path == tmp_path / "work" / "xgboost-model"
    assert path.read_bytes() == b"booster bytes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "work"]
    assert [p.name for p in (tmp_path / "work").iterdir()] == ["xgboost-model"]


def test_extract_model_reports_an_archive_without_a_booster(tmp_path: Path) -> None:
    write_model_archive(tmp_path / "model", {"model.bin": b"x"})
    with pytest.raises(evaluate.EvaluateError, match="has no xgboost-model file"):
        evaluate.extract_model(tmp_path / "model", tmp_path)


def test_evaluate_main_says_xgboost_is_needed_outside_the_container(
    input_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "xgboost", None)  # `import xgboost` raises ImportError, as without it
    assert run_preprocess(input_dir, tmp_path / "out") == 0
    write_model_archive(tmp_path / "model", {"xgboost-model": b"booster bytes"})
    argv = ["--model-dir", str(tmp_path / "model"), "--test-dir", str(tmp_path / "out" / "test")]
    assert evaluate.main([*argv, "--output-dir", str(tmp_path / "evaluation")]) == 2
    assert "evaluate: error: xgboost is needed to score" in capsys.readouterr().err
    assert not (tmp_path / "evaluation").exists()


def test_evaluate_main_scores_a_real_booster_saved_as_builtin_xgboost_1_7_saves_it(
    input_dir: Path, tmp_path: Path
) -> None:
    """The dev group's xgboost (the monitoring image's pin) stands in for the container's: a booster in the legacy
    binary format, as `save_model` writes a file name without extension in XGBoost 1.7."""
    import warnings

    import xgboost

    assert run_preprocess(input_dir, tmp_path / "out") == 0
    train = np.loadtxt(tmp_path / "out" / "train" / "train.csv", delimiter=",")
    booster = xgboost.train({"objective": "binary:logistic", "max_depth": 3},
                            xgboost.DMatrix(train[:, 1:], label=train[:, 0]), num_boost_round=20)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*deprecated binary model format", category=UserWarning)
        booster.save_model(str(tmp_path / "model.deprecated"))
    write_model_archive(tmp_path / "model", {"xgboost-model": (tmp_path / "model.deprecated").read_bytes()})
    argv = ["--model-dir", str(tmp_path / "model"), "--test-dir", str(tmp_path / "out" / "test")]
    assert evaluate.main([*argv, "--output-dir", str(tmp_path / "evaluation")]) == 0
    report = json.loads((tmp_path / "evaluation" / "evaluation.json").read_text())
    assert set(report["metrics"]) == set(evaluate.SUPPORTED_METRICS)
    assert 0.0 <= report["metrics"]["auc"]["value"] <= 1.0


# --- both scripts ------------------------------------------------------------------------------------------------

CONTAINER_MODULES = {"numpy", "pandas", "sklearn", "xgboost"}


@pytest.mark.parametrize("name", ["preprocess.py", "evaluate.py"])
def test_each_script_imports_only_the_stdlib_and_what_its_container_has(name: str) -> None:
    tree = ast.parse(retraining.step_scripts()[name].read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    imported |= {
        node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert imported - CONTAINER_MODULES <= sys.stdlib_module_names | {"__future__"}
    assert "mlops_platform" not in imported


@pytest.mark.parametrize("name", ["preprocess.py", "evaluate.py"])
def test_each_script_parses_as_python_3_8(name: str) -> None:
    # The processing containers run older Pythons than this project's 3.11 (a best-effort grammar check).
    source = retraining.step_scripts()[name].read_text(encoding="utf-8")
    assert ast.parse(source, feature_version=(3, 8)).body
