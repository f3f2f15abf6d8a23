"""The cicd tier: where the ML code is versioned and, in the sizes with an organization, where served models are
promoted from (approval → staging → test → manual gate → prod) and the stacks' state is kept."""

from __future__ import annotations

from collections.abc import Callable

import pulumi

from mlops_platform import ci, contract, topology
from mlops_platform.components.approval_forwarding import ApprovalsBus
from mlops_platform.components.ci_identity import CiAccount, CiAccountArgs
from mlops_platform.components.code_repository import CodeRepository, CodeRepositoryArgs
from mlops_platform.components.image_build import ImageBuild, ImageBuildArgs, monitoring_image, use_case_image
from mlops_platform.components.kms_key import PlatformKey, cloudwatch_alarms_grant, cloudwatch_logs_grant
from mlops_platform.components.promotion_pipeline import (
    KEY_ACTIONS,
    PlatformSource,
    PromotionBuilds,
    PromotionBuildsArgs,
    PromotionPipeline,
    PromotionPipelineArgs,
    ServingTarget,
    StateAccess,
)
from mlops_platform.components.promotion_starter import PromotionStarter, PromotionStarterArgs
from mlops_platform.components.state_backend import StateBackend, StateBackendArgs
from mlops_platform.config import UseCase
from mlops_platform.iam_policy import Statement, grant
from mlops_platform.tiers import grants
from mlops_platform.tiers.context import TierContext


def build(ctx: TierContext) -> None:
    cfg = ctx.cfg
    code = cfg.code_repository
    promoted = promoted_use_cases(ctx)
    delivers = topology.has_organization(cfg.size)
    key = ctx.key("code repository, pipeline artifacts, build logs", grants=_key_grants(ctx)) \
        if code.is_codecommit or delivers else None
    repository = CodeRepository(ctx.name("code"), CodeRepositoryArgs(
        config=code, kms_key_arn=key.arn if key else None, protect=ctx.protects_state), ctx.child())
    backend_url: pulumi.Input[str] = ""
    if delivers and key is not None:
        state = StateBackend(ctx.name("state"), StateBackendArgs(
            config=cfg.state_backend, placement=ctx.placement, protect=ctx.protects_state, tier_key_arn=key.arn,
            access_log_bucket=ctx.access_log_bucket()), ctx.child())
        backend_url = state.backend_url
        builds_image = grants.builds_monitoring_image(cfg)
        imaged = imaged_use_cases(ctx)
        if cfg.promotion.repository is not None and (promoted or builds_image or imaged):
            artifacts = ctx.bucket("pipeline-artifacts", key, grants=_artifact_grants(ctx))
            source = PlatformSource(cfg.promotion.repository, cfg.promotion.branch, repository.source_location,
                                    artifacts.bucket, artifacts.arn, key.arn)
            if promoted:
                _promotion(ctx, promoted, key, source, StateAccess(state.backend_url, state.token_secret_arn))
            if builds_image:
                _image_build(ctx, source)
            for use_case in imaged:
                _use_case_image_build(ctx, source, use_case)
    ctx.refs.publish("cicd", {"codeSourceLocation": repository.source_location, "stateBackendUrl": backend_url})
    _small_size_ci_identities(ctx)


def promoted_use_cases(ctx: TierContext) -> list[UseCase]:
    """The served use cases, in the sizes where staging and prod are reached only through promotion."""
    cfg = ctx.cfg
    served = [use_case for use_case in cfg.use_cases if use_case.serve]
    if not topology.has_organization(cfg.size) or not served:
        return []
    if cfg.promotion.repository is None:
        pulumi.log.warn("no promotion pipelines: set mlops-platform:promotion.repository (or ci.github.repository) "
                        "to this platform's repository as owner/repo; until then approved models reach staging and "
                        "prod only by hand (README: from notebook to prod)")
        return []
    return served


def _key_grants(ctx: TierContext) -> tuple[Statement, ...]:
    """CloudWatch Logs (build and function logs), CloudWatch alarms (notices), and the deploy path's pipeline role,
    which the builds run as: its own policies are the org stack's, so the key admits it by exact ARN."""
    grants = [cloudwatch_logs_grant(ctx.account_id, ctx.cfg.region), cloudwatch_alarms_grant(ctx.account_id)]
    if topology.has_organization(ctx.cfg.size):
        grants.append(grant("PipelineRoleUsesArtifacts",
                            {"AWS": contract.deploy_pipeline_role_arn(ctx.cfg.partition, ctx.account_id)},
                            list(KEY_ACTIONS), "*"))
    return tuple(grants)


def _artifact_grants(ctx: TierContext) -> Callable[[str], list[Statement]]:
    role = contract.deploy_pipeline_role_arn(ctx.cfg.partition, ctx.account_id)

    def grants(bucket_arn: str) -> list[Statement]:
        return [grant("PipelineRoleUsesArtifacts", {"AWS": role},
                      ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"], f"{bucket_arn}/*")]
    return grants


def _target(ctx: TierContext, tier: str) -> ServingTarget:
    cfg = ctx.cfg
    stack = topology.stack_hosting(cfg.size, tier).name
    return ServingTarget(tier=tier, stack=contract.stack_reference_name(cfg.stack_organization, stack),
                         account_id=cfg.account_of_tier(tier))


def imaged_use_cases(ctx: TierContext) -> list[UseCase]:
    """The use cases with their own image (`useCases[].image`); the config allows them only where this tier
    builds from `promotion.repository` (medium, large)."""
    return [use_case for use_case in ctx.cfg.use_cases if use_case.image is not None]


def _image_build(ctx: TierContext, source: PlatformSource) -> None:
    cfg = ctx.cfg
    ImageBuild(ctx.name("monitoring-image"), ImageBuildArgs(
        placement=ctx.placement, registry_account_id=cfg.account_of_tier("artifact"), source=source,
        fail_severity=cfg.promotion.image_scan_fail_severity, image=monitoring_image()), ctx.child())


def _use_case_image_build(ctx: TierContext, source: PlatformSource, use_case: UseCase) -> None:
    cfg = ctx.cfg
    ops = ctx.placement.in_tier("ops", cfg.account_of_tier("ops"))
    ImageBuild(ctx.name(f"{use_case.name}-image"), ImageBuildArgs(
        placement=ctx.placement, registry_account_id=cfg.account_of_tier("artifact"), source=source,
        fail_severity=cfg.promotion.image_scan_fail_severity, image=use_case_image(use_case, ops)), ctx.child())


def _promotion(ctx: TierContext, use_cases: list[UseCase], key: PlatformKey, source: PlatformSource,
               state: StateAccess) -> None:
    cfg = ctx.cfg
    builds = PromotionBuilds(ctx.name("promotion-builds"), PromotionBuildsArgs(
        placement=ctx.placement, key_arn=key.arn, state=state), ctx.child())
    registry_account = cfg.account_of_tier("artifact")
    if registry_account != ctx.account_id:
        ApprovalsBus(ctx.name("approvals-bus"), ctx.placement, registry_account, ctx.child())
    staging, prod = (_target(ctx, tier) for tier in topology.SERVING_TIERS)
    for use_case in use_cases:
        pipeline = PromotionPipeline(ctx.name(f"{use_case.name}-promotion"), PromotionPipelineArgs(
            use_case=use_case, placement=ctx.placement, source=source, registry_account_id=registry_account,
            deploy_role_name=cfg.deploy_role_name, staging=staging, prod=prod, project_arns=builds.project_arns),
            ctx.child())
        PromotionStarter(ctx.name(f"{use_case.name}-promotion-starter"), PromotionStarterArgs(
            use_case=use_case, placement=ctx.placement, pipeline_arn=pipeline.pipeline_arn, kms_key_arn=key.arn,
            notices_topic_arn=pipeline.approval_topic_arn), ctx.child())


def _small_size_ci_identities(ctx: TierContext) -> None:
    """The small size has no org stack to create CI's identities: its cicd tier creates them in its one account.
    Its deploy role is created by hand (bootstrap) and must trust the environment deploy roles (README)."""
    cfg = ctx.cfg
    if cfg.ci.github_repository is None or topology.has_organization(cfg.size):
        return
    CiAccount(ctx.name("ci"), CiAccountArgs(
        repository=cfg.ci.github_repository, account_id=ctx.account_id, region=cfg.region,
        deploy_role_name=cfg.deploy_role_name, environment_accounts=ci.environment_accounts(cfg.size, cfg.accounts)),
        ctx.child())
