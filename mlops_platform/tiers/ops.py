"""The ops tier: retraining — one pipeline per use case, on a schedule or by hand, in a private network."""

from __future__ import annotations

from mlops_platform.components.network import PrivateNetwork, PrivateNetworkArgs
from mlops_platform.components.retraining import RetrainingArgs, RetrainingPipeline
from mlops_platform.tiers.context import TierContext


def build(ctx: TierContext) -> None:
    cfg = ctx.cfg
    triggers: dict[str, str] = {}
    if cfg.use_cases:
        network = PrivateNetwork(ctx.name("network"), PrivateNetworkArgs(
            tier=ctx.tier, account_id=ctx.account_id, region=cfg.region, cidr=cfg.studio.vpc_cidr,
            nat_gateway=False), ctx.child())
        for use_case in cfg.use_cases:
            pipeline = RetrainingPipeline(ctx.name(f"{use_case.name}-retraining"), RetrainingArgs(
                use_case=use_case.name, tier=ctx.tier, account_id=ctx.account_id, region=cfg.region,
                schedule=use_case.schedule, metric_threshold=use_case.metric_threshold,
                bucket_name=ctx.refs.get("artifact", "modelBucketName"),
                bucket_arn=ctx.refs.get("artifact", "modelBucketArn"),
                key_arn=ctx.refs.get("artifact", "keyArn"),
                dataset_bucket_name=ctx.refs.get("data", "datasetBucketName"),
                dataset_bucket_arn=ctx.refs.get("data", "datasetBucketArn"),
                dataset_key_arn=ctx.refs.get("data", "keyArn"),
                registry_account_id=cfg.account_of_tier("artifact"),
                subnet_ids=network.subnet_ids, security_group_ids=[network.security_group_id]), ctx.child())
            triggers[use_case.name] = pipeline.manual_trigger
    ctx.refs.publish("ops", {"retrainingTriggers": triggers})
