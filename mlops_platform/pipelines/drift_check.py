"""The drift pipeline's JSON definition: one processing step running the monitoring image's `check`.

Written by hand rather than through the sagemaker SDK: a single step needs none of the SDK's graph building, and
the step's arguments are a `CreateProcessingJob` request, so they are validated against botocore's own model of
that request (`validate_step_arguments`) — a misspelt or mistyped field fails at program time, not in AWS.
The report of each run goes to `<reports prefix>/<execution id>/`, a pipeline expression the service resolves.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.validate import ParamValidator

from mlops_platform import monitoring_image, service_models
from mlops_platform.config import UseCase
from mlops_platform.placement import Placement

SCHEMA_VERSION = "2020-12-01"
STEP_NAME = "DriftCheck"
INSTANCE_TYPE = "ml.m5.large"
VOLUME_SIZE_GB = 30
MAX_RUNTIME_SECONDS = 3600
EXECUTION_ID: Mapping[str, str] = {"Get": "Execution.PipelineExecutionId"}


class DriftDefinitionError(ValueError):
    """The step's arguments are not a valid CreateProcessingJob request; the message lists botocore's reasons."""


@dataclass(frozen=True)
class DriftCheckSpec:
    use_case: UseCase
    placement: Placement
    """The ops tier: where the job runs."""
    registry_account_id: str
    role_arn: str
    image_uri: str
    capture_uri: str
    """`s3://<ops capture bucket>/<use case>/`: every serving tier's replicated prefix lies under it."""
    reports_uri: str
    """`s3://<ops capture bucket>/reports/<use case>/`; each run reports under its execution id."""
    kms_key_arn: str
    """Encrypts the job's volume and its report."""
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]


def report_uri(spec: DriftCheckSpec) -> dict[str, Any]:
    return {"Std:Join": {"On": "", "Values": [spec.reports_uri, EXECUTION_ID, "/"]}}


def step_arguments(spec: DriftCheckSpec) -> dict[str, Any]:
    report = report_uri(spec)
    return {
        "ProcessingResources": {"ClusterConfig": {
            "InstanceCount": 1, "InstanceType": INSTANCE_TYPE, "VolumeSizeInGB": VOLUME_SIZE_GB,
            "VolumeKmsKeyId": spec.kms_key_arn}},
        "AppSpecification": {
            "ImageUri": spec.image_uri,
            "ContainerArguments": monitoring_image.check_arguments(spec.use_case, spec.placement,
                                                                   spec.registry_account_id, report)},
        "RoleArn": spec.role_arn,
        "ProcessingInputs": [{
            "InputName": "capture", "AppManaged": False,
            "S3Input": {"S3Uri": spec.capture_uri, "LocalPath": monitoring_image.CAPTURE_INPUT_DIR,
                        "S3DataType": "S3Prefix", "S3InputMode": "File",
                        "S3DataDistributionType": "FullyReplicated"}}],
        "ProcessingOutputConfig": {"KmsKeyId": spec.kms_key_arn, "Outputs": [{
            "OutputName": "report", "AppManaged": False,
            "S3Output": {"S3Uri": report, "LocalPath": monitoring_image.REPORT_OUTPUT_DIR,
                         "S3UploadMode": "EndOfJob"}}]},
        # Not network-isolated: the check reads the registry and puts metrics and events, through the VPC's
        # interface endpoints (the VPC has no route out).
        "NetworkConfig": {"EnableInterContainerTrafficEncryption": True, "EnableNetworkIsolation": False,
                          "VpcConfig": {"SecurityGroupIds": list(spec.security_group_ids),
                                        "Subnets": list(spec.subnet_ids)}},
        "StoppingCondition": {"MaxRuntimeInSeconds": MAX_RUNTIME_SECONDS},
    }


def drift_definition(spec: DriftCheckSpec) -> str:
    arguments = step_arguments(spec)
    validate_step_arguments(arguments)
    return json.dumps({
        "Version": SCHEMA_VERSION,
        "Metadata": {},
        "Parameters": [],
        "Steps": [{"Name": STEP_NAME, "Type": "Processing", "Arguments": arguments}],
    }, sort_keys=True)


def validate_step_arguments(arguments: Mapping[str, Any]) -> None:
    """Check the arguments as botocore checks a CreateProcessingJob call, pipeline expressions standing in as the
    strings they resolve to and the job name (which the pipeline gives) filled in."""
    request = {"ProcessingJobName": "drift-check", **_resolved(arguments)}
    shape = service_models.sagemaker().operation_model("CreateProcessingJob").input_shape
    report = ParamValidator().validate(request, shape)
    if report.has_errors():
        raise DriftDefinitionError(f"the drift check step is not a valid CreateProcessingJob request:\n"
                                   f"{report.generate_report()}")


def _resolved(value: Any) -> Any:
    if isinstance(value, Mapping):
        if "Std:Join" in value or "Get" in value:
            return "s3://resolved-at-run-time/"
        return {key: _resolved(item) for key, item in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_resolved(item) for item in value]
    return value
