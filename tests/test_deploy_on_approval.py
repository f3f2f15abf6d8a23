"""The deploy-on-approval Lambda against SageMaker emulated by moto 5.2.5.

Model Registry, models, endpoint configs and endpoints are moto's. moto does not implement UpdateEndpoint, and
its endpoints are InService at once, so `OperationStubber` (botocore's own `Stubber`, narrowed to named
operations) answers just those calls on the same client: the client validates every request against botocore's
service model as always, the stubber compares the parameters exactly and validates each queued response
against the model; every other call goes on to moto.

Sample events (tests/events/*.json) follow the "Model package state change" example in the SageMaker Developer
Guide (automating-sagemaker-with-eventbridge, #eventbridge-model-package), with this test's group, account and
region (the guide's example repeats "source" as a list, which no real event does; the samples do not).
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ParamValidationError, UnStubbedResponseError
from botocore.stub import Stubber
from moto import mock_aws
from moto.events.models import EventPattern

from mlops_platform import events
from mlops_platform.functions import deploy_on_approval
from mlops_platform.functions.deploy_on_approval import (
    ConfigurationError,
    DeploymentError,
    RetryableDeploymentError,
    Settings,
    deployment_name,
    handler,
)

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's default account, also the samples'
GROUP = "churn-model"
ENDPOINT = "churn-model-prod"
ENDPOINT_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{ENDPOINT}"
BOOTSTRAP = f"{ENDPOINT}-bootstrap"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/churn-model-execution"
KMS_KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
CAPTURE_URI = "s3://mlops-capture-bucket/churn-model-prod"
IMAGE = f"141502667606.dkr.ecr.{REGION}.amazonaws.com/sagemaker-xgboost:1.7-1"
EVENTS_DIR = Path(__file__).parent / "events"
CONTEXT = SimpleNamespace(aws_request_id="0d6c9c8e-6f4b-4a55-9c1e-2b8f0c7d1e42")

ENV = {
    "ENDPOINT_NAME": ENDPOINT,
    "MODEL_PACKAGE_GROUP_NAME": GROUP,
    "MODEL_EXECUTION_ROLE_ARN": ROLE_ARN,
    "INSTANCE_TYPE": "ml.m5.large",
    "INITIAL_INSTANCE_COUNT": "2",
    "CANARY_PERCENT": "10",
    "CANARY_WAIT_SECONDS": "600",
    "ROLLBACK_ALARM_NAMES": "churn-model-prod-5xx, churn-model-prod-latency",
    "KMS_KEY_ARN": KMS_KEY_ARN,
    "DATA_CAPTURE_S3_URI": CAPTURE_URI,
}

EXPECTED_UPDATE_V1 = {
    "EndpointName": ENDPOINT,
    "EndpointConfigName": f"{ENDPOINT}-v1",
    "RetainAllVariantProperties": True,
    "DeploymentConfig": {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
                "WaitIntervalInSeconds": 600,
            },
            "TerminationWaitInSeconds": 600,
            "MaximumExecutionTimeoutInSeconds": 3000,
        },
        "AutoRollbackConfiguration": {
            "Alarms": [{"AlarmName": "churn-model-prod-5xx"}, {"AlarmName": "churn-model-prod-latency"}],
        },
    },
}


class OperationStubber(Stubber):  # type: ignore[misc]
    """botocore's Stubber, active for the named operations only (e.g. "UpdateEndpoint"); other calls reach moto."""

    def __init__(self, client: Any, *operations: str) -> None:
        super().__init__(client)
        service = client.meta.service_model.service_id.hyphenize()
        self._hooks = [(f"before-parameter-build.{service}.{name}", f"before-call.{service}.{name}")
                       for name in operations]

    def activate(self) -> None:
        for build, call in self._hooks:
            self.client.meta.events.register_first(build, self._assert_expected_params,
                                                   unique_id=f"{self._expected_params_event_id}:{build}")
            self.client.meta.events.register(call, self._get_response_handler, unique_id=f"{self._event_id}:{call}")

    def deactivate(self) -> None:
        for build, call in self._hooks:
            self.client.meta.events.unregister(build, self._assert_expected_params,
                                               unique_id=f"{self._expected_params_event_id}:{build}")
            self.client.meta.events.unregister(call, self._get_response_handler, unique_id=f"{self._event_id}:{call}")


# --- fixtures and helpers ---------------------------------------------------------------------------------


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    return ENV


@pytest.fixture
def sagemaker(env: dict[str, str]) -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sagemaker", region_name=REGION)


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS_DIR / f"model-package-{name}.json").read_text())
    return loaded


def approved_event(package_arn: str, version: int) -> dict[str, Any]:
    event = sample("approved")
    event["resources"] = [package_arn]
    event["detail"].update(ModelPackageArn=package_arn, ModelPackageVersion=version)
    return event


def register(client: Any, status: str = "Approved") -> tuple[str, int]:
    """Register the next version of the group (created on first use) and move it to `status`, as a reviewer would."""
    if not client.list_model_package_groups(NameContains=GROUP)["ModelPackageGroupSummaryList"]:
        client.create_model_package_group(ModelPackageGroupName=GROUP)
    arn = client.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={
            "Containers": [{"Image": IMAGE, "ModelDataUrl": "s3://mlops-artifact-models/churn-model/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]
    if status != "PendingManualApproval":
        client.update_model_package(ModelPackageArn=arn, ModelApprovalStatus=status)
    return arn, int(client.describe_model_package(ModelPackageName=arn)["ModelPackageVersion"])


def provision_endpoint(client: Any) -> None:
    """The endpoint as `pulumi up` creates it: a bootstrap model that is no package of the group."""
    client.create_model(ModelName=BOOTSTRAP, ExecutionRoleArn=ROLE_ARN,
                        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": "s3://mlops-artifact-models/bootstrap.tar.gz"})
    client.create_endpoint_config(EndpointConfigName=BOOTSTRAP, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": BOOTSTRAP, "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 2, "InitialVariantWeight": 1.0}])
    client.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=BOOTSTRAP)


def finish_deployment(client: Any, config_name: str) -> None:
    """Where a completed blue/green update leaves the endpoint: InService on the new config. moto has no
    UpdateEndpoint, so the endpoint is recreated on that config through moto's own API."""
    client.delete_endpoint(EndpointName=ENDPOINT)
    client.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=config_name)


def endpoint_description(status: str, config_name: str, pending: str | None = None) -> dict[str, Any]:
    now = datetime.now(UTC)
    description: dict[str, Any] = {"EndpointName": ENDPOINT, "EndpointArn": ENDPOINT_ARN,
                                   "EndpointConfigName": config_name, "EndpointStatus": status,
                                   "CreationTime": now, "LastModifiedTime": now}
    if pending is not None:
        description["PendingDeploymentSummary"] = {"EndpointConfigName": pending, "StartTime": now}
    return description


def expected_update(version: int) -> dict[str, Any]:
    return {**EXPECTED_UPDATE_V1, "EndpointConfigName": f"{ENDPOINT}-v{version}"}


def deploy(client: Any, package_arn: str, version: int) -> dict[str, Any]:
    """Run the handler for an approval, with UpdateEndpoint expected exactly once with the canary parameters."""
    with OperationStubber(client, "UpdateEndpoint") as stub:
        stub.add_response("update_endpoint", {"EndpointArn": ENDPOINT_ARN}, expected_update(version))
        result = handler(approved_event(package_arn, version), CONTEXT, client)
        stub.assert_no_pending_responses()
    return result


def log_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def model_exists(client: Any, name: str) -> bool:
    return any(model["ModelName"] == name for model in client.list_models()["Models"])


# --- deploying --------------------------------------------------------------------------------------------


def test_approved_package_is_deployed_as_a_canary(sagemaker: Any, capsys: pytest.CaptureFixture[str]) -> None:
    arn, version = register(sagemaker)
    provision_endpoint(sagemaker)

    with OperationStubber(sagemaker, "UpdateEndpoint") as stub:
        stub.add_response("update_endpoint", {"EndpointArn": ENDPOINT_ARN}, EXPECTED_UPDATE_V1)
        result = handler(sample("approved"), CONTEXT, sagemaker)
        stub.assert_no_pending_responses()

    assert (arn, version) == (sample("approved")["detail"]["ModelPackageArn"], 1)
    assert result == {"status": "deploying", "modelPackageVersion": 1, "endpointConfigName": f"{ENDPOINT}-v1"}
    model = sagemaker.describe_model(ModelName=f"{ENDPOINT}-v1")
    assert model["PrimaryContainer"] == {"ModelPackageName": arn}
    assert model["ExecutionRoleArn"] == ROLE_ARN
    config = sagemaker.describe_endpoint_config(EndpointConfigName=f"{ENDPOINT}-v1")
    assert config["ProductionVariants"] == [{"VariantName": "AllTraffic", "ModelName": f"{ENDPOINT}-v1",
                                             "InstanceType": "ml.m5.large", "InitialInstanceCount": 2,
                                             "InitialVariantWeight": 1.0}]
    assert config["KmsKeyId"] == KMS_KEY_ARN
    assert config["DataCaptureConfig"] == {
        "EnableCapture": True, "InitialSamplingPercentage": 100, "DestinationS3Uri": CAPTURE_URI,
        "KmsKeyId": KMS_KEY_ARN, "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]}
    tags = sagemaker.list_tags(ResourceArn=config["EndpointConfigArn"])["Tags"]
    assert {"Key": "mlops:model-package-version", "Value": "1"} in tags

    lines = log_lines(capsys)
    assert all(line["eventId"] == sample("approved")["id"] and line["requestId"] == CONTEXT.aws_request_id
               for line in lines)
    assert lines[-1]["decision"] == "deploying" and lines[-1]["modelPackageArn"] == arn


def test_without_data_capture_uri_the_config_captures_nothing(sagemaker: Any,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATA_CAPTURE_S3_URI")
    arn, version = register(sagemaker)
    provision_endpoint(sagemaker)

    assert deploy(sagemaker, arn, version)["status"] == "deploying"
    config = sagemaker.describe_endpoint_config(EndpointConfigName=f"{ENDPOINT}-v1")
    assert not config.get("DataCaptureConfig")  # moto describes an absent DataCaptureConfig as {}
    assert config["KmsKeyId"] == KMS_KEY_ARN


def test_same_package_twice_deploys_once(sagemaker: Any) -> None:
    arn, version = register(sagemaker)
    provision_endpoint(sagemaker)
    assert deploy(sagemaker, arn, version)["status"] == "deploying"
    finish_deployment(sagemaker, f"{ENDPOINT}-v1")

    # Any UpdateEndpoint call now would raise UnStubbedResponseError: none is queued.
    with OperationStubber(sagemaker, "UpdateEndpoint"):
        again = handler(approved_event(arn, version), CONTEXT, sagemaker)

    assert again == {"status": "already-deployed", "modelPackageVersion": 1, "endpointConfigName": f"{ENDPOINT}-v1"}


def test_duplicate_event_during_the_deployment_is_already_deploying(sagemaker: Any) -> None:
    arn, version = register(sagemaker)
    provision_endpoint(sagemaker)
    assert deploy(sagemaker, arn, version)["status"] == "deploying"

    with OperationStubber(sagemaker, "DescribeEndpoint", "UpdateEndpoint") as stub:
        stub.add_response("describe_endpoint", endpoint_description("Updating", BOOTSTRAP, f"{ENDPOINT}-v1"),
                          {"EndpointName": ENDPOINT})
        again = handler(approved_event(arn, version), CONTEXT, sagemaker)
        stub.assert_no_pending_responses()

    assert again == {"status": "already-deploying", "modelPackageVersion": 1}


def test_older_approval_after_a_newer_one_is_superseded(sagemaker: Any) -> None:
    old_arn, old_version = register(sagemaker)
    new_arn, new_version = register(sagemaker)
    provision_endpoint(sagemaker)
    assert deploy(sagemaker, new_arn, new_version)["status"] == "deploying"
    finish_deployment(sagemaker, f"{ENDPOINT}-v2")

    with OperationStubber(sagemaker, "UpdateEndpoint"):
        late = handler(approved_event(old_arn, old_version), CONTEXT, sagemaker)

    assert late == {"status": "superseded", "modelPackageVersion": 1, "deployedVersion": 2}
    assert not model_exists(sagemaker, f"{ENDPOINT}-v1")
    assert sagemaker.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"] == f"{ENDPOINT}-v2"


def test_older_approval_while_a_newer_one_deploys_is_superseded(sagemaker: Any) -> None:
    old_arn, old_version = register(sagemaker)
    new_arn, new_version = register(sagemaker)
    provision_endpoint(sagemaker)
    assert deploy(sagemaker, new_arn, new_version)["status"] == "deploying"

    with OperationStubber(sagemaker, "DescribeEndpoint", "UpdateEndpoint") as stub:
        stub.add_response("describe_endpoint", endpoint_description("Updating", BOOTSTRAP, f"{ENDPOINT}-v2"))
        late = handler(approved_event(old_arn, old_version), CONTEXT, sagemaker)
        stub.assert_no_pending_responses()

    assert late == {"status": "superseded", "modelPackageVersion": 1, "deployedVersion": 2}


def test_newer_approval_replaces_the_deployed_version(sagemaker: Any) -> None:
    first_arn, first_version = register(sagemaker)
    second_arn, second_version = register(sagemaker)
    provision_endpoint(sagemaker)
    assert deploy(sagemaker, first_arn, first_version)["status"] == "deploying"
    finish_deployment(sagemaker, f"{ENDPOINT}-v1")

    result = deploy(sagemaker, second_arn, second_version)

    assert result == {"status": "deploying", "modelPackageVersion": 2, "endpointConfigName": f"{ENDPOINT}-v2",
                      "previousVersion": 1}


def test_model_and_config_left_by_a_failed_attempt_are_reused(sagemaker: Any) -> None:
    arn, version = register(sagemaker)
    provision_endpoint(sagemaker)
    name = f"{ENDPOINT}-v1"
    sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE_ARN, PrimaryContainer={"ModelPackageName": arn},
                           Tags=[{"Key": "attempt", "Value": "1"}])
    sagemaker.create_endpoint_config(EndpointConfigName=name, KmsKeyId=KMS_KEY_ARN, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": name, "InstanceType": "ml.m5.large", "InitialInstanceCount": 2}],
        Tags=[{"Key": "attempt", "Value": "1"}])

    result = deploy(sagemaker, arn, version)

    assert result == {"status": "deploying", "modelPackageVersion": 1, "endpointConfigName": name}
    # moto would overwrite on a second create (real SageMaker refuses): the first attempt's tags prove reuse.
    model_arn = sagemaker.describe_model(ModelName=name)["ModelArn"]
    config_arn = sagemaker.describe_endpoint_config(EndpointConfigName=name)["EndpointConfigArn"]
    assert sagemaker.list_tags(ResourceArn=model_arn)["Tags"] == [{"Key": "attempt", "Value": "1"}]
    assert sagemaker.list_tags(ResourceArn=config_arn)["Tags"] == [{"Key": "attempt", "Value": "1"}]


def test_endpoint_config_created_concurrently_is_not_an_error(sagemaker: Any) -> None:
    arn, version = register(sagemaker)
    provision_endpoint(sagemaker)
    config_arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint-config/{ENDPOINT}-v1"

    with OperationStubber(sagemaker, "CreateEndpointConfig", "UpdateEndpoint") as stub:
        stub.add_client_error("create_endpoint_config", "ValidationException",
                              f'Cannot create already existing endpoint configuration "{config_arn}".')
        stub.add_response("update_endpoint", {"EndpointArn": ENDPOINT_ARN}, EXPECTED_UPDATE_V1)
        result = handler(approved_event(arn, version), CONTEXT, sagemaker)
        stub.assert_no_pending_responses()

    assert result == {"status": "deploying", "modelPackageVersion": 1, "endpointConfigName": f"{ENDPOINT}-v1"}


# --- events that deploy nothing ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["rejected", "pending"])
def test_rejected_and_pending_events_are_ignored_without_aws_calls(sagemaker: Any, name: str) -> None:
    with Stubber(sagemaker):  # nothing queued: any AWS call at all raises UnStubbedResponseError
        result = handler(sample(name), CONTEXT, sagemaker)

    assert result["status"] == "ignored"
    assert sample(name)["detail"]["ModelApprovalStatus"] in result["reason"]


def test_other_group_is_ignored_without_aws_calls(sagemaker: Any) -> None:
    event = sample("approved")
    event["detail"]["ModelPackageGroupName"] = "fraud-model"

    with Stubber(sagemaker):
        result = handler(event, CONTEXT, sagemaker)

    assert result == {"status": "ignored", "reason": "model package group 'fraud-model' is not 'churn-model'"}


def _without_detail() -> dict[str, Any]:
    event = sample("approved")
    del event["detail"]
    return event


def _with(**changes: Any) -> dict[str, Any]:
    event = sample("approved")
    event.update(changes)
    return event


def _with_detail(**changes: Any) -> dict[str, Any]:
    event = sample("approved")
    event["detail"].update(changes)
    for key in [key for key, value in changes.items() if value is None]:
        del event["detail"][key]
    return event


@pytest.mark.parametrize(("event", "reason"), [
    ("not an event", "is a str, not a JSON object"),
    ([sample("approved")], "is a list, not a JSON object"),
    (None, "is a NoneType, not a JSON object"),
    (_without_detail(), "no 'detail' object"),
    (_with(detail="Approved"), "no 'detail' object"),
    (_with(**{"detail-type": "SageMaker Model State Change"}), "detail-type is 'SageMaker Model State Change'"),
    (_with(source="aws.events"), "source is 'aws.events'"),
    (_with_detail(ModelPackageArn=None), "detail.ModelPackageArn is missing"),
    (_with_detail(ModelPackageGroupName=""), "detail.ModelPackageGroupName is missing"),
    (_with_detail(ModelPackageVersion="1"), "detail.ModelPackageVersion is missing or not a positive integer"),
    (_with_detail(ModelPackageVersion=0), "detail.ModelPackageVersion is missing or not a positive integer"),
    (_with_detail(ModelApprovalStatus=None), "detail.ModelApprovalStatus is missing"),
])
def test_malformed_events_are_rejected_without_aws_calls(sagemaker: Any, event: object, reason: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    with Stubber(sagemaker):
        result = handler(event, CONTEXT, sagemaker)

    assert result["status"] == "rejected"
    assert reason in result["reason"]
    assert log_lines(capsys)[-1]["decision"] == "rejected"


def test_stale_event_for_a_package_rejected_since_is_ignored(sagemaker: Any) -> None:
    arn, version = register(sagemaker)
    provision_endpoint(sagemaker)
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")

    with OperationStubber(sagemaker, "UpdateEndpoint"):
        result = handler(approved_event(arn, version), CONTEXT, sagemaker)

    assert result == {"status": "ignored", "reason": "the package is Rejected now: the event is stale"}
    assert not model_exists(sagemaker, f"{ENDPOINT}-v1")


def test_event_for_a_package_that_does_not_exist_is_ignored(sagemaker: Any) -> None:
    register(sagemaker)
    provision_endpoint(sagemaker)
    unknown = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{GROUP}/7"

    with OperationStubber(sagemaker, "UpdateEndpoint"):
        result = handler(approved_event(unknown, 7), CONTEXT, sagemaker)

    assert result == {"status": "ignored", "reason": "the model package no longer exists"}


# --- the endpoint is not ready ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["Updating", "Creating", "SystemUpdating", "RollingBack"])
def test_busy_endpoint_raises_a_retryable_error(sagemaker: Any, status: str) -> None:
    arn, version = register(sagemaker)
    provision_endpoint(sagemaker)

    with OperationStubber(sagemaker, "DescribeEndpoint", "UpdateEndpoint") as stub:
        stub.add_response("describe_endpoint", endpoint_description(status, BOOTSTRAP))
        with pytest.raises(RetryableDeploymentError, match=f"'{ENDPOINT}' is {status}; retry once it is InService"):
            handler(approved_event(arn, version), CONTEXT, sagemaker)
        stub.assert_no_pending_responses()


@pytest.mark.parametrize("status", ["Failed", "OutOfService", "Deleting", "UpdateRollbackFailed"])
def test_broken_endpoint_raises_a_deployment_error(sagemaker: Any, status: str) -> None:
    arn, version = register(sagemaker)
    provision_endpoint(sagemaker)

    with OperationStubber(sagemaker, "DescribeEndpoint", "UpdateEndpoint") as stub:
        stub.add_response("describe_endpoint", endpoint_description(status, BOOTSTRAP))
        with pytest.raises(DeploymentError, match=f"is {status}"):
            handler(approved_event(arn, version), CONTEXT, sagemaker)


def test_update_refused_while_another_is_in_progress_is_retryable(sagemaker: Any) -> None:
    arn, version = register(sagemaker)
    provision_endpoint(sagemaker)

    with OperationStubber(sagemaker, "UpdateEndpoint") as stub:
        stub.add_client_error("update_endpoint", "ValidationException",
                              f'Cannot update in-progress endpoint "{ENDPOINT_ARN}".',
                              expected_params=EXPECTED_UPDATE_V1)
        with pytest.raises(RetryableDeploymentError, match="ValidationException"):
            handler(approved_event(arn, version), CONTEXT, sagemaker)
        stub.assert_no_pending_responses()


def test_missing_endpoint_raises_a_deployment_error_for_the_dlq(sagemaker: Any,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    arn, version = register(sagemaker)

    with OperationStubber(sagemaker, "UpdateEndpoint"), pytest.raises(DeploymentError) as raised:
        handler(approved_event(arn, version), CONTEXT, sagemaker)

    assert type(raised.value) is DeploymentError
    assert f"endpoint '{ENDPOINT}' does not exist" in str(raised.value)
    assert "pulumi up" in str(raised.value)
    last = log_lines(capsys)[-1]
    assert (last["level"], last["decision"], last["modelPackageArn"]) == ("ERROR", "endpoint-missing", arn)
    assert not model_exists(sagemaker, f"{ENDPOINT}-v1")


# --- configuration ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [name for name in ENV if name != "DATA_CAPTURE_S3_URI"])
def test_missing_environment_variable_is_named(sagemaker: Any, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.delenv(name)

    with pytest.raises(ConfigurationError, match=f"missing environment variable {name}$"):
        handler(sample("approved"), CONTEXT, sagemaker)


@pytest.mark.parametrize(("name", "value", "rule"), [
    ("CANARY_PERCENT", "80", "from 1 to 50"),
    ("CANARY_PERCENT", "0", "from 1 to 50"),
    ("CANARY_PERCENT", "ten", "from 1 to 50"),
    ("CANARY_WAIT_SECONDS", "3601", "from 0 to 3600"),
    ("CANARY_WAIT_SECONDS", "-5", "from 0 to 3600"),
    ("INITIAL_INSTANCE_COUNT", "0", ">= 1"),
    ("ROLLBACK_ALARM_NAMES", " , ", "1 to 10 CloudWatch alarm names"),
    ("ROLLBACK_ALARM_NAMES", ",".join(f"alarm-{n}" for n in range(11)), "1 to 10 CloudWatch alarm names"),
    ("ENDPOINT_NAME", "churn_model", "a SageMaker endpoint name"),
    ("MODEL_EXECUTION_ROLE_ARN", "churn-model-execution", "an IAM role ARN"),
    ("INSTANCE_TYPE", "m5.large", "a SageMaker instance type"),
    ("KMS_KEY_ARN", "1234abcd-12ab-34cd-56ef-1234567890ab", "a KMS key (or alias) ARN"),
    ("DATA_CAPTURE_S3_URI", "https://example.com/capture", "an s3://bucket/prefix URI"),
])
def test_invalid_environment_variable_is_named(name: str, value: str, rule: str) -> None:
    with pytest.raises(ConfigurationError, match=f"invalid environment variable {name}=") as raised:
        Settings.from_env({**ENV, name: value})

    assert rule in str(raised.value)


def test_settings_from_environment() -> None:
    settings = Settings.from_env({**ENV, "DATA_CAPTURE_S3_URI": ""})

    assert settings.rollback_alarm_names == ("churn-model-prod-5xx", "churn-model-prod-latency")
    assert (settings.initial_instance_count, settings.canary_percent, settings.canary_wait_seconds) == (2, 10, 600)
    assert settings.data_capture_s3_uri is None


# --- names, events and packaging --------------------------------------------------------------------------


def test_deployment_names_stay_within_sagemaker_limits() -> None:
    long_a = "a" * 40 + "-endpoint-" + "x" * 13
    long_b = "a" * 40 + "-endpoint-" + "y" * 13

    assert deployment_name(ENDPOINT, 12) == f"{ENDPOINT}-v12"
    for name in (deployment_name(long_a, 12345), deployment_name(long_b, 12345)):
        assert len(name) <= 63 and name.endswith("-v12345")
        assert deploy_on_approval._SAGEMAKER_NAME.fullmatch(name)
    assert deployment_name(long_a, 12345) != deployment_name(long_b, 12345)


def test_stubbed_update_endpoint_is_still_validated_against_the_service_model(sagemaker: Any) -> None:
    invalid = {**EXPECTED_UPDATE_V1, "DeploymentConfig": {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {
        "Type": "CANARY", "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 0}, "WaitIntervalInSeconds": 600}}}}

    with OperationStubber(sagemaker, "UpdateEndpoint") as stub:
        stub.add_response("update_endpoint", {"EndpointArn": ENDPOINT_ARN})
        with pytest.raises(ParamValidationError, match=r"CanarySize\.Value"):
            sagemaker.update_endpoint(**invalid)
        with pytest.raises(AssertionError, match="1 responses remaining"):
            stub.assert_no_pending_responses()  # refused before reaching the stub


def test_operation_stubber_leaves_other_operations_to_moto_and_refuses_unqueued_calls(sagemaker: Any) -> None:
    provision_endpoint(sagemaker)

    with OperationStubber(sagemaker, "UpdateEndpoint"):
        assert sagemaker.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"] == BOOTSTRAP
        with pytest.raises(UnStubbedResponseError):
            sagemaker.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName=BOOTSTRAP)


def test_event_type_and_pattern_match_the_samples() -> None:
    pattern = EventPattern.load(json.dumps(events.model_package_approved_pattern(GROUP)))

    assert deploy_on_approval.EVENT_DETAIL_TYPE == events.MODEL_PACKAGE_STATE_CHANGE
    assert pattern.matches_event(sample("approved"))
    assert not pattern.matches_event(sample("rejected"))
    assert not pattern.matches_event(sample("pending"))


def test_handler_module_stands_alone() -> None:
    """The component packages this one file, so it may import only the standard library and boto3."""
    tree = ast.parse(Path(deploy_on_approval.__file__).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module and node.level == 0}

    assert imported <= {"__future__", "functools", "hashlib", "json", "os", "re", "collections", "dataclasses",
                        "typing", "boto3", "botocore"}


def sqs_batch(*events: object) -> dict[str, Any]:
    """What the approvals queue hands the function: EventBridge events as message bodies (AWS's SQS event shape)."""
    return {"Records": [{"messageId": f"m-{index}", "receiptHandle": f"r-{index}",
                         "body": event if isinstance(event, str) else json.dumps(event),
                         "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                         "eventSource": "aws:sqs", "awsRegion": "eu-west-1",
                         "eventSourceARN": "arn:aws:sqs:eu-west-1:111111111111:churn-prod-approvals"}
                        for index, event in enumerate(events)]}


def test_an_approval_from_the_queue_is_deployed(sagemaker: Any) -> None:
    arn, version = register(sagemaker)
    provision_endpoint(sagemaker)
    with OperationStubber(sagemaker, "UpdateEndpoint") as stub:
        stub.add_response("update_endpoint", {"EndpointArn": ENDPOINT_ARN}, expected_update(version))
        result = handler(sqs_batch(approved_event(arn, version)), CONTEXT, sagemaker)
        stub.assert_no_pending_responses()
    assert [r["status"] for r in result["results"]] == ["deploying"]


def test_a_busy_endpoint_leaves_the_message_on_the_queue(sagemaker: Any) -> None:
    arn, version = register(sagemaker)
    provision_endpoint(sagemaker)
    with OperationStubber(sagemaker, "DescribeEndpoint", "UpdateEndpoint") as stub:
        stub.add_response("describe_endpoint", endpoint_description("Updating", BOOTSTRAP))
        with pytest.raises(RetryableDeploymentError):
            handler(sqs_batch(approved_event(arn, version)), CONTEXT, sagemaker)


def test_an_unreadable_message_is_rejected_not_retried(sagemaker: Any) -> None:
    result = handler(sqs_batch("not json {"), CONTEXT, sagemaker)
    assert [r["status"] for r in result["results"]] == ["rejected"]
