"""The artifact tier: where trained models live — model artifacts, container images, the model registry."""

from __future__ import annotations

from mlops_platform.components.registry import (
    ContainerRepository,
    ContainerRepositoryArgs,
    ModelRegistry,
    ModelRegistryArgs,
)
from mlops_platform.tiers.context import TierContext


def build(ctx: TierContext) -> None:
    key = ctx.key("model artifacts, registry, images")
    models = ctx.bucket("model-artifacts", key)
    use_cases = [use_case.name for use_case in ctx.cfg.use_cases]
    for use_case in use_cases:
        ContainerRepository(ctx.name(f"{use_case}-images"),
                            ContainerRepositoryArgs(use_case=use_case, kms_key_arn=key.arn,
                                                    protect=ctx.protects_state), ctx.child())
    registry = ModelRegistry(ctx.name("model-registry"), ModelRegistryArgs(
        tier=ctx.tier, account_id=ctx.account_id, region=ctx.cfg.region, use_cases=use_cases,
        protect=ctx.protects_state), ctx.child()) if use_cases else None
    ctx.refs.publish("artifact", {
        "keyArn": key.arn,
        "modelBucketName": models.bucket,
        "modelBucketArn": models.arn,
        "modelApproverRoleArn": registry.approver_role_arn if registry else "",
    })
