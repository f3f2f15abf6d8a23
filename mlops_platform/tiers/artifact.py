"""The artifact tier: where trained models live — model artifacts, container images, the model registry — and
the platform's monitoring image, which the open drift engine's baseline and check jobs run."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from mlops_platform import contract, topology
from mlops_platform.components.approval_forwarding import ApprovalForwarding, ApprovalForwardingArgs
from mlops_platform.components.feature_store import FeatureStore, FeatureStoreArgs, FeatureStoreRole
from mlops_platform.components.kms_key import PlatformKey, PlatformKeyArgs
from mlops_platform.components.registry import (
    ContainerRepository,
    ContainerRepositoryArgs,
    ModelRegistry,
    ModelRegistryArgs,
)
from mlops_platform.tiers import grants
from mlops_platform.tiers.context import TierContext


def build(ctx: TierContext) -> None:
    readers, writers = grants.model_readers(ctx.cfg), grants.model_writers(ctx.cfg)
    uploaders = grants.step_script_uploaders(ctx.cfg)
    key = ctx.key("model artifacts, registry, images", grants=grants.key_grants(readers, writers, uploaders))
    models = ctx.bucket("model-artifacts", key, grants=grants.bucket_grants(readers, writers, uploaders))
    use_cases = [use_case.name for use_case in ctx.cfg.use_cases]
    for use_case in ctx.cfg.use_cases:
        ContainerRepository(ctx.name(f"{use_case.name}-images"), ContainerRepositoryArgs(
            repository_name=contract.container_repository_name(use_case.name), kms_key_arn=key.arn,
            protect=ctx.protects_state, policy=grants.repository_policy(ctx.cfg, use_case)), ctx.child())
    if ctx.cfg.drift_engine == "open":
        ContainerRepository(ctx.name("monitoring-images"), ContainerRepositoryArgs(
            repository_name=contract.MONITORING_IMAGE_REPOSITORY, kms_key_arn=key.arn, protect=ctx.protects_state,
            policy=grants.monitoring_repository_policy(ctx.cfg)), ctx.child())
    registry = ModelRegistry(ctx.name("model-registry"), ModelRegistryArgs(
        tier=ctx.tier, account_id=ctx.account_id, region=ctx.cfg.region, use_cases=use_cases,
        protect=ctx.protects_state, group_policy=lambda arn: grants.model_package_group_policy(ctx.cfg, arn)),
        ctx.child()) if use_cases else None
    _forward_approvals(ctx)
    features = _feature_store(ctx)
    ctx.refs.publish("artifact", {
        "keyArn": key.arn,
        "modelBucketName": models.bucket,
        "modelBucketArn": models.arn,
        "modelApproverRoleArn": registry.approver_role_arn if registry else "",
        "featureStoreBucketName": features.bucket_name if features else "",
        "featureStoreBucketArn": features.bucket_arn if features else "",
        "featureStoreKeyArn": features.key_arn if features else "",
    })


@dataclass(frozen=True)
class _FeatureStorage:
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    key_arn: pulumi.Output[str]


def _feature_store(ctx: TierContext) -> _FeatureStorage | None:
    """`features.featureStore`: every use case's feature groups, their offline stores in one bucket under their own
    key (readers of features are not readers of models), written by one feature store role."""
    cfg = ctx.cfg
    use_cases = [use_case for use_case in cfg.use_cases if use_case.name in grants.feature_use_cases(cfg)]
    if not use_cases:
        return None
    key = PlatformKey(ctx.name("feature-store-key"), PlatformKeyArgs(
        description=f"mlops-platform {ctx.tier} tier: feature groups (offline and online stores)",
        placement=ctx.placement, alias=f"{contract.PROJECT}/{ctx.tier}/feature-store", protect=ctx.protects_state,
        grants=grants.feature_store_key_grants(cfg)), ctx.child())
    bucket = ctx.bucket("feature-store", key, grants=grants.feature_store_bucket_grants(cfg))
    role = FeatureStoreRole(ctx.name("feature-store-role"), ctx.placement, cfg.feature_groups, bucket.arn, key.arn,
                            ctx.child())
    for use_case in use_cases:
        FeatureStore(ctx.name(f"{use_case.name}-features"), FeatureStoreArgs(
            placement=ctx.placement, use_case=use_case, groups=cfg.feature_groups_of(use_case.name),
            bucket_name=bucket.bucket, bucket_arn=bucket.arn, key_arn=key.arn, role=role,
            reader_accounts=grants.feature_reader_accounts(cfg, use_case.name), protect=ctx.protects_state),
            ctx.child())
    return _FeatureStorage(bucket.bucket, bucket.arn, key.arn)


def _forward_approvals(ctx: TierContext) -> None:
    """Where the promotion pipelines live in another account (large), approvals of served groups are forwarded there."""
    cfg = ctx.cfg
    cicd_account = cfg.account_of_tier("cicd")
    served = [contract.model_package_group_name(u.name) for u in cfg.use_cases if u.serve]
    if not topology.has_organization(cfg.size) or cicd_account == ctx.account_id or not served \
            or cfg.promotion.repository is None:
        return
    ApprovalForwarding(ctx.name("approval-forwarding"), ApprovalForwardingArgs(
        placement=ctx.placement, cicd_account_id=cicd_account, groups=served), ctx.child())
