"""The bias and explainability engine through the monitoring image's entry point, with the real libraries
(Fairlearn, XGBoost's TreeSHAP) on generated data: biased and fair training data through the real preprocess step,
a real XGBoost model saved as the built-in XGBoost 1.7-1 container saves it, the gate failing on biased and
passing on fair data, and the explanations ranking the planted informative feature first."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
import pytest
import xgboost

from mlops_platform import monitoring_image
from mlops_platform.pipelines.steps import preprocess
from tests.images.test_drift_engine import entry_point

LIMITS = ["--limit", "statistical_parity_difference=0.1", "--limit", "equalized_odds_difference=0.15",
          "--limit", "difference_in_positive_proportions=0.1"]


def raw_data(rows: int, biased: bool, seed: int) -> pd.DataFrame:
    """`signal` decides the label; in the biased data so does the facet `group` (A is favoured)."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["A", "B"], rows)
    signal = rng.normal(0, 1, rows)
    noise = rng.normal(0, 1, (rows, 2))
    score = 2.0 * signal + (1.5 * (group == "A") - 0.75 if biased else 0.0) + rng.normal(0, 0.3, rows)
    return pd.DataFrame({"signal": signal, "noise_a": noise[:, 0], "noise_b": noise[:, 1], "group": group,
                         "label": (score > 0).astype(int)})


def train_model(train_csv: Path, model_dir: Path) -> Path:
    """A booster fitted on the train split, in `model.tar.gz` as `xgboost-model` in XGBoost's legacy binary format
    (what built-in XGBoost 1.7-1's `save_model` writes for a file name without extension)."""
    values = np.loadtxt(train_csv, delimiter=",")
    booster = xgboost.train({"objective": "binary:logistic", "max_depth": 3, "eta": 0.3},
                            xgboost.DMatrix(values[:, 1:], label=values[:, 0]), num_boost_round=40)
    model_dir.mkdir(parents=True)
    legacy = model_dir / "model.deprecated"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*deprecated binary model format", category=UserWarning)
        booster.save_model(str(legacy))
    assert not legacy.read_bytes().startswith((b"{", b"{L")), "the legacy binary format, not JSON/UBJSON"
    with tarfile.open(model_dir / "model.tar.gz", "w:gz") as archive:
        archive.add(legacy, arcname="xgboost-model")
    legacy.unlink()
    return model_dir


def run_bias_baseline(root: Path, biased: bool) -> tuple[subprocess.CompletedProcess[str], Path]:
    raw = root / "raw"
    raw.mkdir(parents=True)
    raw_data(6000, biased, seed=7).to_csv(raw / "data.csv", index=False)
    result = preprocess.preprocess(raw, root / "splits", "label", 42)
    model_dir = train_model(result.files["train"], root / "model")
    output = root / "bias"
    arguments = ["bias-baseline", "--train-dir", str(root / "splits" / "train"), "--test-dir",
                 str(root / "splits" / "test"), "--schema-dir", str(root / "splits" / "schema"), "--model-dir",
                 str(model_dir), "--output-dir", str(output), "--facet", "group", *LIMITS]
    env = {**os.environ, "PYTHONPATH": str(monitoring_image.IMAGE_DIR)}
    done = subprocess.run([sys.executable, *entry_point()[1:], *arguments], capture_output=True, text=True,
                          env=env, check=False)
    return done, output


def report(output: Path, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((output / name).read_text())
    return loaded


@pytest.fixture(scope="module")
def biased(tmp_path_factory: pytest.TempPathFactory) -> Path:
    done, output = run_bias_baseline(tmp_path_factory.mktemp("biased"), biased=True)
    assert done.returncode == 0, done.stderr
    assert "limits breached: difference_in_positive_proportions=" in done.stdout
    return output


@pytest.fixture(scope="module")
def fair(tmp_path_factory: pytest.TempPathFactory) -> Path:
    done, output = run_bias_baseline(tmp_path_factory.mktemp("fair"), biased=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("limits breached: none")
    return output


def test_biased_data_breaches_the_gate_naming_the_metrics(biased: Path) -> None:
    gate = report(biased, monitoring_image.BIAS_GATE_FILE)
    assert gate["breachedCount"] == 2
    assert [part.split("=")[0] for part in gate["breached"].split(", ")] == [
        "difference_in_positive_proportions", "statistical_parity_difference"]
    assert gate["values"]["statistical_parity_difference"] > 0.2
    assert gate["values"]["equalized_odds_difference"] <= 0.15, "the model is as accurate for both groups"


def test_fair_data_passes_the_gate(fair: Path) -> None:
    gate = report(fair, monitoring_image.BIAS_GATE_FILE)
    assert (gate["breachedCount"], gate["breached"]) == (0, "none")
    assert set(gate["values"]) == {"statistical_parity_difference", "equalized_odds_difference",
                                   "difference_in_positive_proportions"}
    assert all(value < 0.1 for value in gate["values"].values())


def test_pre_training_report_is_clarify_shaped_per_group(biased: Path) -> None:
    pre = report(biased, monitoring_image.PRE_TRAINING_BIAS_FILE)
    facets = pre["pre_training_bias_metrics"]["facets"]["group"]
    assert {entry["value_or_threshold"] for entry in facets} == {"A", "B"}
    dpl = {entry["value_or_threshold"]: next(m["value"] for m in entry["metrics"] if m["name"] == "DPL")
           for entry in facets}
    assert dpl["A"] < 0 < dpl["B"], "A has more positive labels than the rest"
    assert abs(pre["summary"]["class_imbalance"]) < 0.1, "the groups are drawn evenly"


def test_post_training_report_is_the_live_checks_baseline(fair: Path) -> None:
    post = report(fair, monitoring_image.POST_TRAINING_BIAS_FILE)
    assert post["features"] == ["signal", "noise_a", "noise_b", "group_A", "group_B"]
    assert (post["facet"], post["groups"], post["decisionThreshold"]) == ("group", ["A", "B"], 0.5)
    assert set(post["summary"]) == {"statistical_parity_difference", "equalized_odds_difference"}


@pytest.mark.parametrize("data", ["biased", "fair"])
def test_tree_shap_ranks_the_informative_feature_first(data: str, request: pytest.FixtureRequest) -> None:
    explanations = report(request.getfixturevalue(data), monitoring_image.EXPLAINABILITY_FILE)["explanations"]
    shap = explanations["tree_shap"]
    assert shap["ranking"][0] == "signal"
    values = shap["global_shap_values"]
    assert values["signal"] > 5 * max(values["noise_a"], values["noise_b"])
    if data == "biased":
        assert shap["ranking"][1] in ("group_A", "group_B"), "the facet is what else the biased labels follow"


def test_a_facet_the_data_lacks_is_one_error_line(tmp_path: Path) -> None:
    root = tmp_path
    (root / "raw").mkdir()
    raw_data(300, False, seed=1).to_csv(root / "raw" / "data.csv", index=False)
    preprocess.preprocess(root / "raw", root / "splits", "label", 42)
    arguments = ["bias-baseline", "--train-dir", str(root / "splits" / "train"), "--test-dir",
                 str(root / "splits" / "test"), "--schema-dir", str(root / "splits" / "schema"), "--model-dir",
                 str(root / "none"), "--output-dir", str(root / "out"), "--facet", "gender", *LIMITS]
    env = {**os.environ, "PYTHONPATH": str(monitoring_image.IMAGE_DIR)}
    done = subprocess.run([sys.executable, *entry_point()[1:], *arguments], capture_output=True, text=True,
                          env=env, check=False)
    assert done.returncode == 2
    assert done.stderr.startswith("mlops_monitoring bias-baseline: error: facet 'gender' is neither a feature nor ")
    assert done.stderr.count("\n") == 1
