"""The dev tier: the data scientists' workspace — SageMaker Studio (VPC-only), their bucket, and governed
read access to datasets and model artifacts of the data and artifact tiers; in the large size, the data lake's
curated tables (column-filtered where configured), queried in the dev tier's Athena workgroup."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from mlops_platform import contract
from mlops_platform.components.data_lake_access import (
    QUERY_INTERFACE_ENDPOINTS,
    DataLakeAccess,
    DataLakeAccessArgs,
    LakeReader,
)
from mlops_platform.components.feature_store import feature_access_statements
from mlops_platform.components.iam import document
from mlops_platform.components.network import PrivateNetwork, PrivateNetworkArgs
from mlops_platform.components.read_access import BucketReadPolicy
from mlops_platform.components.studio import StudioDomain, StudioDomainArgs
from mlops_platform.tiers import data, grants
from mlops_platform.tiers.context import TierContext


def build(ctx: TierContext) -> None:
    cfg = ctx.cfg
    key = ctx.key("data scientists' workspace")
    workspace = ctx.bucket("workspace", key)
    read_models = BucketReadPolicy(ctx.name("model-artifact-read"), "Read trained model artifacts",
                                   ctx.refs.get("artifact", "modelBucketArn"), ctx.refs.get("artifact", "keyArn"),
                                   ctx.child())
    read_datasets = BucketReadPolicy(ctx.name("dataset-read"), "Read governed datasets",
                                     ctx.refs.get("data", "datasetBucketArn"), ctx.refs.get("data", "keyArn"),
                                     ctx.child())
    network = PrivateNetwork(ctx.name("network"), PrivateNetworkArgs(
        placement=ctx.placement, cidr=cfg.studio.vpc_cidr,
        nat_gateway=cfg.studio.nat_gateway,
        extra_interface_services=QUERY_INTERFACE_ENDPOINTS if cfg.governed_data_lake else ()), ctx.child())
    studio = StudioDomain(ctx.name("studio"), StudioDomainArgs(
        placement=ctx.placement, domain_name="mlops-platform",
        vpc_id=network.vpc_id, subnet_ids=network.subnet_ids, security_group_id=network.security_group_id,
        kms_key_arn=key.arn, workspace_bucket_arn=workspace.arn,
        read_policy_arns=[read_models.arn, read_datasets.arn, *_feature_access(ctx)],
        use_cases=[use_case.name for use_case in cfg.use_cases], data_scientists=cfg.data_scientists,
        registry_account_id=cfg.account_of_tier("artifact"), pipeline_account_id=cfg.account_of_tier("ops")),
        ctx.child())
    _data_lake_access(ctx, studio)
    ctx.refs.publish("dev", {"workspaceBucketName": workspace.bucket, "studioDomainId": studio.domain_id})


def _feature_access(ctx: TierContext) -> list[pulumi.Output[str]]:
    """Where the feature store is built: the data scientists read and write every use case's feature groups and
    read their offline stores."""
    groups = [group for group in ctx.cfg.feature_groups if group.use_case in grants.feature_use_cases(ctx.cfg)]
    if not groups:
        return []
    policy = aws.iam.Policy(ctx.name("feature-access"), description="Use the feature groups of every use case",
                            policy=document(feature_access_statements(
                                ctx.cfg.region, ctx.cfg.account_of_tier("artifact"), groups,
                                ctx.refs.get("artifact", "featureStoreBucketArn"),
                                ctx.refs.get("artifact", "featureStoreKeyArn"))),
                            opts=ctx.child())
    return [policy.arn]


def _data_lake_access(ctx: TierContext, studio: StudioDomain) -> None:
    """The dev account's side of the share: links, the data scientists' grants (what the data account shared with
    this account, no more) and their workgroup. Its Lake Formation admin is the dev deploy role."""
    cfg, lake = ctx.cfg, ctx.cfg.governed_data_lake
    if lake is None:
        return
    access = DataLakeAccess(ctx.name("data-lake"), DataLakeAccessArgs(
        placement=ctx.placement, data_account_id=cfg.account_of_tier("data"),
        admin_role_arns=[contract.deploy_role_arn(cfg.partition, ctx.account_id, cfg.deploy_role_name)],
        data_key_arn=ctx.refs.get("data", "keyArn"), domains=list(lake.domains),
        protect=ctx.protects_state, access_log_bucket=ctx.access_log_bucket()), ctx.child())
    access.grant(LakeReader(contract.data_scientist_role_name(), data.scientist_grants(lake), studio))
