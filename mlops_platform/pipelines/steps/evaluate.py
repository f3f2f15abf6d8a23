"""Evaluate step: score the test split with the trained XGBoost model and write ``evaluation.json``.

Runs as ``python3 evaluate.py`` in the built-in XGBoost container, which has python3, xgboost, numpy, pandas and
scikit-learn. Paths default to the container's; the flags override them for local runs and tests.

Inputs: ``--model-dir`` holds the training job's ``model.tar.gz`` (containing ``xgboost-model``); ``--test-dir``
holds preprocess's headerless test CSV (target first). Output: ``--output-dir``/evaluation.json::

    {"metrics": {"auc": {"value": 0.91}, "accuracy": {"value": 0.87}, "f1": {...}, "precision": {...},
                 "recall": {...}}}

The pipeline's condition reads ``metrics.<metric name>.value`` from it through the ``EvaluationReport`` property
file, and the model registry shows it as the model's quality statistics. Label metrics use a 0.5 threshold on
the predicted probability.

What is tested (tests/pipelines/test_pipeline_steps.py), and what is not: reading the test split, extracting
``xgboost-model`` from ``model.tar.gz``, the metrics (:func:`evaluate_predictions`), the report file
(:func:`write_report`) and the whole step through :func:`evaluate` are run locally, with a scikit-learn model's
probabilities standing in for the booster's. :func:`load_xgboost_predictor` needs xgboost: the tests load and score a
real booster in the legacy binary format built-in XGBoost 1.7-1 writes, with the dev group's xgboost (2.1, the
monitoring image's pin, not the container's 1.7), and check the error when xgboost is missing.
"""

from __future__ import annotations

import argparse
import json
import pickle
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
from sklearn.metrics import (  # type: ignore[import-untyped]
    accuracy_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from numpy.typing import NDArray

    Predictor = Callable[[NDArray[np.float64]], NDArray[np.float64]]
    Report = dict[str, dict[str, dict[str, float]]]  # {"metrics": {name: {"value": float}}}

CONTAINER_BASE = "/opt/ml/processing"
MODEL_ARCHIVE = "model.tar.gz"
MODEL_FILE = "xgboost-model"
REPORT_FILE = "evaluation.json"
DECISION_THRESHOLD = 0.5
SUPPORTED_METRICS = ("auc", "accuracy", "f1", "precision", "recall")


class EvaluateError(ValueError):
    """The model or the test data cannot be evaluated; the message says why."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model-dir", default=f"{CONTAINER_BASE}/model")
    parser.add_argument("--test-dir", default=f"{CONTAINER_BASE}/test")
    parser.add_argument("--output-dir", default=f"{CONTAINER_BASE}/evaluation")
    parser.add_argument("--metric-name", default="auc", choices=SUPPORTED_METRICS)
    return parser.parse_args(argv)


def read_test_set(test_dir: Path) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(labels, features) of the headerless CSV files in ``test_dir``; the label is the first column."""
    files = sorted(test_dir.glob("*.csv"))
    if not files:
        raise EvaluateError(f"no *.csv file in {test_dir}")
    frame = pd.concat([pd.read_csv(path, header=None) for path in files], ignore_index=True)
    if frame.shape[1] < 2:
        raise EvaluateError(f"the test set needs a label column and at least one feature, got {frame.shape[1]}")
    values = frame.to_numpy(dtype=np.float64)
    return values[:, 0], values[:, 1:]


def extract_model(model_dir: Path, work_dir: Path) -> Path:
    """Copy ``xgboost-model`` out of ``model_dir``/model.tar.gz into ``work_dir``; no other member is written."""
    archive = model_dir / MODEL_ARCHIVE
    if not archive.is_file():
        raise EvaluateError(f"{archive} not found")
    with tarfile.open(archive, "r:gz") as tar:
        member = next((m for m in tar.getmembers() if m.isfile() and PurePosixPath(m.name).name == MODEL_FILE), None)
        source = tar.extractfile(member) if member is not None else None
        if source is None:
            raise EvaluateError(f"{archive} has no {MODEL_FILE} file")
        target = work_dir / MODEL_FILE
        with source, target.open("wb") as out:
            shutil.copyfileobj(source, out)
    return target


def load_xgboost_predictor(model_path: Path) -> Predictor:
    """A function from feature rows to the booster's predicted probabilities (needs xgboost: the container's).

    Built-in XGBoost 1.3-1 and later save the booster with ``Booster.save_model``; earlier images pickled it, so a
    file ``load_model`` rejects is unpickled (it is this pipeline's own training output).
    """
    try:
        import xgboost  # only the container has it (and the dev group, for the type checker)
    except ImportError as error:
        raise EvaluateError(f"xgboost is needed to score {model_path} and is not installed: {error}") from error
    booster: Any = xgboost.Booster()
    try:
        booster.load_model(str(model_path))
    except xgboost.core.XGBoostError:
        with model_path.open("rb") as file:
            booster = pickle.load(file)

    def predict(features: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(booster.predict(xgboost.DMatrix(features)), dtype=np.float64)

    return predict


def evaluate_predictions(y_true: NDArray[np.float64], y_score: NDArray[np.float64], metric_name: str) -> Report:
    """The report: every supported metric of the probabilities ``y_score`` against the 0/1 labels ``y_true``.

    ``metric_name`` (the one the pipeline's condition reads) must be one of them.
    """
    if metric_name not in SUPPORTED_METRICS:
        raise EvaluateError(f"metric {metric_name!r} is not one of {', '.join(SUPPORTED_METRICS)}")
    labels = np.asarray(y_true, dtype=np.float64)
    scores = np.asarray(y_score, dtype=np.float64)
    if labels.shape != scores.shape or labels.ndim != 1:
        raise EvaluateError(f"{labels.shape[0]} labels but predictions of shape {scores.shape}")
    if set(np.unique(labels)) != {0.0, 1.0}:
        raise EvaluateError("the test labels must contain both classes 0 and 1 (AUC is undefined otherwise)")
    if scores.min() < 0.0 or scores.max() > 1.0:
        raise EvaluateError("predictions must be probabilities in [0, 1]")
    predicted = (scores >= DECISION_THRESHOLD).astype(np.float64)
    values = {
        "auc": roc_auc_score(labels, scores),
        "accuracy": accuracy_score(labels, predicted),
        "f1": f1_score(labels, predicted, zero_division=0),
        "precision": precision_score(labels, predicted, zero_division=0),
        "recall": recall_score(labels, predicted, zero_division=0),
    }
    return {"metrics": {name: {"value": float(values[name])} for name in SUPPORTED_METRICS}}


def write_report(path: Path, report: Report) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def evaluate(test_dir: Path, output_dir: Path, metric_name: str, predict: Predictor) -> Report:
    """Score the test split with ``predict``, write ``output_dir``/evaluation.json and return the report."""
    labels, features = read_test_set(test_dir)
    report = evaluate_predictions(labels, predict(features), metric_name)
    write_report(output_dir / REPORT_FILE, report)
    return report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        with tempfile.TemporaryDirectory() as work_dir:
            model_path = extract_model(Path(args.model_dir), Path(work_dir))
            predict = load_xgboost_predictor(model_path)
            report = evaluate(Path(args.test_dir), Path(args.output_dir), args.metric_name, predict)
    except EvaluateError as error:
        print(f"evaluate: error: {error}", file=sys.stderr)
        return 2
    print(f"evaluate: {args.metric_name} = {report['metrics'][args.metric_name]['value']:.4f}")
    print(f"evaluate: wrote {Path(args.output_dir) / REPORT_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
