"""The version each endpoint serves is the serving tier's SSM state, never config: a new account deploys the
serving stacks with no model, and a recorded version is checked before anything is built on it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mlops_platform import contract
from mlops_platform.cli import app
from mlops_platform.config import UseCase
from mlops_platform.offline import size_capture
from mlops_platform.tiers.serving import ServingStateError, check_served_versions

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = "333333333333"
PATH = contract.served_models_path("prod")
GOOD = f"arn:aws:sagemaker:eu-west-1:{REGISTRY}:model-package/churn/4"


def check(recorded: dict[str, str]) -> dict[str, str]:
    return check_served_versions(recorded, "prod", [UseCase("churn")], "eu-west-1", REGISTRY)


def test_a_recorded_version_of_the_group_in_the_registry_is_served() -> None:
    assert check({f"{PATH}churn": GOOD}) == {"churn": GOOD}
    assert check({}) == {}, "a new account records nothing: nothing is served"


@pytest.mark.parametrize("value", [
    f"arn:aws:sagemaker:eu-west-1:{REGISTRY}:model-package/churn",
    f"arn:aws:sagemaker:eu-west-1:{REGISTRY}:model-package/fraud/4",
    "arn:aws:sagemaker:eu-west-1:444444444444:model-package/churn/4",
    f"arn:aws:sagemaker:us-east-1:{REGISTRY}:model-package/churn/4",
    "churn/4",
])
def test_a_recorded_version_outside_the_registry_or_group_is_refused_by_name(value: str) -> None:
    with pytest.raises(ServingStateError) as raised:
        check({f"{PATH}churn": value})
    message = str(raised.value)
    assert f"SSM parameter {PATH}churn = {value!r}" in message
    assert f"arn:aws:sagemaker:eu-west-1:{REGISTRY}:model-package/churn/<version>" in message


def test_a_version_recorded_for_a_use_case_no_longer_served_builds_nothing() -> None:
    assert check({f"{PATH}fraud": f"arn:aws:sagemaker:eu-west-1:{REGISTRY}:model-package/fraud/2"}) == {}


def run_preview_json(*args: str) -> tuple[int, dict[str, Any] | None, str]:
    result = CliRunner().invoke(app, ["preview", "--project-dir", str(ROOT), "--size", "small", *args])
    parsed = json.loads(result.stdout) if result.exit_code in (0, 1) and "--json" in args else None
    return result.exit_code, parsed, result.stderr


def endpoints(document: dict[str, Any]) -> list[str]:
    return [f"{stack['name']}:{r['name']}" for stack in document["stacks"] for r in stack["resources"]
            if r["type"] == "aws:sagemaker/endpoint:Endpoint"]


def test_the_shipped_config_previews_as_a_new_account_and_after_the_first_approval() -> None:
    code, fresh, _ = run_preview_json("--json")
    assert code == 0 and fresh is not None
    assert fresh["serving"] is False and endpoints(fresh) == []
    code, served, _ = run_preview_json("--json", "--serving")
    assert code == 0 and served is not None
    assert served["serving"] is True and endpoints(served) == ["prod:prod-churn"]


def test_a_corrupt_recorded_version_fails_the_preview_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(size_capture, "first_approval_state", lambda config: {
        contract.served_model_parameter("prod", "churn"): "arn:aws:sagemaker:eu-west-1:999999999999:model-package/x/1"
    } if "prod" in config.stack.tiers else {})

    code, _, stderr = run_preview_json("--serving")

    assert code == 2
    assert "Traceback" not in stderr
    assert f"SSM parameter {contract.served_model_parameter('prod', 'churn')} = " in stderr
