"""The staging and prod tiers: per use case with an approved model, an autoscaled canary endpoint behind an
HTTP API, capturing its requests and responses into the tier's data-capture bucket; in the small size, prod
also deploys every newly approved model itself (approval deployer)."""

from __future__ import annotations

import pulumi

from mlops_platform.components.approval_deployer import ApprovalDeployer, ApprovalDeployerArgs
from mlops_platform.components.inference_api import InferenceApi, InferenceApiArgs
from mlops_platform.components.kms_key import cloudwatch_alarms_grant, cloudwatch_logs_grant
from mlops_platform.components.serving import ServingEndpoint, ServingEndpointArgs
from mlops_platform.config import UseCase
from mlops_platform.tiers.context import TierContext
from mlops_platform.topology import Size


def build(ctx: TierContext) -> None:
    key = ctx.key(f"{ctx.tier} endpoints and functions", grants=(
        cloudwatch_logs_grant(ctx.account_id, ctx.cfg.region), cloudwatch_alarms_grant(ctx.account_id)))
    served = [(use_case, use_case.model_package_arn) for use_case in ctx.cfg.use_cases
              if use_case.model_package_arn is not None]
    urls: dict[str, pulumi.Output[str]] = {}
    if served:
        capture = ctx.bucket("data-capture", key)
        for use_case, model_package_arn in served:
            capture_uri = pulumi.Output.concat("s3://", capture.bucket, f"/{use_case.name}")
            urls[use_case.name] = _serve(ctx, use_case, model_package_arn, key.arn, capture_uri)
    ctx.refs.publish(ctx.tier, {"inferenceUrls": urls})


def _serve(ctx: TierContext, use_case: UseCase, model_package_arn: str, key_arn: pulumi.Output[str],
           capture_uri: pulumi.Output[str]) -> pulumi.Output[str]:
    cfg = ctx.cfg
    endpoint = ServingEndpoint(ctx.name(use_case.name), ServingEndpointArgs(
        use_case=use_case.name, tier=ctx.tier, account_id=ctx.account_id, region=cfg.region,
        model_package_arn=model_package_arn, instance_type=use_case.instance_type,
        min_instances=use_case.min_instances, max_instances=use_case.max_instances,
        canary_percent=use_case.canary_percent, canary_wait_seconds=use_case.canary_wait_seconds,
        kms_key_arn=key_arn, model_bucket_arn=ctx.refs.get("artifact", "modelBucketArn"),
        artifact_key_arn=ctx.refs.get("artifact", "keyArn"), data_capture_uri=capture_uri), ctx.child())
    api = InferenceApi(ctx.name(f"{use_case.name}-api"), InferenceApiArgs(
        use_case=use_case.name, tier=ctx.tier, account_id=ctx.account_id, region=cfg.region,
        endpoint_name=endpoint.endpoint_name, endpoint_arn=endpoint.endpoint_arn, kms_key_arn=key_arn),
        ctx.child())
    if cfg.size == Size.SMALL and ctx.tier == "prod":
        ApprovalDeployer(ctx.name(f"{use_case.name}-deployer"), ApprovalDeployerArgs(
            use_case=use_case.name, tier=ctx.tier, account_id=ctx.account_id, region=cfg.region,
            endpoint_name=endpoint.endpoint_name, model_role_arn=endpoint.model_role_arn,
            instance_type=use_case.instance_type, initial_instance_count=use_case.min_instances,
            canary_percent=use_case.canary_percent, canary_wait_seconds=use_case.canary_wait_seconds,
            rollback_alarm_names=endpoint.rollback_alarm_names, kms_key_arn=key_arn,
            registry_account_id=cfg.account_of_tier("artifact"), data_capture_uri=capture_uri), ctx.child())
    return api.url
