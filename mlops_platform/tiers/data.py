"""The data tier: the governed training data (datasets bucket and its key)."""

from __future__ import annotations

from mlops_platform.tiers import grants
from mlops_platform.tiers.context import TierContext


def build(ctx: TierContext) -> None:
    readers = grants.dataset_readers(ctx.cfg)
    key = ctx.key("governed datasets", grants=grants.key_grants(readers, {}))
    datasets = ctx.bucket("datasets", key, grants=grants.bucket_grants(readers, {}))
    ctx.refs.publish("data", {
        "keyArn": key.arn,
        "datasetBucketName": datasets.bucket,
        "datasetBucketArn": datasets.arn,
    })
