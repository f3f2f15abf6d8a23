"""Deploy each newly approved model package of one Model Registry group to its real-time endpoint as a canary.

Trigger: the EventBridge rule built from `mlops_platform.events.model_package_approved_pattern(group)` puts each
"SageMaker Model Package State Change" event on an SQS queue, which invokes this function one message at a time
(the function also accepts the bare event, as a direct EventBridge target or a test sends it). Configuration comes from
environment variables, read on every call (`Settings.from_env`); a missing or invalid one raises
`ConfigurationError` naming it.

One invocation:
1. Validates the event. Not an object, not a SageMaker package state change, or required fields missing →
   ``{"status": "rejected", "reason": ...}`` and no AWS call. Another group, or a status other than Approved
   (Rejected, PendingManualApproval) → ``{"status": "ignored", "reason": ...}``, no AWS call either.
2. Re-reads the package (DescribeModelPackage) and trusts *its* approval status and version, not the event's:
   events can be stale (approved, then rejected a minute later) → ``ignored`` unless still Approved.
3. Finds the version the endpoint runs: endpoint → endpoint config → model → container ``ModelPackageName`` (a
   versioned package ARN ends in ``/<version>``), and the same for a deployment in progress
   (``PendingDeploymentSummary``). Same version → ``already-deployed`` / ``already-deploying``. Older than the
   version deployed or being deployed (a late or re-delivered event) → ``superseded``: a newer model is never
   replaced by an older one.
4. Creates the model and the endpoint config, both named ``<endpoint>-v<version>``, unless they exist already
   (a retry after a partial failure carries on), then calls UpdateEndpoint with a blue/green CANARY policy and
   CloudWatch-alarm auto-rollback, keeping the autoscaling-managed instance count
   (``RetainAllVariantProperties``) → ``{"status": "deploying", ...}``.

Errors are raised, so the message goes back on the queue and is retried after its visibility timeout, for
hours — longer than any canary deployment — before the queue's redrive parks it in the dead-letter queue:
- `RetryableDeploymentError`: the endpoint is busy (Creating, Updating, SystemUpdating, RollingBack) with
  something else, or SageMaker refused the update because one is in progress or throttled it. The same event
  succeeds later, so the event is retried rather than dropped.
- `DeploymentError`: retrying cannot help: the endpoint does not exist, or is Failed, OutOfService, Deleting or
  UpdateRollbackFailed.

Endpoint missing: raised as `DeploymentError`, not returned as ``{"status": "endpoint-missing"}``. A returned
value would delete the message: the approval would be lost with only a log line. Raising keeps it on the
queue and finally in the DLQ with the reason; once the platform engineer has created the endpoint
(``pulumi up``), redriving the DLQ deploys the model. The retries run the same checks first: harmless, every
step is idempotent.

Logs: one JSON object per line on stdout (request id, event id, package ARN, decision); no payloads or secrets.
This module imports only the standard library and boto3: the file alone is the deployment package.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3  # type: ignore[import-untyped]
from botocore.exceptions import ClientError

SageMakerClient = Any
"""A boto3 ``sagemaker`` client (the project installs no boto3 type stubs)."""

EVENT_SOURCE = "aws.sagemaker"
EVENT_DETAIL_TYPE = "SageMaker Model Package State Change"
"""Equal to `mlops_platform.events.MODEL_PACKAGE_STATE_CHANGE` (tested); not imported, the module stands alone."""
APPROVED = "Approved"
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

_SAGEMAKER_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}")
_INSTANCE_TYPE = re.compile(r"ml\.[a-z0-9-]+\.[a-z0-9]+")
_KMS_KEY_ARN = re.compile(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/[a-zA-Z0-9/_-]+")
_S3_URI = re.compile(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/\S*)?")
_UNSIGNED = re.compile(r"[0-9]+")
_PACKAGE_ARN = re.compile(
    r"arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{12}:model-package/(?P<group>[^/]+)/(?P<version>[0-9]+)")


class ConfigurationError(ValueError):
    """An environment variable is missing or invalid; the message names it."""


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
    data_capture_s3_uri: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            endpoint_name=_matching(env, "ENDPOINT_NAME", _SAGEMAKER_NAME,
                                    "a SageMaker endpoint name (letters, digits, hyphens; at most 63)"),
            model_package_group_name=_matching(env, "MODEL_PACKAGE_GROUP_NAME", _SAGEMAKER_NAME,
                                               "a model package group name (letters, digits, hyphens; at most 63)"),
            model_execution_role_arn=_matching(env, "MODEL_EXECUTION_ROLE_ARN", _ROLE_ARN, "an IAM role ARN"),
            instance_type=_matching(env, "INSTANCE_TYPE", _INSTANCE_TYPE,
                                    "a SageMaker instance type, e.g. ml.m5.large"),
            initial_instance_count=_integer(env, "INITIAL_INSTANCE_COUNT", 1, None),
            canary_percent=_integer(env, "CANARY_PERCENT", 1, 50),
            canary_wait_seconds=_integer(env, "CANARY_WAIT_SECONDS", 0, 3600),
            rollback_alarm_names=_alarm_names(env, "ROLLBACK_ALARM_NAMES"),
            kms_key_arn=_matching(env, "KMS_KEY_ARN", _KMS_KEY_ARN, "a KMS key (or alias) ARN"),
            data_capture_s3_uri=_optional_matching(env, "DATA_CAPTURE_S3_URI", _S3_URI, "an s3://bucket/prefix URI"),
        )


def _invalid(name: str, value: str, rule: str) -> ConfigurationError:
    return ConfigurationError(f"invalid environment variable {name}={value!r}: {rule}")


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"missing environment variable {name}")
    return value


def _matching(env: Mapping[str, str], name: str, pattern: re.Pattern[str], what: str) -> str:
    value = _required(env, name)
    if not pattern.fullmatch(value):
        raise _invalid(name, value, f"must be {what}")
    return value


def _optional_matching(env: Mapping[str, str], name: str, pattern: re.Pattern[str], what: str) -> str | None:
    return _matching(env, name, pattern, what) if env.get(name, "").strip() else None


def _integer(env: Mapping[str, str], name: str, low: int, high: int | None) -> int:
    value = _required(env, name)
    rule = f"must be a whole number from {low} to {high}" if high is not None else f"must be a whole number >= {low}"
    if not _UNSIGNED.fullmatch(value):
        raise _invalid(name, value, rule)
    number = int(value)
    if number < low or (high is not None and number > high):
        raise _invalid(name, value, rule)
    return number


def _alarm_names(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    value = _required(env, name)
    names = tuple(part.strip() for part in value.split(",") if part.strip())
    if not 1 <= len(names) <= MAX_ROLLBACK_ALARMS:
        raise _invalid(name, value, f"must list 1 to {MAX_ROLLBACK_ALARMS} CloudWatch alarm names, comma-separated")
    if any(len(alarm) > 255 for alarm in names):
        raise _invalid(name, value, "an alarm name has at most 255 characters")
    return names


# --- the event --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PackageStateChange:
    """The fields of a "SageMaker Model Package State Change" event this function uses."""

    group: str
    arn: str
    version: int
    approval_status: str


def parse_event(event: object) -> PackageStateChange:
    """The event's package fields, or `MalformedEventError` saying what is wrong."""
    if not isinstance(event, dict):
        raise MalformedEventError(f"the event is a {type(event).__name__}, not a JSON object")
    if event.get("detail-type") != EVENT_DETAIL_TYPE:
        raise MalformedEventError(f"detail-type is {_short(event.get('detail-type'))}, not {EVENT_DETAIL_TYPE!r}")
    if event.get("source") != EVENT_SOURCE:
        raise MalformedEventError(f"source is {_short(event.get('source'))}, not {EVENT_SOURCE!r}")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise MalformedEventError("the event has no 'detail' object")
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


@functools.cache
def _default_client() -> SageMakerClient:
    return boto3.client("sagemaker")


# --- the deployment ---------------------------------------------------------------------------------------


@dataclass
class _Deployer:
    settings: Settings
    sagemaker: SageMakerClient
    log: _Log

    def run(self, change: PackageStateChange) -> dict[str, Any]:
        group = self.settings.model_package_group_name
        if change.group != group:
            return self.log.decision("ignored", reason=f"model package group {change.group!r} is not {group!r}")
        if change.approval_status != APPROVED:
            return self.log.decision("ignored", reason=f"the event's approval status is {change.approval_status}")
        package = _describe(self.sagemaker.describe_model_package, ModelPackageName=change.arn)
        if package is None:
            return self.log.decision("ignored", reason="the model package no longer exists")
        if package.get("ModelPackageGroupName") != group:
            owner = package.get("ModelPackageGroupName")
            return self.log.decision("ignored", reason=f"the package belongs to group {owner!r}")
        if package.get("ModelApprovalStatus") != APPROVED:
            return self.log.decision(
                "ignored", reason=f"the package is {package.get('ModelApprovalStatus')} now: the event is stale")
        return self._deploy(package["ModelPackageArn"], int(package["ModelPackageVersion"]))

    def _deploy(self, package_arn: str, version: int) -> dict[str, Any]:
        endpoint_name = self.settings.endpoint_name
        endpoint = _describe(self.sagemaker.describe_endpoint, EndpointName=endpoint_name)
        if endpoint is None:
            reason = (f"endpoint {endpoint_name!r} does not exist: create it with `pulumi up`, "
                      f"then redrive this event from the dead-letter queue")
            self.log.decision("endpoint-missing", level="ERROR", modelPackageVersion=version, reason=reason)
            raise DeploymentError(reason)
        deployed = self._config_version(endpoint.get("EndpointConfigName"))
        pending = self._config_version((endpoint.get("PendingDeploymentSummary") or {}).get("EndpointConfigName"))
        if pending == version:
            return self.log.decision("already-deploying", modelPackageVersion=version)
        if deployed == version and pending is None:
            return self.log.decision("already-deployed", modelPackageVersion=version,
                                     endpointConfigName=endpoint.get("EndpointConfigName"))
        newest = max((known for known in (deployed, pending) if known is not None), default=None)
        if newest is not None and version < newest:
            return self.log.decision("superseded", modelPackageVersion=version, deployedVersion=newest)
        self._require_in_service(str(endpoint.get("EndpointStatus")), version)
        name = deployment_name(endpoint_name, version)
        self._ensure_model(name, package_arn, version)
        self._ensure_endpoint_config(name, version)
        self._update_endpoint(name)
        return self.log.decision("deploying", modelPackageVersion=version, endpointConfigName=name,
                                 previousVersion=deployed)

    def _require_in_service(self, status: str, version: int) -> None:
        if status == "InService":
            return
        reason = f"endpoint {self.settings.endpoint_name!r} is {status}"
        if status in BUSY_ENDPOINT_STATUSES:
            self.log.write("WARNING", "endpoint busy; the event will be retried", modelPackageVersion=version,
                           endpointStatus=status)
            raise RetryableDeploymentError(f"{reason}; retry once it is InService")
        self.log.decision("endpoint-unusable", level="ERROR", modelPackageVersion=version, reason=reason)
        raise DeploymentError(f"{reason}: it cannot be updated until someone repairs it")

    def _config_version(self, config_name: object) -> int | None:
        """The newest package version of our group an endpoint config serves, if any."""
        if not isinstance(config_name, str) or not config_name:
            return None
        config = _describe(self.sagemaker.describe_endpoint_config, EndpointConfigName=config_name)
        if config is None:
            return None
        versions = (self._model_version(variant.get("ModelName")) for variant in config.get("ProductionVariants", []))
        return max((version for version in versions if version is not None), default=None)

    def _model_version(self, model_name: object) -> int | None:
        if not isinstance(model_name, str) or not model_name:
            return None
        model = _describe(self.sagemaker.describe_model, ModelName=model_name)
        if model is None:
            return None
        containers = [model.get("PrimaryContainer") or {}, *model.get("Containers", [])]
        group = self.settings.model_package_group_name
        versions = (package_version(container.get("ModelPackageName"), group) for container in containers)
        return max((version for version in versions if version is not None), default=None)

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


# --- entry point ------------------------------------------------------------------------------------------


def handler(event: Any, context: Any, sagemaker: SageMakerClient | None = None) -> dict[str, Any]:
    """Lambda entry point. ``sagemaker`` lets tests inject a client; Lambda passes only event and context.

    An SQS batch (one message, by the event source mapping's batch size) is unwrapped; an error raised for a
    message leaves it on the queue to be retried."""
    records = _sqs_records(event)
    if records is None:
        return _handle(event, context, sagemaker)
    return {"results": [_handle(_message_body(record), context, sagemaker) for record in records]}


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


def _handle(event: Any, context: Any, sagemaker: SageMakerClient | None) -> dict[str, Any]:
    settings = Settings.from_env()
    log = _Log({"function": MANAGED_BY, "requestId": getattr(context, "aws_request_id", None),
                "eventId": _event_id(event), "endpointName": settings.endpoint_name})
    try:
        change = parse_event(event)
    except MalformedEventError as err:
        return log.decision("rejected", level="WARNING", reason=str(err))
    log.context["modelPackageArn"] = change.arn
    deployer = _Deployer(settings, sagemaker if sagemaker is not None else _default_client(), log)
    return deployer.run(change)
