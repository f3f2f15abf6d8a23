"""Keep one real-time endpoint on the newest approved version of one Model Registry group, by canary, and record
in SSM the version it serves, so that `pulumi up` of the serving stack builds exactly that version.

Triggers, all put on one SQS queue by EventBridge and taken one message at a time (the function also accepts the
bare event, as a direct EventBridge target or a test sends it):
- "SageMaker Model Package State Change" of the group, Approved or Rejected (`events.model_package_decided_pattern`);
- "SageMaker Endpoint State Change" of the endpoint, IN_SERVICE (`events.endpoint_in_service_pattern`).
Configuration comes from environment variables, read on every call (`Settings.from_env`); a missing or invalid
one raises `ConfigurationError` naming it.

A package decision reconciles, level-triggered, so stale, late or repeated events cannot do harm:
1. Validates the event. Not an object, not a SageMaker event this function handles, or required fields missing
   → ``{"status": "rejected", ...}`` and no AWS call. Another group or endpoint, a status with no consequence
   (PendingManualApproval, an endpoint Updating) → ``ignored``, no AWS call either.
2. The desired version is the newest Approved package of the group, read from the registry (ListModelPackages),
   never taken from the event: a rejection of the served version therefore rolls back to the newest version
   still approved, and re-approving an older version after rejecting a newer one deploys it.
3. No endpoint yet (a new account: the serving stack was deployed before any model was approved) → the desired
   version is recorded in SSM and the notices topic says to run `pulumi up` of the serving stack, which creates
   the endpoint on it → ``awaiting-endpoint``.
4. The version the endpoint serves (endpoint → endpoint config → model → container ``ModelPackageName``) and
   the one it is deploying (``PendingDeploymentSummary``) equal the desired one → ``already-deployed`` /
   ``already-deploying``. A version this function already rolled out after its latest approval and that the
   endpoint no longer serves was rolled back by the canary alarms → ``rolled-back`` (approve it again, or a new
   version, to try again). Otherwise it creates the model and endpoint config ``<endpoint>-v<version>`` unless
   they exist (a retry carries on), calls UpdateEndpoint with the blue/green CANARY policy and alarm
   auto-rollback (`blue_green_update_policy`), keeping the autoscaled instance count → ``deploying``.

An IN_SERVICE endpoint (a deployment finished, or was rolled back, or `pulumi up` created it) records the
version it serves in SSM (``recorded`` / ``unchanged``); when that is not the desired version after a rollout
started by this function, the notices topic says the canary was rolled back.

Errors. Transient ones are raised, so the message returns to the queue after its visibility timeout and is
retried for hours before the queue's redrive parks it in the dead-letter queue: the endpoint busy with another
deployment (`RetryableDeploymentError`), throttling, SageMaker's own failures, timeouts. Permanent ones
(`DeploymentError`: the endpoint Failed or OutOfService; AccessDenied, a missing alarm or role, any other
refusal) cannot be cured by retrying: the message is parked in the dead-letter queue at once, with the reason,
the notices topic is told, and the function returns ``failed``; once the cause is fixed, a redrive of the
dead-letter queue deploys it. Nothing is lost.

Logs: one JSON object per line on stdout (request id, event id, package ARN, decision); no payloads or secrets.
This module imports only the standard library, boto3 and `environment` (packaged beside it, see
`components/function.py`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3  # type: ignore[import-untyped]
from botocore.exceptions import BotoCoreError, ClientError

from mlops_platform.functions import environment

EVENT_SOURCE = "aws.sagemaker"
EVENT_DETAIL_TYPE = "SageMaker Model Package State Change"
"""Equal to `mlops_platform.events.MODEL_PACKAGE_STATE_CHANGE` (tested); not imported, the module stands alone."""
ENDPOINT_EVENT_DETAIL_TYPE = "SageMaker Endpoint State Change"
"""Equal to `mlops_platform.events.ENDPOINT_STATE_CHANGE` (tested)."""
APPROVED = "Approved"
REJECTED = "Rejected"
ENDPOINT_IN_SERVICE_EVENT_STATUS = "IN_SERVICE"
ROLLOUT_STARTED_TAG = "mlops:rollout-started"
"""Set on an endpoint config once UpdateEndpoint accepted it: the time this function rolled that version out."""
ROLLBACK_ANNOUNCED_TAG = "mlops:rollback-announced"
"""Set on an endpoint config once its rollback has been announced on the notices topic."""
TRANSIENT_ERROR_CODES = frozenset({
    "ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded",
    "ServiceUnavailable", "ServiceUnavailableException", "InternalFailure", "InternalServerError",
    "InternalError", "RequestTimeout", "RequestTimeoutException",
})
VARIANT_NAME = "AllTraffic"
MAX_NAME_LENGTH = 63
BUSY_ENDPOINT_STATUSES = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack"})
"""The endpoint will accept an update once this finishes: retry the event."""
PROVISIONING_ALLOWANCE_SECONDS = 1800
"""Time allowed, on top of the waits, to launch the new fleet before SageMaker stops the deployment."""
MIN_EXECUTION_TIMEOUT_SECONDS = 600
MAX_EXECUTION_TIMEOUT_SECONDS = 28800
MAX_ROLLBACK_ALARMS = 10
MANAGED_BY = "deploy-on-approval"

_PACKAGE_ARN = re.compile(
    r"arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{12}:model-package/(?P<group>[^/]+)/(?P<version>[0-9]+)")


class DeploymentError(RuntimeError):
    """The deployment cannot go ahead and retrying the same event will not change that."""


class RetryableDeploymentError(RuntimeError):
    """The deployment cannot go ahead yet (the endpoint is busy); the same event succeeds later."""


class MalformedEventError(ValueError):
    """The event is not a well-formed SageMaker model package state change."""


# --- configuration ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    endpoint_name: str
    model_package_group_name: str
    model_execution_role_arn: str
    instance_type: str
    initial_instance_count: int
    canary_percent: int
    canary_wait_seconds: int
    rollback_alarm_names: tuple[str, ...]
    kms_key_arn: str
    served_model_parameter: str
    """The SSM parameter recording the versioned package ARN the endpoint serves (`contract.served_model_parameter`)."""
    notices_topic_arn: str
    dead_letter_queue_url: str
    stack_name: str
    """The serving stack whose `pulumi up` creates the endpoint, named in notices."""
    data_capture_s3_uri: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            endpoint_name=environment.sagemaker_name(env, "ENDPOINT_NAME", "endpoint"),
            model_package_group_name=environment.sagemaker_name(env, "MODEL_PACKAGE_GROUP_NAME",
                                                                "model package group"),
            model_execution_role_arn=environment.matching(env, "MODEL_EXECUTION_ROLE_ARN", environment.ROLE_ARN,
                                                          "an IAM role ARN"),
            instance_type=environment.matching(env, "INSTANCE_TYPE", environment.INSTANCE_TYPE,
                                               "a SageMaker instance type, e.g. ml.m5.large"),
            initial_instance_count=environment.integer(env, "INITIAL_INSTANCE_COUNT", 1, None),
            canary_percent=environment.integer(env, "CANARY_PERCENT", 1, 50),
            canary_wait_seconds=environment.integer(env, "CANARY_WAIT_SECONDS", 0, 3600),
            rollback_alarm_names=_alarm_names(env, "ROLLBACK_ALARM_NAMES"),
            kms_key_arn=environment.matching(env, "KMS_KEY_ARN", environment.KMS_KEY_ARN, "a KMS key (or alias) ARN"),
            served_model_parameter=environment.matching(env, "SERVED_MODEL_PARAMETER", environment.PARAMETER_NAME,
                                                        "an SSM parameter name starting with '/'"),
            notices_topic_arn=environment.matching(env, "NOTICES_TOPIC_ARN", environment.TOPIC_ARN, "an SNS topic ARN"),
            dead_letter_queue_url=environment.matching(env, "DEAD_LETTER_QUEUE_URL", environment.QUEUE_URL,
                                                       "an SQS queue URL"),
            stack_name=environment.matching(env, "STACK_NAME", environment.STACK_NAME, "a Pulumi stack name"),
            data_capture_s3_uri=environment.optional_matching(env, "DATA_CAPTURE_S3_URI", environment.S3_URI,
                                                             "an s3://bucket/prefix URI"),
        )


def _alarm_names(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    value = environment.required(env, name)
    names = tuple(part.strip() for part in value.split(",") if part.strip())
    if not 1 <= len(names) <= MAX_ROLLBACK_ALARMS:
        raise environment.invalid(name, value,
                                  f"must list 1 to {MAX_ROLLBACK_ALARMS} CloudWatch alarm names, comma-separated")
    if any(len(alarm) > 255 for alarm in names):
        raise environment.invalid(name, value, "an alarm name has at most 255 characters")
    return names


# --- the event --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PackageStateChange:
    """The fields of a "SageMaker Model Package State Change" event this function uses."""

    group: str
    arn: str
    version: int
    approval_status: str


@dataclass(frozen=True)
class EndpointStateChange:
    """The fields of a "SageMaker Endpoint State Change" event this function uses."""

    endpoint_name: str
    status: str


def parse_event(event: object) -> PackageStateChange | EndpointStateChange:
    """The event's fields, or `MalformedEventError` saying what is wrong."""
    if not isinstance(event, dict):
        raise MalformedEventError(f"the event is a {type(event).__name__}, not a JSON object")
    detail_type = event.get("detail-type")
    if detail_type not in (EVENT_DETAIL_TYPE, ENDPOINT_EVENT_DETAIL_TYPE):
        raise MalformedEventError(f"detail-type is {_short(detail_type)}, not {EVENT_DETAIL_TYPE!r} "
                                  f"or {ENDPOINT_EVENT_DETAIL_TYPE!r}")
    if event.get("source") != EVENT_SOURCE:
        raise MalformedEventError(f"source is {_short(event.get('source'))}, not {EVENT_SOURCE!r}")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise MalformedEventError("the event has no 'detail' object")
    if detail_type == ENDPOINT_EVENT_DETAIL_TYPE:
        return EndpointStateChange(endpoint_name=_detail_text(detail, "EndpointName"),
                                   status=_detail_text(detail, "EndpointStatus"))
    return PackageStateChange(
        group=_detail_text(detail, "ModelPackageGroupName"),
        arn=_detail_text(detail, "ModelPackageArn"),
        version=_detail_version(detail),
        approval_status=_detail_text(detail, "ModelApprovalStatus"),
    )


def _detail_text(detail: Mapping[str, Any], key: str) -> str:
    value = detail.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedEventError(f"detail.{key} is missing or not a non-empty string")
    return value


def _detail_version(detail: Mapping[str, Any]) -> int:
    value = detail.get("ModelPackageVersion")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise MalformedEventError("detail.ModelPackageVersion is missing or not a positive integer")
    return value


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _event_id(event: object) -> str | None:
    value = event.get("id") if isinstance(event, dict) else None
    return value if isinstance(value, str) else None


# --- names and requests (pure) ----------------------------------------------------------------------------


def deployment_name(endpoint_name: str, version: int) -> str:
    """Model and endpoint config name for one package version: ``<endpoint>-v<version>``, at most 63 characters.

    A name too long keeps a prefix of the endpoint name plus a short hash of all of it, so it stays unique.
    """
    suffix = f"-v{version}"
    name = endpoint_name + suffix
    if len(name) <= MAX_NAME_LENGTH:
        return name
    digest = hashlib.sha256(endpoint_name.encode()).hexdigest()[:8]
    prefix = endpoint_name[: MAX_NAME_LENGTH - len(suffix) - len(digest) - 1].rstrip("-")
    return f"{prefix}-{digest}{suffix}"


def package_version(model_package_arn: object, group: str) -> int | None:
    """The version in a versioned model package ARN of ``group`` (ARNs spell the group in lower case)."""
    if not isinstance(model_package_arn, str):
        return None
    match = _PACKAGE_ARN.fullmatch(model_package_arn)
    if match is None or match["group"].lower() != group.lower():
        return None
    return int(match["version"])


def resource_tags(settings: Settings, version: int) -> list[dict[str, str]]:
    return [
        {"Key": "mlops:model-package-group", "Value": settings.model_package_group_name},
        {"Key": "mlops:model-package-version", "Value": str(version)},
        {"Key": "mlops:managed-by", "Value": MANAGED_BY},
    ]


def create_model_request(settings: Settings, name: str, package_arn: str, version: int) -> dict[str, Any]:
    return {
        "ModelName": name,
        "PrimaryContainer": {"ModelPackageName": package_arn},
        "ExecutionRoleArn": settings.model_execution_role_arn,
        "Tags": resource_tags(settings, version),
    }


def create_endpoint_config_request(settings: Settings, name: str, version: int) -> dict[str, Any]:
    request: dict[str, Any] = {
        "EndpointConfigName": name,
        "ProductionVariants": [{
            "VariantName": VARIANT_NAME,
            "ModelName": name,
            "InstanceType": settings.instance_type,
            "InitialInstanceCount": settings.initial_instance_count,
            "InitialVariantWeight": 1.0,
        }],
        "KmsKeyId": settings.kms_key_arn,
        "Tags": resource_tags(settings, version),
    }
    if settings.data_capture_s3_uri is not None:
        request["DataCaptureConfig"] = {
            "EnableCapture": True,
            "InitialSamplingPercentage": 100,
            "DestinationS3Uri": settings.data_capture_s3_uri,
            "KmsKeyId": settings.kms_key_arn,
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        }
    return request


def execution_timeout_seconds(canary_wait_seconds: int) -> int:
    """How long SageMaker lets one blue/green deployment run: both waits plus time to launch the new fleet,
    within the API's 600..28800 seconds."""
    return min(max(2 * canary_wait_seconds + PROVISIONING_ALLOWANCE_SECONDS, MIN_EXECUTION_TIMEOUT_SECONDS),
               MAX_EXECUTION_TIMEOUT_SECONDS)


def blue_green_update_policy(canary_percent: int, canary_wait_seconds: int) -> dict[str, Any]:
    """The one canary policy, used by this function and by the Pulumi endpoint: CANARY_PERCENT of capacity
    first, then all of it, each watched for CANARY_WAIT_SECONDS, the old fleet kept as long again."""
    return {
        "TrafficRoutingConfiguration": {
            "Type": "CANARY",
            "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": canary_percent},
            "WaitIntervalInSeconds": canary_wait_seconds,
        },
        "TerminationWaitInSeconds": canary_wait_seconds,
        "MaximumExecutionTimeoutInSeconds": execution_timeout_seconds(canary_wait_seconds),
    }


def update_endpoint_request(settings: Settings, endpoint_config_name: str) -> dict[str, Any]:
    """Blue/green canary (`blue_green_update_policy`); any rollback alarm firing meanwhile rolls the endpoint
    back to the previous config."""
    return {
        "EndpointName": settings.endpoint_name,
        "EndpointConfigName": endpoint_config_name,
        "RetainAllVariantProperties": True,
        "DeploymentConfig": {
            "BlueGreenUpdatePolicy": blue_green_update_policy(settings.canary_percent, settings.canary_wait_seconds),
            "AutoRollbackConfiguration": {
                "Alarms": [{"AlarmName": alarm} for alarm in settings.rollback_alarm_names],
            },
        },
    }


# --- logging ----------------------------------------------------------------------------------------------


@dataclass
class _Log:
    """One JSON object per line on stdout, every line carrying the invocation's context fields."""

    context: dict[str, Any] = field(default_factory=dict)

    def write(self, level: str, message: str, **fields: Any) -> None:
        record = {"level": level, "message": message, **self.context, **fields}
        print(json.dumps({key: value for key, value in record.items() if value is not None}, default=str),
              flush=True)

    def decision(self, status: str, level: str = "INFO", **result: Any) -> dict[str, Any]:
        """Log the decision and return it (fields that are None left out) as the handler's result."""
        self.write(level, f"decision: {status}", decision=status, **result)
        return {"status": status, **{key: value for key, value in result.items() if value is not None}}


# --- AWS calls --------------------------------------------------------------------------------------------


def _error(err: Any) -> tuple[str, str]:
    details = err.response.get("Error", {})
    return str(details.get("Code", "")), str(details.get("Message", ""))


def _is_not_found(err: Any) -> bool:
    code, message = _error(err)
    text = message.lower()
    return code in {"ValidationException", "ResourceNotFound"} and any(
        phrase in text for phrase in ("could not find", "not found", "does not exist"))


def _is_already_existing(err: Any) -> bool:
    code, message = _error(err)
    return code == "ValidationException" and "already exist" in message.lower()


def _is_busy(err: Any) -> bool:
    code, message = _error(err)
    text = message.lower()
    return code == "ThrottlingException" or (
        code == "ValidationException" and ("in-progress" in text or "in progress" in text))


def is_transient(err: BaseException) -> bool:
    """Would the same call succeed later? Throttling, a busy endpoint, AWS's own failures and network trouble do;
    a refusal (AccessDenied, a validation error, a missing resource) does not."""
    if isinstance(err, RetryableDeploymentError | BotoCoreError):
        return True
    if not isinstance(err, ClientError):
        return False
    code, _ = _error(err)
    status = int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    return code in TRANSIENT_ERROR_CODES or _is_busy(err) or status >= 500


def _describe(operation: Callable[..., dict[str, Any]], **params: Any) -> dict[str, Any] | None:
    """The description, or None when the resource does not exist."""
    try:
        return operation(**params)
    except ClientError as err:
        if _is_not_found(err):
            return None
        raise


def _create(operation: Callable[..., dict[str, Any]], **params: Any) -> bool:
    """Create; False when it exists already (created meanwhile by a concurrent attempt)."""
    try:
        operation(**params)
    except ClientError as err:
        if _is_already_existing(err):
            return False
        raise
    return True


@dataclass(frozen=True)
class Clients:
    """The AWS clients one invocation uses; tests pass clients bound to moto."""

    sagemaker: Any
    ssm: Any
    sns: Any
    sqs: Any

    @classmethod
    @functools.cache
    def default(cls) -> Clients:
        return cls(sagemaker=boto3.client("sagemaker"), ssm=boto3.client("ssm"), sns=boto3.client("sns"),
                   sqs=boto3.client("sqs"))


@dataclass(frozen=True)
class ServedPackage:
    arn: str
    version: int


@dataclass(frozen=True)
class Rollout:
    """An endpoint config this function created for a version, and its tags (when it rolled out, ...)."""

    config_arn: str
    tags: Mapping[str, str]


# --- the deployment ---------------------------------------------------------------------------------------


@dataclass
class _Deployer:
    settings: Settings
    clients: Clients
    log: _Log

    @property
    def sagemaker(self) -> Any:
        return self.clients.sagemaker

    def on_package_change(self, change: PackageStateChange) -> dict[str, Any]:
        group = self.settings.model_package_group_name
        if change.group != group:
            return self.log.decision("ignored", reason=f"model package group {change.group!r} is not {group!r}")
        if change.approval_status not in (APPROVED, REJECTED):
            return self.log.decision("ignored", reason=f"the event's approval status is {change.approval_status}")
        desired = self._newest_approved()
        endpoint = _describe(self.sagemaker.describe_endpoint, EndpointName=self.settings.endpoint_name)
        if desired is None:
            return self._nothing_approved(change, endpoint)
        if endpoint is None:
            return self._await_endpoint(desired)
        return self._reconcile(endpoint, desired)

    def on_endpoint_change(self, change: EndpointStateChange) -> dict[str, Any]:
        if change.endpoint_name != self.settings.endpoint_name:
            return self.log.decision("ignored", reason=f"endpoint {change.endpoint_name!r} is not "
                                                       f"{self.settings.endpoint_name!r}")
        if change.status != ENDPOINT_IN_SERVICE_EVENT_STATUS:
            return self.log.decision("ignored", reason=f"the endpoint is {change.status}")
        endpoint = _describe(self.sagemaker.describe_endpoint, EndpointName=self.settings.endpoint_name)
        served = self._config_package(endpoint.get("EndpointConfigName")) if endpoint else None
        if endpoint is None or served is None:
            return self.log.decision("ignored", reason="the endpoint serves no version of the group")
        recorded = self._record(served)
        desired = self._newest_approved()
        if desired is not None and desired.version > served.version and (
                rollout := self._rolled_back(desired)) is not None:
            self._announce_rollback_once(desired, served, rollout)
            return self.log.decision("rolled-back", level="ERROR", modelPackageVersion=desired.version,
                                     servedVersion=served.version)
        return self.log.decision("recorded" if recorded else "unchanged", servedVersion=served.version)

    def _announce_rollback_once(self, desired: ServedPackage, served: ServedPackage, rollout: Rollout) -> None:
        """Told once per rollout: the endpoint enters InService again on every scaling, too."""
        if ROLLBACK_ANNOUNCED_TAG in rollout.tags:
            return
        self._notify(f"{self.settings.endpoint_name}: version {desired.version} was rolled back",
                     f"The canary deployment of {desired.arn} ended with the endpoint back on version "
                     f"{served.version}: a rollback alarm fired. Approve version {desired.version} again "
                     f"to retry it, or approve a newer version.")
        self._stamp(rollout.config_arn, ROLLBACK_ANNOUNCED_TAG)

    # -- package decisions

    def _newest_approved(self) -> ServedPackage | None:
        """The newest Approved package of the group: what the endpoint should serve."""
        newest: ServedPackage | None = None
        paginator = self.sagemaker.get_paginator("list_model_packages")
        for page in paginator.paginate(ModelPackageGroupName=self.settings.model_package_group_name,
                                       ModelApprovalStatus=APPROVED):
            for summary in page.get("ModelPackageSummaryList", []):
                version = package_version(summary.get("ModelPackageArn"), self.settings.model_package_group_name)
                if version is not None and (newest is None or version > newest.version):
                    newest = ServedPackage(arn=summary["ModelPackageArn"], version=version)
        return newest

    def _nothing_approved(self, change: PackageStateChange, endpoint: dict[str, Any] | None) -> dict[str, Any]:
        if endpoint is None:
            return self.log.decision("ignored", reason="no version of the group is approved")
        self._notify(f"{self.settings.endpoint_name}: no approved version left",
                     f"{change.arn} is {change.approval_status} and no other version of "
                     f"{self.settings.model_package_group_name} is approved: the endpoint keeps serving what it "
                     f"serves. Approve a version to replace it.")
        return self.log.decision("nothing-approved", level="ERROR", modelPackageVersion=change.version)

    def _await_endpoint(self, desired: ServedPackage) -> dict[str, Any]:
        """The serving stack was deployed before any model was approved: record the version for `pulumi up`."""
        if self._record(desired):
            self._notify(f"{self.settings.endpoint_name}: version {desired.version} is ready to serve",
                         f"{desired.arn} is approved and recorded in {self.settings.served_model_parameter}. "
                         f"Run `pulumi up --stack {self.settings.stack_name}` to create the endpoint on it.")
        return self.log.decision("awaiting-endpoint", modelPackageVersion=desired.version,
                                 parameter=self.settings.served_model_parameter)

    def _reconcile(self, endpoint: dict[str, Any], desired: ServedPackage) -> dict[str, Any]:
        deployed = self._config_package(endpoint.get("EndpointConfigName"))
        pending = self._config_package((endpoint.get("PendingDeploymentSummary") or {}).get("EndpointConfigName"))
        version = desired.version
        if pending is not None and pending.version == version:
            return self.log.decision("already-deploying", modelPackageVersion=version)
        if deployed is not None and deployed.version == version and pending is None:
            return self.log.decision("already-deployed", modelPackageVersion=version,
                                     endpointConfigName=endpoint.get("EndpointConfigName"))
        newer_than_served = deployed is None or version > deployed.version
        if newer_than_served and pending is None and self._rolled_back(desired) is not None:
            return self.log.decision("rolled-back", level="WARNING", modelPackageVersion=version,
                                     servedVersion=deployed.version if deployed else None)
        self._require_in_service(str(endpoint.get("EndpointStatus")), version)
        name = deployment_name(self.settings.endpoint_name, version)
        self._ensure_model(name, desired.arn, version)
        self._ensure_endpoint_config(name, version)
        self._update_endpoint(name)
        return self.log.decision("deploying" if newer_than_served else "rolling-back", modelPackageVersion=version,
                                 endpointConfigName=name, previousVersion=deployed.version if deployed else None)

    def _require_in_service(self, status: str, version: int) -> None:
        if status == "InService":
            return
        reason = f"endpoint {self.settings.endpoint_name!r} is {status}"
        if status in BUSY_ENDPOINT_STATUSES:
            self.log.write("WARNING", "endpoint busy; the event will be retried", modelPackageVersion=version,
                           endpointStatus=status)
            raise RetryableDeploymentError(f"{reason}; retry once it is InService")
        raise DeploymentError(f"{reason}: it cannot be updated until someone repairs it")

    def _rolled_back(self, desired: ServedPackage) -> Rollout | None:
        """The rollout of `desired` this function started after the package was last approved, if any — the
        endpoint not serving it, the canary alarms rolled it back."""
        config = _describe(self.sagemaker.describe_endpoint_config,
                           EndpointConfigName=deployment_name(self.settings.endpoint_name, desired.version))
        if config is None:
            return None
        tags = self.sagemaker.list_tags(ResourceArn=config["EndpointConfigArn"]).get("Tags", [])
        rollout = Rollout(config["EndpointConfigArn"], {str(tag.get("Key")): str(tag.get("Value")) for tag in tags})
        started = rollout.tags.get(ROLLOUT_STARTED_TAG)
        if started is None:
            return None
        package = self.sagemaker.describe_model_package(ModelPackageName=desired.arn)
        approved_at = package.get("LastModifiedTime") or package.get("CreationTime")
        return rollout if approved_at is None or _timestamp(started) >= approved_at.timestamp() else None

    def _config_package(self, config_name: object) -> ServedPackage | None:
        """The newest package version of our group an endpoint config serves, if any."""
        if not isinstance(config_name, str) or not config_name:
            return None
        config = _describe(self.sagemaker.describe_endpoint_config, EndpointConfigName=config_name)
        if config is None:
            return None
        packages = (self._model_package(variant.get("ModelName")) for variant in config.get("ProductionVariants", []))
        return max((package for package in packages if package is not None), key=lambda p: p.version, default=None)

    def _model_package(self, model_name: object) -> ServedPackage | None:
        if not isinstance(model_name, str) or not model_name:
            return None
        model = _describe(self.sagemaker.describe_model, ModelName=model_name)
        if model is None:
            return None
        containers = [model.get("PrimaryContainer") or {}, *model.get("Containers", [])]
        group = self.settings.model_package_group_name
        packages = [ServedPackage(arn=container["ModelPackageName"], version=version) for container in containers
                    if (version := package_version(container.get("ModelPackageName"), group)) is not None]
        return max(packages, key=lambda p: p.version, default=None)

    def _ensure_model(self, name: str, package_arn: str, version: int) -> None:
        if _describe(self.sagemaker.describe_model, ModelName=name) is not None:
            self.log.write("INFO", "model exists; reusing it", modelName=name)
            return
        created = _create(self.sagemaker.create_model,
                          **create_model_request(self.settings, name, package_arn, version))
        self.log.write("INFO", "model created" if created else "model appeared meanwhile; reusing it", modelName=name)

    def _ensure_endpoint_config(self, name: str, version: int) -> None:
        if _describe(self.sagemaker.describe_endpoint_config, EndpointConfigName=name) is not None:
            self.log.write("INFO", "endpoint config exists; reusing it", endpointConfigName=name)
            return
        created = _create(self.sagemaker.create_endpoint_config,
                          **create_endpoint_config_request(self.settings, name, version))
        self.log.write("INFO", "endpoint config created" if created else "endpoint config appeared meanwhile",
                       endpointConfigName=name)

    def _update_endpoint(self, config_name: str) -> None:
        try:
            self.sagemaker.update_endpoint(**update_endpoint_request(self.settings, config_name))
        except ClientError as err:
            if _is_busy(err):
                code, _ = _error(err)
                raise RetryableDeploymentError(
                    f"SageMaker refused the update for now ({code}); the event will be retried") from err
            raise
        config = self.sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
        self._stamp(config["EndpointConfigArn"], ROLLOUT_STARTED_TAG)

    def _stamp(self, config_arn: str, key: str) -> None:
        """Tag an endpoint config with the time something happened to it."""
        self.sagemaker.add_tags(ResourceArn=config_arn, Tags=[{"Key": key, "Value": str(time.time())}])

    # -- the served version and the notices

    def _record(self, package: ServedPackage) -> bool:
        """Record `package` as the served version; False when it was recorded already."""
        name = self.settings.served_model_parameter
        try:
            current = self.clients.ssm.get_parameter(Name=name)["Parameter"]["Value"]
        except ClientError as err:
            if _error(err)[0] != "ParameterNotFound":
                raise
            current = None
        if current == package.arn:
            return False
        self.clients.ssm.put_parameter(Name=name, Value=package.arn, Type="String", Overwrite=True,
                                       Description=f"The model version {self.settings.endpoint_name} serves")
        self.log.write("INFO", "served version recorded", parameter=name, modelPackageVersion=package.version)
        return True

    def _notify(self, subject: str, message: str) -> None:
        self.clients.sns.publish(TopicArn=self.settings.notices_topic_arn, Subject=subject[:100], Message=message)


def _timestamp(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return 0.0


# --- entry point ------------------------------------------------------------------------------------------


def handler(event: Any, context: Any, clients: Clients | None = None) -> dict[str, Any]:
    """Lambda entry point. ``clients`` lets tests inject AWS clients; Lambda passes only event and context.

    An SQS batch (one message, by the event source mapping's batch size) is unwrapped; a transient error raised
    for a message leaves it on the queue to be retried."""
    records = _sqs_records(event)
    if records is None:
        return _handle(event, context, clients or Clients.default())
    return {"results": [_handle(_message_body(record), context, clients or Clients.default())
                        for record in records]}


def _sqs_records(event: Any) -> list[Any] | None:
    if not isinstance(event, dict) or not isinstance(event.get("Records"), list):
        return None
    records: list[Any] = event["Records"]
    if records and all(isinstance(r, dict) and r.get("eventSource") == "aws:sqs" for r in records):
        return records
    return None


def _message_body(record: dict[str, Any]) -> Any:
    """The EventBridge event the queue carries; an unreadable body is handed on and rejected as malformed."""
    try:
        return json.loads(record.get("body") or "")
    except json.JSONDecodeError:
        return record.get("body")


def _handle(event: Any, context: Any, clients: Clients) -> dict[str, Any]:
    settings = Settings.from_env()
    log = _Log({"function": MANAGED_BY, "requestId": getattr(context, "aws_request_id", None),
                "eventId": _event_id(event), "endpointName": settings.endpoint_name})
    try:
        change = parse_event(event)
    except MalformedEventError as err:
        return log.decision("rejected", level="WARNING", reason=str(err))
    if isinstance(change, PackageStateChange):
        log.context["modelPackageArn"] = change.arn
    deployer = _Deployer(settings, clients, log)
    try:
        if isinstance(change, PackageStateChange):
            return deployer.on_package_change(change)
        return deployer.on_endpoint_change(change)
    except Exception as err:
        if is_transient(err) or not isinstance(err, ClientError | DeploymentError):
            raise
        return _park(event, err, settings, clients, log)


def _park(event: Any, err: Exception, settings: Settings, clients: Clients, log: _Log) -> dict[str, Any]:
    """A permanent failure: the event goes to the dead-letter queue now, with the reason, and the on-call hears of
    it; retrying for hours would only delay both."""
    reason = f"{type(err).__name__}: {err}"
    clients.sqs.send_message(QueueUrl=settings.dead_letter_queue_url, MessageBody=json.dumps(event, default=str),
                             MessageAttributes={"reason": {"DataType": "String", "StringValue": reason[:1000]}})
    clients.sns.publish(TopicArn=settings.notices_topic_arn,
                        Subject=f"{settings.endpoint_name}: a deployment event failed"[:100],
                        Message=f"{reason}\n\nThe event is in the dead-letter queue {settings.dead_letter_queue_url}; "
                                "redrive it once the cause is fixed.")
    return log.decision("failed", level="ERROR", reason=reason)
