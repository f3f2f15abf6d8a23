"""The data tier: the governed training data (datasets bucket and its key) and, in the large size, the governed
data lake: raw and curated buckets, a Glue database per domain, Lake Formation as the only gate, and the tables
shared with the ops account (what its use cases train on) and the dev account (the data scientists')."""

from __future__ import annotations

import pulumi

from mlops_platform import contract
from mlops_platform.components.data_lake import (
    DataLakeArgs,
    GovernedDataLake,
    LakeShare,
    TableGrant,
    curated_bucket_policy,
    raw_bucket_policy,
)
from mlops_platform.components.kms_key import PlatformKey
from mlops_platform.config import DataLake, PlatformConfig
from mlops_platform.tiers import grants
from mlops_platform.tiers.context import TierContext


def build(ctx: TierContext) -> None:
    # The key also encrypts the data lake's catalog, which every retraining role decrypts through Glue.
    key = ctx.key("governed datasets", grants=grants.key_grants(grants.data_key_readers(ctx.cfg), {}))
    datasets = ctx.bucket("datasets", key, grants=grants.bucket_grants(grants.dataset_readers(ctx.cfg), {}))
    _data_lake(ctx, key)
    ctx.refs.publish("data", {
        "keyArn": key.arn,
        "datasetBucketName": datasets.bucket,
        "datasetBucketArn": datasets.arn,
    })


def _data_lake(ctx: TierContext, key: PlatformKey) -> None:
    lake = ctx.cfg.governed_data_lake
    if lake is None:
        if ctx.cfg.data_lake is not None:
            pulumi.log.warn(f"mlops-platform:dataLake is built in the large size only (its data account shares it "
                            f"through Lake Formation); size {ctx.cfg.size.value!r} builds no data lake")
        return
    place = ctx.placement
    raw = ctx.bucket("lake-raw", key, grants=lambda arn: raw_bucket_policy(place, arn))
    curated = ctx.bucket("lake-curated", key, grants=lambda arn: curated_bucket_policy(place, arn))
    GovernedDataLake(ctx.name("lake"), DataLakeArgs(
        placement=place, lake=lake,
        admin_role_arns=[contract.deploy_role_arn(ctx.cfg.partition, ctx.account_id, ctx.cfg.deploy_role_name)],
        key_arn=key.arn, raw_bucket_arn=raw.arn, curated_bucket_name=curated.bucket, curated_bucket_arn=curated.arn,
        shares=lake_shares(ctx.cfg, lake), protect=ctx.protects_state), ctx.child())


def training_grants(cfg: PlatformConfig, lake: DataLake) -> tuple[TableGrant, ...]:
    """Every table a use case trains on, whole (the retraining query selects all of its columns)."""
    refs = dict.fromkeys(ref for use_case in cfg.use_cases for ref in use_case.training_tables)
    return tuple(TableGrant(lake.table(ref)) for ref in refs)


def scientist_grants(lake: DataLake) -> tuple[TableGrant, ...]:
    """Every curated table, only the configured columns where `dataLake.dataScientistColumns` filters it."""
    return tuple(TableGrant(table, lake.scientist_columns.get(table.ref)) for table in lake.tables)


def lake_shares(cfg: PlatformConfig, lake: DataLake) -> list[LakeShare]:
    """The ops account gets the training tables, the dev account the data scientists' view of curated."""
    shares = [LakeShare(cfg.account_of_tier("ops"), training_grants(cfg, lake)),
              LakeShare(cfg.account_of_tier("dev"), scientist_grants(lake))]
    return [share for share in shares if share.tables]
