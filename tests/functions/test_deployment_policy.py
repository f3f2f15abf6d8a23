"""One canary policy: the Pulumi endpoint and the approval deployer render the same blue/green update, and
every allowed canary wait fits SageMaker's limits (waits 0..3600 s, execution timeout 600..28800 s) with both
waits inside the timeout."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from mlops_platform.components.serving import blue_green_policy_args
from mlops_platform.config import UseCase
from mlops_platform.functions.deploy_on_approval import (
    MAX_EXECUTION_TIMEOUT_SECONDS,
    MIN_EXECUTION_TIMEOUT_SECONDS,
    blue_green_update_policy,
)

CANARY_WAITS = range(0, 3601)
"""config.py's canaryWaitSeconds bounds."""


def _pulumi_policy_in_api_shape(canary_percent: int, wait: int) -> dict[str, object]:
    args: Mapping[str, Any] = blue_green_policy_args(canary_percent, wait)
    routing = args["traffic_routing_configuration"]
    size = routing["canary_size"]
    return {
        "TrafficRoutingConfiguration": {
            "Type": routing["type"], "CanarySize": {"Type": size["type"], "Value": size["value"]},
            "WaitIntervalInSeconds": routing.get("wait_interval_in_seconds"),
        },
        "TerminationWaitInSeconds": args.get("termination_wait_in_seconds"),
        "MaximumExecutionTimeoutInSeconds": args.get("maximum_execution_timeout_in_seconds"),
    }


@pytest.mark.parametrize(("percent", "wait"), [(1, 0), (10, 600), (50, 3600), (25, 1799)])
def test_pulumi_and_the_deployer_render_the_same_policy(percent: int, wait: int) -> None:
    assert _pulumi_policy_in_api_shape(percent, wait) == blue_green_update_policy(percent, wait)


def test_every_allowed_canary_wait_fits_inside_the_execution_timeout() -> None:
    for wait in CANARY_WAITS:
        policy = blue_green_update_policy(10, wait)
        timeout = policy["MaximumExecutionTimeoutInSeconds"]
        assert MIN_EXECUTION_TIMEOUT_SECONDS <= timeout <= MAX_EXECUTION_TIMEOUT_SECONDS
        assert 0 <= policy["TerminationWaitInSeconds"] <= 3600
        assert policy["TerminationWaitInSeconds"] + policy["TrafficRoutingConfiguration"][
            "WaitIntervalInSeconds"] < timeout, wait


def test_the_config_default_wait_is_rendered_by_both() -> None:
    wait = UseCase.__dataclass_fields__["canary_wait_seconds"].default
    assert isinstance(wait, int)
    assert blue_green_update_policy(10, wait)["TerminationWaitInSeconds"] == wait
    assert blue_green_policy_args(10, wait).get("termination_wait_in_seconds") == wait
