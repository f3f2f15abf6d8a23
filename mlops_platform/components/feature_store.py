"""SageMaker Feature Store for one use case: its feature groups, each with an offline store in the feature store
bucket (KMS-encrypted, with its Glue table) and, where configured, a KMS-encrypted online store; the role Feature
Store writes the offline stores as; and, where the use case's readers live in other accounts, the AWS RAM share
that opens its groups to those accounts (SageMaker Developer Guide, "Cross account feature group discoverability
and access").

RAM shares with accounts, not roles: which roles of a reader account may use a shared group is what their identity
policies say (`feature_access_statements`), and the feature store bucket and key admit exactly those roles
(`tiers/grants.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_platform import contract, naming
from mlops_platform.components.iam import PlatformRole, PlatformRoleArgs, Statement, allow, service_trust
from mlops_platform.config import FeatureGroup, UseCase
from mlops_platform.placement import Placement

SHARED_GROUP_ACTIONS: tuple[str, ...] = (
    "sagemaker:BatchGetRecord", "sagemaker:DeleteRecord", "sagemaker:DescribeFeatureGroup",
    "sagemaker:DescribeFeatureMetadata", "sagemaker:GetRecord", "sagemaker:PutRecord",
)
"""What `contract.FEATURE_GROUP_SHARE_PERMISSION` lets a consumer account do with a shared group, as AWS documents
it (read-only: DescribeFeatureGroup, DescribeFeatureMetadata, BatchGetRecord, GetRecord; read-write adds PutRecord
and DeleteRecord)."""
READER_GROUP_ACTIONS: tuple[str, ...] = (
    "sagemaker:BatchGetRecord", "sagemaker:DescribeFeatureGroup", "sagemaker:DescribeFeatureMetadata",
    "sagemaker:GetRecord", "sagemaker:PutRecord",
)
"""What the use case's readers get on its groups: read and write records; deleting records stays with the owner."""
OFFLINE_STORE_WRITE_ACTIONS: tuple[str, ...] = ("s3:PutObject", "s3:PutObjectAcl")
"""What Feature Store does to an offline store (AWS's AmazonSageMakerFeatureStoreAccess, to this bucket only)."""


class FeatureStoreRole(pulumi.ComponentResource):
    """The role Feature Store assumes to write the offline stores of `groups`: their prefixes of the bucket, the
    key, and their Glue tables only."""

    arn: pulumi.Output[str]

    def __init__(self, name: str, placement: Placement, groups: Sequence[FeatureGroup], bucket_arn: pulumi.Input[str],
                 key_arn: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:features:FeatureStoreRole", name, None, opts)
        role = PlatformRole(name, PlatformRoleArgs(
            role_name=contract.feature_store_role_name(),
            description="SageMaker Feature Store writes the feature groups' offline stores",
            trust_policy=service_trust("sagemaker.amazonaws.com", placement.account_id),
            statements=offline_store_statements(placement, groups, bucket_arn, key_arn)),
            pulumi.ResourceOptions(parent=self))
        self.arn = role.arn
        self.register_outputs({"arn": role.arn})


def offline_store_statements(placement: Placement, groups: Sequence[FeatureGroup], bucket_arn: pulumi.Input[str],
                             key_arn: pulumi.Input[str]) -> list[Statement]:
    prefixes = [pulumi.Output.concat(bucket_arn, "/", contract.feature_group_offline_prefix(g.use_case, g.name), "/*")
                for g in groups]
    database = contract.FEATURE_STORE_GLUE_DATABASE
    return [
        allow(["s3:GetBucketAcl"], [bucket_arn], sid="CheckTheOfflineStoreBucket"),
        allow([*OFFLINE_STORE_WRITE_ACTIONS, "s3:GetObject"], prefixes, sid="WriteTheOfflineStores"),
        allow(["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"], [key_arn],
              sid="EncryptTheOfflineStores"),
        allow(["glue:GetTable", "glue:UpdateTable"], [
            naming.glue_arn(placement.region, placement.account_id, "catalog"),
            naming.glue_arn(placement.region, placement.account_id, f"database/{database}"),
            *[naming.glue_arn(placement.region, placement.account_id,
                              f"table/{database}/{contract.feature_group_table_name(g.name)}") for g in groups]],
              sid="KeepTheOfflineStoreTables"),
    ]


@dataclass(frozen=True)
class FeatureStoreArgs:
    placement: Placement
    use_case: UseCase
    groups: Sequence[FeatureGroup]
    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    key_arn: pulumi.Input[str]
    role: FeatureStoreRole
    """The feature store role, shared by every use case's groups: each group waits for its policy (Feature Store
    checks at creation that the role may write the offline store)."""
    reader_accounts: Sequence[str]
    """The accounts of the use case's readers other than the artifact tier's: its groups are shared with them."""
    protect: bool


class FeatureStore(pulumi.ComponentResource):
    group_arns: pulumi.Output[list[str]]

    def __init__(self, name: str, args: FeatureStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:features:FeatureStore", name, None, opts)
        groups = [self._group(f"{name}-{group.name}", args, group) for group in args.groups]
        if args.reader_accounts:
            self._share(name, args, groups)
        self.group_arns = pulumi.Output.all(*[group.arn for group in groups])
        self.register_outputs({"groupArns": self.group_arns})

    def _group(self, name: str, args: FeatureStoreArgs, group: FeatureGroup) -> aws.sagemaker.FeatureGroup:
        prefix = contract.feature_group_offline_prefix(group.use_case, group.name)
        online: aws.sagemaker.FeatureGroupOnlineStoreConfigArgsDict = {"enable_online_store": group.online_store}
        if group.online_store:
            online["security_config"] = {"kms_key_id": args.key_arn}
        return aws.sagemaker.FeatureGroup(
            name, feature_group_name=group.name,
            description=f"{group.name}: features of the {args.use_case.name} use case",
            record_identifier_feature_name=group.record_identifier, event_time_feature_name=group.event_time,
            feature_definitions=[{"feature_name": feature, "feature_type": kind}
                                 for feature, kind in group.features.items()],
            # pulumi-aws's docstrings of disable_glue_table_creation and enable_online_store are swapped: False
            # here means Feature Store creates the offline store's Glue table, named by data_catalog_config.
            offline_store_config={
                "s3_storage_config": {"s3_uri": pulumi.Output.concat("s3://", args.bucket_name, "/", prefix),
                                      "kms_key_id": args.key_arn},
                "disable_glue_table_creation": False,
                "data_catalog_config": {"catalog": contract.FEATURE_STORE_GLUE_CATALOG,
                                        "database": contract.FEATURE_STORE_GLUE_DATABASE,
                                        "table_name": contract.feature_group_table_name(group.name)},
            },
            online_store_config=online, role_arn=args.role.arn,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, depends_on=[args.role]))

    def _share(self, name: str, args: FeatureStoreArgs, groups: list[aws.sagemaker.FeatureGroup]) -> None:
        """One share per use case: its groups, to its readers' accounts, with the read-write managed permission;
        only within the organization."""
        share = aws.ram.ResourceShare(
            f"{name}-share", name=contract.feature_group_share_name(args.use_case.name),
            allow_external_principals=False,
            permission_arns=[naming.ram_managed_permission_arn(args.placement.partition,
                                                               contract.FEATURE_GROUP_SHARE_PERMISSION)],
            opts=pulumi.ResourceOptions(parent=self))
        for group, resource in zip(args.groups, groups, strict=True):
            aws.ram.ResourceAssociation(f"{name}-{group.name}-share", resource_arn=resource.arn,
                                        resource_share_arn=share.arn, opts=pulumi.ResourceOptions(parent=self))
        for account in args.reader_accounts:
            aws.ram.PrincipalAssociation(f"{name}-share-{account}", principal=account, resource_share_arn=share.arn,
                                         opts=pulumi.ResourceOptions(parent=self))


def feature_access_statements(region: str, artifact_account: str, groups: Sequence[FeatureGroup],
                              bucket_arn: pulumi.Input[str], key_arn: pulumi.Input[str]) -> list[Statement]:
    """A reader's identity statements for `groups` (all of one use case, or every group for the data scientists):
    their records, their offline stores' objects, the key."""
    if not groups:
        return []
    use_cases = sorted({group.use_case for group in groups})
    prefixes = [contract.use_case_features_prefix(use_case) for use_case in use_cases]
    return [
        allow(list(READER_GROUP_ACTIONS),
              [naming.feature_group_arn(region, artifact_account, group.name) for group in groups],
              sid="UseTheFeatureGroups"),
        allow(["s3:ListBucket"], [bucket_arn],
              {"StringLike": {"s3:prefix": [f"{prefix}*" for prefix in prefixes]}},
              sid="ListTheOfflineStores"),
        allow(["s3:GetBucketLocation"], [bucket_arn], sid="LocateTheOfflineStores"),
        allow(["s3:GetObject", "s3:GetObjectVersion"],
              [pulumi.Output.concat(bucket_arn, "/", prefix, "*") for prefix in prefixes], sid="ReadTheOfflineStores"),
        allow(["kms:Decrypt", "kms:DescribeKey"], [key_arn], sid="DecryptTheFeatures"),
    ]
