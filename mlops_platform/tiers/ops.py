"""The ops tier: retraining — one pipeline per use case, on a schedule or by hand, in a private network; where
Studio lives in another account, the role data scientists assume to run the pipelines by hand; where drift is
checked, the capture bucket the serving tiers replicate their traffic into, a drift check per use case and the
rule that turns its "retrain" events into retraining runs."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_platform import contract, monitoring_image, naming
from mlops_platform.components.data_lake import TableGrant
from mlops_platform.components.data_lake_access import DataLakeAccess, DataLakeAccessArgs, LakeReader, TrainingQueries
from mlops_platform.components.drift_monitor import DriftMonitor, DriftMonitorArgs
from mlops_platform.components.feature_store import feature_access_statements
from mlops_platform.components.iam import PlatformRole, PlatformRoleArgs, document, trust
from mlops_platform.components.network import PrivateNetwork, PrivateNetworkArgs
from mlops_platform.components.retrain_on_drift import RetrainOnDrift, RetrainOnDriftArgs
from mlops_platform.components.retraining import RetrainingArgs, RetrainingPipeline, pipeline_run_statements
from mlops_platform.components.secure_bucket import SecureBucket
from mlops_platform.config import FeatureGroup, UseCase
from mlops_platform.tiers import data, grants
from mlops_platform.tiers.context import TierContext


def build(ctx: TierContext) -> None:
    cfg = ctx.cfg
    triggers: dict[str, str] = {}
    capture = _capture_bucket(ctx) if grants.monitors_drift(cfg) and cfg.use_cases else None
    lake = _data_lake_access(ctx)
    if cfg.use_cases:
        network = PrivateNetwork(ctx.name("network"), PrivateNetworkArgs(
            placement=ctx.placement, cidr=cfg.studio.vpc_cidr,
            nat_gateway=False,
            extra_interface_services=monitoring_image.CHECK_INTERFACE_ENDPOINTS if cfg.drift_engine == "open" else ()),
            ctx.child())
        for use_case in cfg.use_cases:
            pipeline = RetrainingPipeline(ctx.name(f"{use_case.name}-retraining"), RetrainingArgs(
                placement=ctx.placement, use_case=use_case,
                drift_baseline=cfg.drift_engine,
                bucket_name=ctx.refs.get("artifact", "modelBucketName"),
                bucket_arn=ctx.refs.get("artifact", "modelBucketArn"),
                key_arn=ctx.refs.get("artifact", "keyArn"),
                dataset_bucket_name=ctx.refs.get("data", "datasetBucketName"),
                dataset_bucket_arn=ctx.refs.get("data", "datasetBucketArn"),
                dataset_key_arn=ctx.refs.get("data", "keyArn"),
                registry_account_id=cfg.account_of_tier("artifact"),
                subnet_ids=network.subnet_ids, security_group_ids=[network.security_group_id],
                build_account_id=cfg.account_of_tier("cicd"),
                feature_groups=_read_feature_groups(ctx, use_case),
                feature_store_bucket_name=ctx.refs.get("artifact", "featureStoreBucketName"),
                training_queries=_training_queries(ctx, use_case, lake)), ctx.child())
            _grant_training_tables(ctx, use_case, lake, pipeline)
            triggers[use_case.name] = pipeline.manual_trigger
            if use_case.name in grants.feature_use_cases(cfg):
                _use_features(ctx, use_case, pipeline)
            if capture is not None:
                _watch_drift(ctx, use_case, capture, network, pipeline)
        if cfg.account_of_tier("dev") != ctx.account_id:
            _pipeline_operator(ctx)
    ctx.refs.publish("ops", {
        "retrainingTriggers": triggers,
        "captureBucketName": capture.bucket.bucket if capture else "",
        "captureBucketArn": capture.bucket.arn if capture else "",
        "keyArn": capture.key_arn if capture else "",
    })


@dataclass(frozen=True)
class _CaptureBucket:
    bucket: SecureBucket
    key_arn: pulumi.Output[str]


def _capture_bucket(ctx: TierContext) -> _CaptureBucket:
    """Served traffic replicated from staging and prod, under the ops tier's own key; written by the replication
    roles alone (they deploy later: admitted by `aws:PrincipalArn`, see `grants.capture_bucket_grants`)."""
    key = ctx.key("captured traffic and drift reports", grants=grants.capture_key_grants(ctx.cfg))
    return _CaptureBucket(ctx.bucket("data-capture", key, grants=grants.capture_bucket_grants(ctx.cfg)), key.arn)


def _watch_drift(ctx: TierContext, use_case: UseCase, capture: _CaptureBucket, network: PrivateNetwork,
                 pipeline: RetrainingPipeline) -> None:
    retraining_pipeline_arn = pipeline.pipeline_arn
    DriftMonitor(ctx.name(f"{use_case.name}-drift"), DriftMonitorArgs(
        placement=ctx.placement, use_case=use_case, capture_bucket_name=capture.bucket.bucket,
        capture_bucket_arn=capture.bucket.arn, key_arn=capture.key_arn,
        artifact_bucket_arn=ctx.refs.get("artifact", "modelBucketArn"),
        artifact_key_arn=ctx.refs.get("artifact", "keyArn"),
        registry_account_id=ctx.cfg.account_of_tier("artifact"), retraining_pipeline_arn=retraining_pipeline_arn,
        subnet_ids=network.subnet_ids, security_group_ids=[network.security_group_id],
        ground_truth_key_arn=ctx.refs.get("data", "keyArn") if use_case.fairness is not None else None), ctx.child())
    RetrainOnDrift(ctx.name(f"{use_case.name}-retrain-on-drift"), RetrainOnDriftArgs(
        placement=ctx.placement, use_case=use_case, retraining_pipeline_arn=retraining_pipeline_arn,
        starter=pipeline.starter), ctx.child())


def _read_feature_groups(ctx: TierContext, use_case: UseCase) -> tuple[FeatureGroup, ...]:
    """What the retraining pipeline's read-features step reads, where the feature store is built."""
    return ctx.cfg.feature_groups_of(use_case.name) if use_case.name in grants.feature_use_cases(ctx.cfg) else ()


def _use_features(ctx: TierContext, use_case: UseCase, pipeline: RetrainingPipeline) -> None:
    """The retraining role reads and writes its use case's feature groups (shared from the artifact account) and
    reads their offline stores: nothing of another use case's."""
    statements = feature_access_statements(
        ctx.cfg.region, ctx.cfg.account_of_tier("artifact"), ctx.cfg.feature_groups_of(use_case.name),
        ctx.refs.get("artifact", "featureStoreBucketArn"), ctx.refs.get("artifact", "featureStoreKeyArn"))
    aws.iam.RolePolicy(ctx.name(f"{use_case.name}-feature-access"),
                       role=contract.retraining_role_name(use_case.name), policy=document(statements),
                       opts=pulumi.ResourceOptions(parent=ctx.component, depends_on=[pipeline]))


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


def _data_lake_access(ctx: TierContext) -> DataLakeAccess | None:
    """Where use cases train on data lake tables (large): the ops account's side of the share — links, grants, and
    the workgroup the retraining queries run in. Its admin is the ops deploy role, which runs the deploy."""
    cfg, lake = ctx.cfg, ctx.cfg.governed_data_lake
    if lake is None or not any(use_case.training_tables for use_case in cfg.use_cases):
        return None
    domains = [table_grant.table.domain for table_grant in data.training_grants(cfg, lake)]
    return DataLakeAccess(ctx.name("data-lake"), DataLakeAccessArgs(
        placement=ctx.placement, data_account_id=cfg.account_of_tier("data"),
        admin_role_arns=[contract.deploy_role_arn(cfg.partition, ctx.account_id, cfg.deploy_role_name)],
        data_key_arn=ctx.refs.get("data", "keyArn"), domains=list(dict.fromkeys(domains)),
        protect=ctx.protects_state, access_log_bucket=ctx.access_log_bucket()), ctx.child())


def _training_queries(ctx: TierContext, use_case: UseCase, lake: DataLakeAccess | None) -> TrainingQueries | None:
    if lake is None or ctx.cfg.governed_data_lake is None or not use_case.training_tables:
        return None
    tables = tuple(ctx.cfg.governed_data_lake.table(ref) for ref in use_case.training_tables)
    return TrainingQueries(tables=tables, workgroup=lake.workgroup_name,
                           results_bucket_name=lake.results_bucket_name, results_key_arn=lake.results_key_arn)


def _grant_training_tables(ctx: TierContext, use_case: UseCase, lake: DataLakeAccess | None,
                           pipeline: RetrainingPipeline) -> None:
    """The use case's retraining role selects from its tables, and from nothing else."""
    if lake is None or ctx.cfg.governed_data_lake is None or not use_case.training_tables:
        return
    tables = tuple(TableGrant(ctx.cfg.governed_data_lake.table(ref)) for ref in use_case.training_tables)
    lake.grant(LakeReader(contract.retraining_role_name(use_case.name), tables, pipeline))
