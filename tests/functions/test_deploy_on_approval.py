"""The deploy-on-approval Lambda against SageMaker, SSM, SNS and SQS emulated by moto 5.2.5.

Model Registry, models, endpoint configs and endpoints are moto's; so are the served-version parameter, the
notices topic (subscribed by an inbox queue the tests read) and the dead-letter queue. moto does not implement
UpdateEndpoint, and its endpoints are InService at once, so `OperationStubber` (botocore's own `Stubber`,
narrowed to named operations) answers just those calls on the same client: the client validates every request
against botocore's service model as always, the stubber compares the parameters exactly and validates each
queued response against the model; every other call goes on to moto.

Sample events (tests/events/*.json) follow the "Model package state change" and "Endpoint state change" examples
in the SageMaker Developer Guide (automating-sagemaker-with-eventbridge, #eventbridge-model-package and
#eventbridge-endpoint), with this test's group, endpoint, account and region (the guide's package example repeats
"source" as a list, which no real event does; the samples do not).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
from botocore.exceptions import ClientError, ParamValidationError, UnStubbedResponseError
from botocore.stub import Stubber
from moto import mock_aws
from moto.events.models import EventPattern
from moto.events.utils import EventMessageType

from mlops_platform import events
from mlops_platform.functions import deploy_on_approval, environment
from mlops_platform.functions.deploy_on_approval import (
    ROLLOUT_STARTED_TAG,
    Clients,
    RetryableDeploymentError,
    Settings,
    deployment_name,
    handler,
)
from mlops_platform.functions.environment import ConfigurationError

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
EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"
CONTEXT = SimpleNamespace(aws_request_id="0d6c9c8e-6f4b-4a55-9c1e-2b8f0c7d1e42")
PARAMETER = "/mlops-platform/serving/prod/churn-model"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:{ENDPOINT}-deploy-notices"
DLQ_URL = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{ENDPOINT}-deploy-dlq"

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
    "SERVED_MODEL_PARAMETER": PARAMETER,
    "NOTICES_TOPIC_ARN": TOPIC_ARN,
    "DEAD_LETTER_QUEUE_URL": DLQ_URL,
    "STACK_NAME": "prod",
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
def aws(env: dict[str, str]) -> Iterator[Clients]:
    """The function's clients against moto, with its notices topic (read through an inbox queue) and DLQ."""
    with mock_aws():
        clients = Clients(sagemaker=boto3.client("sagemaker", region_name=REGION),
                          ssm=boto3.client("ssm", region_name=REGION), sns=boto3.client("sns", region_name=REGION),
                          sqs=boto3.client("sqs", region_name=REGION))
        assert clients.sns.create_topic(Name=f"{ENDPOINT}-deploy-notices")["TopicArn"] == TOPIC_ARN
        assert clients.sqs.create_queue(QueueName=f"{ENDPOINT}-deploy-dlq")["QueueUrl"] == DLQ_URL
        inbox = clients.sqs.create_queue(QueueName="notices-inbox")["QueueUrl"]
        inbox_arn = clients.sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]
        clients.sns.subscribe(TopicArn=TOPIC_ARN, Protocol="sqs", Endpoint=inbox_arn["QueueArn"],
                              Attributes={"RawMessageDelivery": "true"})
        yield clients


@pytest.fixture
def sagemaker(aws: Clients) -> Any:
    return aws.sagemaker


def notices(clients: Clients) -> list[str]:
    """Every notice published so far (each read once)."""
    inbox = clients.sqs.get_queue_url(QueueName="notices-inbox")["QueueUrl"]
    messages = clients.sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages", [])
    return [message["Body"] for message in messages]


def parked(clients: Clients) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = clients.sqs.receive_message(QueueUrl=DLQ_URL, MaxNumberOfMessages=10,
                                                                 MessageAttributeNames=["All"]).get("Messages", [])
    return messages


def recorded(clients: Clients) -> str | None:
    try:
        value: str = clients.ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"]
    except clients.ssm.exceptions.ParameterNotFound:
        return None
    return value


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS_DIR / f"{name}.json").read_text())
    return loaded


def bus_event(name: str) -> EventMessageType:
    """A sample as moto's EventBridge pattern matcher types it."""
    loaded: EventMessageType = json.loads((EVENTS_DIR / f"{name}.json").read_text())
    return loaded


def package_event(package_arn: str, version: int, status: str = "Approved") -> dict[str, Any]:
    event = sample("model-package-approved")
    event["resources"] = [package_arn]
    event["detail"].update(ModelPackageArn=package_arn, ModelPackageVersion=version, ModelApprovalStatus=status)
    return event


def in_service_event(config_name: str) -> dict[str, Any]:
    event = sample("endpoint-in-service")
    event["detail"]["EndpointConfigName"] = config_name
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
        decide(client, arn, status)
    return arn, int(client.describe_model_package(ModelPackageName=arn)["ModelPackageVersion"])


def decide(client: Any, arn: str, status: str) -> None:
    client.update_model_package(ModelPackageArn=arn, ModelApprovalStatus=status)


def provision_endpoint(client: Any, package_arn: str | None = None) -> None:
    """The endpoint as `pulumi up` creates it, with provider-chosen names: on `package_arn`, or (for the tests of
    what happens with nothing of the group deployed) on a bootstrap model that is no package of the group."""
    container = ({"ModelPackageName": package_arn} if package_arn else
                 {"Image": IMAGE, "ModelDataUrl": "s3://mlops-artifact-models/bootstrap.tar.gz"})
    client.create_model(ModelName=BOOTSTRAP, ExecutionRoleArn=ROLE_ARN, PrimaryContainer=container)
    client.create_endpoint_config(EndpointConfigName=BOOTSTRAP, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": BOOTSTRAP, "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 2, "InitialVariantWeight": 1.0}])
    client.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=BOOTSTRAP)


def finish_deployment(client: Any, config_name: str) -> None:
    """Where a completed (or rolled-back) blue/green update leaves the endpoint: InService on `config_name`. moto
    has no UpdateEndpoint, so the endpoint is recreated on that config through moto's own API."""
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


def deploy(aws: Clients, event: dict[str, Any], version: int) -> dict[str, Any]:
    """Run the handler for `event`, with UpdateEndpoint expected exactly once, to `version`, with the canary."""
    with OperationStubber(aws.sagemaker, "UpdateEndpoint") as stub:
        stub.add_response("update_endpoint", {"EndpointArn": ENDPOINT_ARN}, expected_update(version))
        result = handler(event, CONTEXT, aws)
        stub.assert_no_pending_responses()
    return result


def without_update(aws: Clients, event: object) -> dict[str, Any]:
    """Run the handler where any UpdateEndpoint call would raise UnStubbedResponseError: none is queued."""
    with OperationStubber(aws.sagemaker, "UpdateEndpoint"):
        return handler(event, CONTEXT, aws)


def log_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def model_exists(client: Any, name: str) -> bool:
    return any(model["ModelName"] == name for model in client.list_models()["Models"])


def serving(client: Any) -> str:
    return str(client.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"])


# --- deploying --------------------------------------------------------------------------------------------


def test_approved_package_is_deployed_as_a_canary(aws: Clients, capsys: pytest.CaptureFixture[str]) -> None:
    sagemaker = aws.sagemaker
    arn, version = register(sagemaker)
    provision_endpoint(sagemaker)

    result = deploy(aws, sample("model-package-approved"), 1)

    assert (arn, version) == (sample("model-package-approved")["detail"]["ModelPackageArn"], 1)
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
    tags = {tag["Key"]: tag["Value"] for tag in sagemaker.list_tags(ResourceArn=config["EndpointConfigArn"])["Tags"]}
    assert tags["mlops:model-package-version"] == "1" and ROLLOUT_STARTED_TAG in tags
    assert recorded(aws) is None, "recorded once the endpoint serves it, not when the rollout starts"

    lines = log_lines(capsys)
    assert all(line["eventId"] == sample("model-package-approved")["id"]
               and line["requestId"] == CONTEXT.aws_request_id for line in lines)
    assert lines[-1]["decision"] == "deploying" and lines[-1]["modelPackageArn"] == arn


def test_without_data_capture_uri_the_config_captures_nothing(aws: Clients, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATA_CAPTURE_S3_URI")
    arn, version = register(aws.sagemaker)
    provision_endpoint(aws.sagemaker)

    assert deploy(aws, package_event(arn, version), version)["status"] == "deploying"
    config = aws.sagemaker.describe_endpoint_config(EndpointConfigName=f"{ENDPOINT}-v1")
    assert not config.get("DataCaptureConfig")  # moto describes an absent DataCaptureConfig as {}
    assert config["KmsKeyId"] == KMS_KEY_ARN


def test_same_package_twice_deploys_once(aws: Clients) -> None:
    arn, version = register(aws.sagemaker)
    provision_endpoint(aws.sagemaker)
    assert deploy(aws, package_event(arn, version), version)["status"] == "deploying"
    finish_deployment(aws.sagemaker, f"{ENDPOINT}-v1")

    again = without_update(aws, package_event(arn, version))

    assert again == {"status": "already-deployed", "modelPackageVersion": 1, "endpointConfigName": f"{ENDPOINT}-v1"}


def test_the_version_pulumi_deployed_is_recognised_whatever_its_name(aws: Clients) -> None:
    arn, version = register(aws.sagemaker)
    provision_endpoint(aws.sagemaker, arn)

    assert without_update(aws, package_event(arn, version)) == {
        "status": "already-deployed", "modelPackageVersion": 1, "endpointConfigName": BOOTSTRAP}


def test_duplicate_event_during_the_deployment_is_already_deploying(aws: Clients) -> None:
    arn, version = register(aws.sagemaker)
    provision_endpoint(aws.sagemaker)
    assert deploy(aws, package_event(arn, version), version)["status"] == "deploying"

    with OperationStubber(aws.sagemaker, "DescribeEndpoint", "UpdateEndpoint") as stub:
        stub.add_response("describe_endpoint", endpoint_description("Updating", BOOTSTRAP, f"{ENDPOINT}-v1"),
                          {"EndpointName": ENDPOINT})
        again = handler(package_event(arn, version), CONTEXT, aws)
        stub.assert_no_pending_responses()

    assert again == {"status": "already-deploying", "modelPackageVersion": 1}


def test_a_late_event_for_an_older_version_never_replaces_the_newest_approved(aws: Clients) -> None:
    old_arn, old_version = register(aws.sagemaker)
    new_arn, new_version = register(aws.sagemaker)
    provision_endpoint(aws.sagemaker)
    assert deploy(aws, package_event(new_arn, new_version), new_version)["status"] == "deploying"
    finish_deployment(aws.sagemaker, f"{ENDPOINT}-v2")

    late = without_update(aws, package_event(old_arn, old_version))

    assert late == {"status": "already-deployed", "modelPackageVersion": 2, "endpointConfigName": f"{ENDPOINT}-v2"}
    assert not model_exists(aws.sagemaker, f"{ENDPOINT}-v1")


def test_an_older_approval_while_a_newer_one_deploys_waits_for_it(aws: Clients) -> None:
    old_arn, old_version = register(aws.sagemaker)
    new_arn, new_version = register(aws.sagemaker)
    provision_endpoint(aws.sagemaker)
    assert deploy(aws, package_event(new_arn, new_version), new_version)["status"] == "deploying"

    with OperationStubber(aws.sagemaker, "DescribeEndpoint", "UpdateEndpoint") as stub:
        stub.add_response("describe_endpoint", endpoint_description("Updating", BOOTSTRAP, f"{ENDPOINT}-v2"))
        late = handler(package_event(old_arn, old_version), CONTEXT, aws)
        stub.assert_no_pending_responses()

    assert late == {"status": "already-deploying", "modelPackageVersion": 2}


def test_newer_approval_replaces_the_deployed_version(aws: Clients) -> None:
    first_arn, _ = register(aws.sagemaker)
    provision_endpoint(aws.sagemaker, first_arn)
    second_arn, second_version = register(aws.sagemaker)

    result = deploy(aws, package_event(second_arn, second_version), second_version)

    assert result == {"status": "deploying", "modelPackageVersion": 2, "endpointConfigName": f"{ENDPOINT}-v2",
                      "previousVersion": 1}


def test_model_and_config_left_by_a_failed_attempt_are_reused(aws: Clients) -> None:
    sagemaker = aws.sagemaker
    arn, version = register(sagemaker)
    provision_endpoint(sagemaker)
    name = f"{ENDPOINT}-v1"
    sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE_ARN, PrimaryContainer={"ModelPackageName": arn},
                           Tags=[{"Key": "attempt", "Value": "1"}])
    sagemaker.create_endpoint_config(EndpointConfigName=name, KmsKeyId=KMS_KEY_ARN, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": name, "InstanceType": "ml.m5.large", "InitialInstanceCount": 2}],
        Tags=[{"Key": "attempt", "Value": "1"}])

    result = deploy(aws, package_event(arn, version), version)

    assert result == {"status": "deploying", "modelPackageVersion": 1, "endpointConfigName": name}
    # moto would overwrite on a second create (real SageMaker refuses): the first attempt's tags prove reuse.
    model_arn = sagemaker.describe_model(ModelName=name)["ModelArn"]
    assert sagemaker.list_tags(ResourceArn=model_arn)["Tags"] == [{"Key": "attempt", "Value": "1"}]
    config_arn = sagemaker.describe_endpoint_config(EndpointConfigName=name)["EndpointConfigArn"]
    assert {"Key": "attempt", "Value": "1"} in sagemaker.list_tags(ResourceArn=config_arn)["Tags"]


def test_endpoint_config_created_concurrently_is_not_an_error(aws: Clients) -> None:
    arn, version = register(aws.sagemaker)
    provision_endpoint(aws.sagemaker)
    config_arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint-config/{ENDPOINT}-v1"
    rival = boto3.client("sagemaker", region_name=REGION)

    def rival_creates_it_first(params: dict[str, Any], **_: Any) -> None:
        rival.create_endpoint_config(**params)

    aws.sagemaker.meta.events.register("before-parameter-build.sagemaker.CreateEndpointConfig", rival_creates_it_first)
    with OperationStubber(aws.sagemaker, "CreateEndpointConfig", "UpdateEndpoint") as stub:
        stub.add_client_error("create_endpoint_config", "ValidationException",
                              f'Cannot create already existing endpoint configuration "{config_arn}".')
        stub.add_response("update_endpoint", {"EndpointArn": ENDPOINT_ARN}, EXPECTED_UPDATE_V1)
        result = handler(package_event(arn, version), CONTEXT, aws)
        stub.assert_no_pending_responses()

    assert result == {"status": "deploying", "modelPackageVersion": 1, "endpointConfigName": f"{ENDPOINT}-v1"}


# --- rejections, re-approvals and rollbacks ---------------------------------------------------------------


def test_rejecting_the_served_version_rolls_back_to_the_newest_approved(aws: Clients) -> None:
    first_arn, _ = register(aws.sagemaker)
    provision_endpoint(aws.sagemaker, first_arn)
    second_arn, second_version = register(aws.sagemaker)
    assert deploy(aws, package_event(second_arn, second_version), 2)["status"] == "deploying"
    finish_deployment(aws.sagemaker, f"{ENDPOINT}-v2")

    decide(aws.sagemaker, second_arn, "Rejected")
    result = deploy(aws, package_event(second_arn, second_version, "Rejected"), 1)

    assert result == {"status": "rolling-back", "modelPackageVersion": 1, "endpointConfigName": f"{ENDPOINT}-v1",
                      "previousVersion": 2}
    assert aws.sagemaker.describe_model(ModelName=f"{ENDPOINT}-v1")["PrimaryContainer"] == {
        "ModelPackageName": first_arn}


def test_re_approving_a_rejected_version_deploys_it_again(aws: Clients) -> None:
    first_arn, _ = register(aws.sagemaker)
    provision_endpoint(aws.sagemaker, first_arn)
    second_arn, second_version = register(aws.sagemaker)
    assert deploy(aws, package_event(second_arn, second_version), 2)["status"] == "deploying"
    finish_deployment(aws.sagemaker, f"{ENDPOINT}-v2")
    decide(aws.sagemaker, second_arn, "Rejected")
    assert deploy(aws, package_event(second_arn, second_version, "Rejected"), 1)["status"] == "rolling-back"
    finish_deployment(aws.sagemaker, f"{ENDPOINT}-v1")

    decide(aws.sagemaker, second_arn, "Approved")
    result = deploy(aws, package_event(second_arn, second_version), 2)

    assert result == {"status": "deploying", "modelPackageVersion": 2, "endpointConfigName": f"{ENDPOINT}-v2",
                      "previousVersion": 1}


def test_re_approving_an_older_version_after_rejecting_the_newer_deploys_it(aws: Clients) -> None:
    first_arn, first_version = register(aws.sagemaker)
    provision_endpoint(aws.sagemaker)
    second_arn, _ = register(aws.sagemaker)
    decide(aws.sagemaker, first_arn, "Rejected")
    assert deploy(aws, package_event(second_arn, 2), 2)["status"] == "deploying"
    finish_deployment(aws.sagemaker, f"{ENDPOINT}-v2")
    decide(aws.sagemaker, second_arn, "Rejected")

    decide(aws.sagemaker, first_arn, "Approved")
    result = deploy(aws, package_event(first_arn, first_version), 1)

    assert result["status"] == "rolling-back" and result["modelPackageVersion"] == 1


def test_a_canary_rolled_back_by_its_alarms_is_reported_and_not_retried(aws: Clients) -> None:
    first_arn, _ = register(aws.sagemaker)
    provision_endpoint(aws.sagemaker, first_arn)
    second_arn, second_version = register(aws.sagemaker)
    assert deploy(aws, package_event(second_arn, second_version), 2)["status"] == "deploying"
    # The alarms fired: SageMaker put the endpoint back on the config it served before.
    finish_deployment(aws.sagemaker, BOOTSTRAP)

    after = handler(in_service_event(BOOTSTRAP), CONTEXT, aws)
    after_scaling = handler(in_service_event(BOOTSTRAP), CONTEXT, aws)
    repeated = without_update(aws, package_event(second_arn, second_version))

    assert after == after_scaling == {"status": "rolled-back", "modelPackageVersion": 2, "servedVersion": 1}
    assert repeated == {"status": "rolled-back", "modelPackageVersion": 2, "servedVersion": 1}
    assert recorded(aws) == first_arn
    [notice] = notices(aws)  # once, though the endpoint entered InService twice
    assert "a rollback alarm fired" in notice and second_arn in notice
    assert f"Approve version {second_version} again" in notice


def test_rejecting_the_only_approved_version_keeps_the_endpoint_and_says_so(aws: Clients) -> None:
    arn, version = register(aws.sagemaker)
    provision_endpoint(aws.sagemaker, arn)
    decide(aws.sagemaker, arn, "Rejected")

    result = without_update(aws, package_event(arn, version, "Rejected"))

    assert result == {"status": "nothing-approved", "modelPackageVersion": 1}
    assert serving(aws.sagemaker) == BOOTSTRAP
    [notice] = notices(aws)
    assert "no other version of churn-model is approved" in notice


# --- a new account: no endpoint yet -----------------------------------------------------------------------


def test_the_first_approval_is_recorded_for_pulumi_up_and_announced_once(aws: Clients) -> None:
    arn, version = register(aws.sagemaker)

    first = without_update(aws, package_event(arn, version))
    again = without_update(aws, package_event(arn, version))

    assert first == again == {"status": "awaiting-endpoint", "modelPackageVersion": 1, "parameter": PARAMETER}
    assert recorded(aws) == arn
    [notice] = notices(aws)
    assert "`pulumi up --stack prod`" in notice and arn in notice
    assert not model_exists(aws.sagemaker, f"{ENDPOINT}-v1")


def test_a_newer_approval_before_pulumi_up_replaces_the_recorded_version(aws: Clients) -> None:
    first_arn, _ = register(aws.sagemaker)
    without_update(aws, package_event(first_arn, 1))
    second_arn, _ = register(aws.sagemaker)

    without_update(aws, package_event(second_arn, 2))

    assert recorded(aws) == second_arn


# --- the served version recorded --------------------------------------------------------------------------


def test_an_endpoint_in_service_records_the_version_it_serves(aws: Clients) -> None:
    arn, version = register(aws.sagemaker)
    provision_endpoint(aws.sagemaker)
    assert deploy(aws, package_event(arn, version), version)["status"] == "deploying"
    finish_deployment(aws.sagemaker, f"{ENDPOINT}-v1")

    first = handler(in_service_event(f"{ENDPOINT}-v1"), CONTEXT, aws)
    again = handler(in_service_event(f"{ENDPOINT}-v1"), CONTEXT, aws)

    assert (first, again) == ({"status": "recorded", "servedVersion": 1}, {"status": "unchanged", "servedVersion": 1})
    assert recorded(aws) == arn
    assert notices(aws) == []


@pytest.mark.parametrize(("detail", "reason"), [
    ({"EndpointName": "fraud-model-prod"}, "endpoint 'fraud-model-prod' is not 'churn-model-prod'"),
    ({"EndpointStatus": "UPDATING"}, "the endpoint is UPDATING"),
])
def test_other_endpoints_and_states_are_ignored_without_aws_calls(aws: Clients, detail: dict[str, str],
                                                                  reason: str) -> None:
    event = in_service_event(BOOTSTRAP)
    event["detail"].update(detail)

    with Stubber(aws.sagemaker):
        assert handler(event, CONTEXT, aws) == {"status": "ignored", "reason": reason}


def test_an_endpoint_serving_nothing_of_the_group_records_nothing(aws: Clients) -> None:
    provision_endpoint(aws.sagemaker)

    result = handler(in_service_event(BOOTSTRAP), CONTEXT, aws)

    assert result == {"status": "ignored", "reason": "the endpoint serves no version of the group"}
    assert recorded(aws) is None


# --- events that deploy nothing ---------------------------------------------------------------------------


def test_pending_approval_is_ignored_without_aws_calls(aws: Clients) -> None:
    with Stubber(aws.sagemaker):  # nothing queued: any AWS call at all raises UnStubbedResponseError
        result = handler(sample("model-package-pending"), CONTEXT, aws)

    assert result == {"status": "ignored", "reason": "the event's approval status is PendingManualApproval"}


def test_other_group_is_ignored_without_aws_calls(aws: Clients) -> None:
    event = sample("model-package-approved")
    event["detail"]["ModelPackageGroupName"] = "fraud-model"

    with Stubber(aws.sagemaker):
        result = handler(event, CONTEXT, aws)

    assert result == {"status": "ignored", "reason": "model package group 'fraud-model' is not 'churn-model'"}


def _without_detail() -> dict[str, Any]:
    event = sample("model-package-approved")
    del event["detail"]
    return event


def _with(**changes: Any) -> dict[str, Any]:
    event = sample("model-package-approved")
    event.update(changes)
    return event


def _with_detail(**changes: Any) -> dict[str, Any]:
    event = sample("model-package-approved")
    event["detail"].update(changes)
    for key in [key for key, value in changes.items() if value is None]:
        del event["detail"][key]
    return event


def _endpoint_without(key: str) -> dict[str, Any]:
    event = sample("endpoint-in-service")
    del event["detail"][key]
    return event


@pytest.mark.parametrize(("event", "reason"), [
    ("not an event", "is a str, not a JSON object"),
    ([sample("model-package-approved")], "is a list, not a JSON object"),
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
    (_endpoint_without("EndpointName"), "detail.EndpointName is missing"),
    (_endpoint_without("EndpointStatus"), "detail.EndpointStatus is missing"),
])
def test_malformed_events_are_rejected_without_aws_calls(aws: Clients, event: object, reason: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    with Stubber(aws.sagemaker):
        result = handler(event, CONTEXT, aws)

    assert result["status"] == "rejected"
    assert reason in result["reason"]
    assert log_lines(capsys)[-1]["decision"] == "rejected"


def test_a_stale_approval_of_a_package_rejected_since_deploys_nothing(aws: Clients) -> None:
    arn, version = register(aws.sagemaker)
    provision_endpoint(aws.sagemaker)
    decide(aws.sagemaker, arn, "Rejected")

    result = without_update(aws, package_event(arn, version))

    assert result["status"] == "nothing-approved"
    assert not model_exists(aws.sagemaker, f"{ENDPOINT}-v1")


# --- the endpoint is not ready: transient errors retry, permanent ones are parked at once ----------------


@pytest.mark.parametrize("status", ["Updating", "Creating", "SystemUpdating", "RollingBack"])
def test_busy_endpoint_raises_a_retryable_error(aws: Clients, status: str) -> None:
    arn, version = register(aws.sagemaker)
    provision_endpoint(aws.sagemaker)

    with OperationStubber(aws.sagemaker, "DescribeEndpoint", "UpdateEndpoint") as stub:
        stub.add_response("describe_endpoint", endpoint_description(status, BOOTSTRAP))
        with pytest.raises(RetryableDeploymentError, match=f"'{ENDPOINT}' is {status}; retry once it is InService"):
            handler(package_event(arn, version), CONTEXT, aws)
        stub.assert_no_pending_responses()
    assert parked(aws) == []


@pytest.mark.parametrize("status", ["Failed", "OutOfService", "Deleting", "UpdateRollbackFailed"])
def test_broken_endpoint_is_parked_at_once_and_announced(aws: Clients, status: str) -> None:
    arn, version = register(aws.sagemaker)
    provision_endpoint(aws.sagemaker)
    event = package_event(arn, version)

    with OperationStubber(aws.sagemaker, "DescribeEndpoint", "UpdateEndpoint") as stub:
        stub.add_response("describe_endpoint", endpoint_description(status, BOOTSTRAP))
        result = handler(event, CONTEXT, aws)

    assert result["status"] == "failed" and f"is {status}" in result["reason"]
    [message] = parked(aws)
    assert json.loads(message["Body"]) == event
    assert f"is {status}" in message["MessageAttributes"]["reason"]["StringValue"]
    [notice] = notices(aws)
    assert f"is {status}" in notice and DLQ_URL in notice


def test_access_denied_is_parked_at_once_not_retried_for_hours(aws: Clients) -> None:
    arn, version = register(aws.sagemaker)
    provision_endpoint(aws.sagemaker)

    with OperationStubber(aws.sagemaker, "CreateModel", "UpdateEndpoint") as stub:
        stub.add_client_error("create_model", "AccessDeniedException", "not authorized to perform: iam:PassRole",
                              http_status_code=400)
        result = handler(package_event(arn, version), CONTEXT, aws)
        stub.assert_no_pending_responses()

    assert result["status"] == "failed" and "AccessDeniedException" in result["reason"]
    assert len(parked(aws)) == 1
    assert "iam:PassRole" in notices(aws)[0]


@pytest.mark.parametrize(("code", "status"), [("ThrottlingException", 400), ("InternalFailure", 500),
                                              ("SomethingNew", 503)])
def test_throttling_and_aws_failures_are_retried(aws: Clients, code: str, status: int) -> None:
    arn, version = register(aws.sagemaker)
    provision_endpoint(aws.sagemaker)

    with OperationStubber(aws.sagemaker, "DescribeEndpoint") as stub:
        stub.add_client_error("describe_endpoint", code, "try later", http_status_code=status)
        with pytest.raises(ClientError):
            handler(package_event(arn, version), CONTEXT, aws)
    assert parked(aws) == []


def test_update_refused_while_another_is_in_progress_is_retryable(aws: Clients) -> None:
    arn, version = register(aws.sagemaker)
    provision_endpoint(aws.sagemaker)

    with OperationStubber(aws.sagemaker, "UpdateEndpoint") as stub:
        stub.add_client_error("update_endpoint", "ValidationException",
                              f'Cannot update in-progress endpoint "{ENDPOINT_ARN}".',
                              expected_params=EXPECTED_UPDATE_V1)
        with pytest.raises(RetryableDeploymentError, match="ValidationException"):
            handler(package_event(arn, version), CONTEXT, aws)
        stub.assert_no_pending_responses()


# --- configuration ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [name for name in ENV if name != "DATA_CAPTURE_S3_URI"])
def test_missing_environment_variable_is_named(aws: Clients, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.delenv(name)

    with pytest.raises(ConfigurationError, match=f"missing environment variable {name}$"):
        handler(sample("model-package-approved"), CONTEXT, aws)


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
    ("SERVED_MODEL_PARAMETER", "mlops-platform/serving/prod/churn", "an SSM parameter name starting with '/'"),
    ("NOTICES_TOPIC_ARN", f"arn:aws:sns:{REGION}:{ACCOUNT}:topic/x", "an SNS topic ARN"),
    ("DEAD_LETTER_QUEUE_URL", f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq", "an SQS queue URL"),
    ("STACK_NAME", "prod stack", "a Pulumi stack name"),
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
    assert (settings.served_model_parameter, settings.notices_topic_arn, settings.dead_letter_queue_url,
            settings.stack_name) == (PARAMETER, TOPIC_ARN, DLQ_URL, "prod")
    assert settings.data_capture_s3_uri is None


# --- names, events and packaging --------------------------------------------------------------------------


def test_deployment_names_stay_within_sagemaker_limits() -> None:
    long_a = "a" * 40 + "-endpoint-" + "x" * 13
    long_b = "a" * 40 + "-endpoint-" + "y" * 13

    assert deployment_name(ENDPOINT, 12) == f"{ENDPOINT}-v12"
    for name in (deployment_name(long_a, 12345), deployment_name(long_b, 12345)):
        assert len(name) <= 63 and name.endswith("-v12345")
        assert environment.SAGEMAKER_NAME.fullmatch(name)
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


def test_event_types_and_patterns_match_the_samples() -> None:
    decided = EventPattern.load(json.dumps(events.model_package_decided_pattern(GROUP)))
    in_service = EventPattern.load(json.dumps(events.endpoint_in_service_pattern(ENDPOINT)))

    assert deploy_on_approval.EVENT_DETAIL_TYPE == events.MODEL_PACKAGE_STATE_CHANGE
    assert deploy_on_approval.ENDPOINT_EVENT_DETAIL_TYPE == events.ENDPOINT_STATE_CHANGE
    assert decided.matches_event(bus_event("model-package-approved"))
    assert decided.matches_event(bus_event("model-package-rejected"))
    assert not decided.matches_event(bus_event("model-package-pending"))
    assert in_service.matches_event(bus_event("endpoint-in-service"))
    updating = bus_event("endpoint-in-service")
    updating["detail"]["EndpointStatus"] = "UPDATING"
    assert not in_service.matches_event(updating)
    assert not decided.matches_event(bus_event("endpoint-in-service"))


def sqs_batch(*events: object) -> dict[str, Any]:
    """What the approvals queue hands the function: EventBridge events as message bodies (AWS's SQS event shape)."""
    return {"Records": [{"messageId": f"m-{index}", "receiptHandle": f"r-{index}",
                         "body": event if isinstance(event, str) else json.dumps(event),
                         "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                         "eventSource": "aws:sqs", "awsRegion": "eu-west-1",
                         "eventSourceARN": "arn:aws:sqs:eu-west-1:111111111111:churn-prod-approvals"}
                        for index, event in enumerate(events)]}


def test_an_approval_from_the_queue_is_deployed(aws: Clients) -> None:
    arn, version = register(aws.sagemaker)
    provision_endpoint(aws.sagemaker)

    result = deploy(aws, sqs_batch(package_event(arn, version)), version)

    assert [r["status"] for r in result["results"]] == ["deploying"]


def test_a_busy_endpoint_leaves_the_message_on_the_queue(aws: Clients) -> None:
    arn, version = register(aws.sagemaker)
    provision_endpoint(aws.sagemaker)
    with OperationStubber(aws.sagemaker, "DescribeEndpoint", "UpdateEndpoint") as stub:
        stub.add_response("describe_endpoint", endpoint_description("Updating", BOOTSTRAP))
        with pytest.raises(RetryableDeploymentError):
            handler(sqs_batch(package_event(arn, version)), CONTEXT, aws)


def test_an_unreadable_message_is_rejected_not_retried(aws: Clients) -> None:
    result = handler(sqs_batch("not json {"), CONTEXT, aws)
    assert [r["status"] for r in result["results"]] == ["rejected"]
