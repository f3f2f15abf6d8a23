"""The ops tier: retraining — one pipeline per use case, on a schedule or by hand, in a private network; where
Studio lives in another account, the role data scientists assume to run the pipelines by hand."""

from __future__ import annotations

from mlops_platform import contract, naming
from mlops_platform.components.iam import PlatformRole, PlatformRoleArgs, trust
from mlops_platform.components.network import PrivateNetwork, PrivateNetworkArgs
from mlops_platform.components.retraining import RetrainingArgs, RetrainingPipeline, pipeline_run_statements
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
                drift_baseline=cfg.drift_engine,
                bucket_name=ctx.refs.get("artifact", "modelBucketName"),
                bucket_arn=ctx.refs.get("artifact", "modelBucketArn"),
                key_arn=ctx.refs.get("artifact", "keyArn"),
                dataset_bucket_name=ctx.refs.get("data", "datasetBucketName"),
                dataset_bucket_arn=ctx.refs.get("data", "datasetBucketArn"),
                dataset_key_arn=ctx.refs.get("data", "keyArn"),
                registry_account_id=cfg.account_of_tier("artifact"),
                subnet_ids=network.subnet_ids, security_group_ids=[network.security_group_id]), ctx.child())
            triggers[use_case.name] = pipeline.manual_trigger
        if cfg.account_of_tier("dev") != ctx.account_id:
            _pipeline_operator(ctx)
    ctx.refs.publish("ops", {"retrainingTriggers": triggers})


def _pipeline_operator(ctx: TierContext) -> None:
    """Trusts the dev account's root, pinned to the data scientists' role by `aws:PrincipalArn`: valid before the
    dev stack (deployed after this one) creates that role."""
    dev_account = ctx.cfg.account_of_tier("dev")
    scientist = contract.role_arn(ctx.cfg.partition, dev_account, contract.data_scientist_role_name())
    PlatformRole(ctx.name("pipeline-operator"), PlatformRoleArgs(
        role_name=contract.pipeline_operator_role_name(),
        description="Data scientists run and follow the retraining pipelines from Studio in the dev account",
        trust_policy=trust({"AWS": naming.account_root_arn(ctx.cfg.partition, dev_account)},
                           condition={"ArnEquals": {"aws:PrincipalArn": scientist}}),
        statements=pipeline_run_statements(ctx.cfg.region, ctx.account_id, [u.name for u in ctx.cfg.use_cases])),
        ctx.child())
