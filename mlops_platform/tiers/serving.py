"""The staging and prod tiers: per served use case an HTTP API and the model's role, and — once a version is
approved — an autoscaled canary endpoint capturing its requests and responses into the tier's data-capture
bucket under `<use case>/<tier>/`, which S3 replicates into the ops tier's capture bucket where drift is checked;
in the small size, prod also deploys every newly approved model itself (approval deployer).

Which version each endpoint serves is the tier's recorded state in SSM Parameter Store
(`contract.served_model_parameter`), read once per stack with `get_parameters_by_path`: nothing in config pins
a model, so a new account deploys this tier before any model exists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_aws as aws

from mlops_platform import contract, naming, topology
from mlops_platform.components.approval_deployer import ApprovalDeployer, ApprovalDeployerArgs
from mlops_platform.components.capture_replication import CaptureReplication, CaptureReplicationArgs
from mlops_platform.components.inference_api import InferenceApi, InferenceApiArgs
from mlops_platform.components.kms_key import cloudwatch_alarms_grant, cloudwatch_logs_grant
from mlops_platform.components.serving import ServingEndpoint, ServingEndpointArgs
from mlops_platform.config import UseCase
from mlops_platform.functions.deploy_on_approval import package_version
from mlops_platform.tiers import grants
from mlops_platform.tiers.context import TierContext


class ServingStateError(ValueError):
    """A recorded served version is not a version this tier can serve; the message names the parameter."""


def build(ctx: TierContext) -> None:
    key = ctx.key(f"{ctx.tier} endpoints and functions", grants=(
        cloudwatch_logs_grant(ctx.account_id, ctx.cfg.region), cloudwatch_alarms_grant(ctx.account_id)))
    served = [use_case for use_case in ctx.cfg.use_cases if use_case.serve]
    urls: dict[str, pulumi.Output[str]] = {}
    if served:
        versions = served_versions(ctx, served)
        capture = ctx.bucket("data-capture", key)
        for use_case in served:
            capture_uri = pulumi.Output.concat(
                "s3://", capture.bucket, "/", contract.replicated_capture_prefix(use_case.name, ctx.tier))
            urls[use_case.name] = _serve(ctx, use_case, versions.get(use_case.name), key.arn, capture_uri)
        if ctx.tier in grants.replicating_tiers(ctx.cfg):
            CaptureReplication(ctx.name("capture-replication"), CaptureReplicationArgs(
                placement=ctx.placement, use_cases=served, source_bucket_name=capture.bucket,
                source_bucket_arn=capture.arn, source_key_arn=key.arn,
                destination_bucket_arn=ctx.refs.get("ops", "captureBucketArn"),
                destination_key_arn=ctx.refs.get("ops", "keyArn"),
                destination_account_id=ctx.cfg.account_of_tier("ops")),
                pulumi.ResourceOptions(parent=ctx.component, depends_on=[capture]))
    ctx.refs.publish(ctx.tier, {"inferenceUrls": urls})


def served_versions(ctx: TierContext, use_cases: Sequence[UseCase]) -> dict[str, str]:
    """The versioned package ARN each use case serves in this tier, from the tier's SSM state (one call)."""
    path = contract.served_models_path(ctx.tier)
    state = aws.ssm.get_parameters_by_path(path=path, recursive=False,
                                           opts=pulumi.InvokeOptions(parent=ctx.component))
    recorded = dict(zip(state.names, state.values, strict=True))
    return check_served_versions(recorded, ctx.tier, use_cases, ctx.cfg.region, ctx.cfg.account_of_tier("artifact"))


def check_served_versions(recorded: Mapping[str, str], tier: str, use_cases: Sequence[UseCase], region: str,
                          registry_account: str) -> dict[str, str]:
    """Each recorded version must be a version of its use case's group in the platform's registry; a parameter
    for a use case no longer served is left alone (a warning), never an endpoint."""
    wanted = {use_case.name for use_case in use_cases}
    versions: dict[str, str] = {}
    for name, value in sorted(recorded.items()):
        use_case = name.removeprefix(contract.served_models_path(tier))
        if use_case not in wanted:
            pulumi.log.warn(f"SSM parameter {name} records a served version for {use_case!r}, which this tier "
                            "does not serve; it is ignored")
            continue
        _require_registry_version(name, value, use_case, region, registry_account)
        versions[use_case] = value
    return versions


def _require_registry_version(name: str, value: str, use_case: str, region: str, registry_account: str) -> None:
    group = contract.model_package_group_name(use_case)
    expected = naming.sagemaker_arn(region, registry_account, f"model-package/{group}/<version>")
    registry = naming.sagemaker_scope(region, registry_account) + ":"
    if package_version(value, group) is None or not value.startswith(registry):
        raise ServingStateError(
            f"SSM parameter {name} = {value!r}: the served version must be {expected} (a version of the "
            f"{group!r} group in the platform's registry); correct it with `aws ssm put-parameter --overwrite`, "
            "or delete it to serve no model")


def _serve(ctx: TierContext, use_case: UseCase, model_package_arn: str | None, key_arn: pulumi.Output[str],
           capture_uri: pulumi.Output[str]) -> pulumi.Output[str]:
    cfg = ctx.cfg
    endpoint = ServingEndpoint(ctx.name(use_case.name), ServingEndpointArgs(
        placement=ctx.placement, use_case=use_case, model_package_arn=model_package_arn, kms_key_arn=key_arn,
        model_bucket_arn=ctx.refs.get("artifact", "modelBucketArn"),
        artifact_key_arn=ctx.refs.get("artifact", "keyArn"),
        data_capture_uri=capture_uri), ctx.child())
    api = InferenceApi(ctx.name(f"{use_case.name}-api"), InferenceApiArgs(endpoint=endpoint, kms_key_arn=key_arn),
                       ctx.child())
    if topology.deploys_on_approval_by_function(cfg.size) and ctx.tier == "prod":
        ApprovalDeployer(ctx.name(f"{use_case.name}-deployer"), ApprovalDeployerArgs(
            endpoint=endpoint, registry_account_id=cfg.account_of_tier("artifact"), stack_name=cfg.stack.name),
            ctx.child())
    return api.url
