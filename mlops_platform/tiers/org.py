"""The org tier (management account; medium and large sizes): AWS Organizations, the service control
policies, IAM Identity Center, the deploy path into every workload account, the organization trail (unless one
exists: `organization.trail: existing`, e.g. Control Tower's) and the break-glass alarm, which lives where
Identity Center records its sign-ins (`organization.identityCenterRegion`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_aws as aws

from mlops_platform import ci, contract, topology
from mlops_platform.components.deploy_path import DeployPath, DeployPathArgs
from mlops_platform.components.iam import document
from mlops_platform.components.identity import IdentityCenter, IdentityCenterArgs
from mlops_platform.components.kms_key import PlatformKey, PlatformKeyArgs
from mlops_platform.components.organization import (
    OrganizationStructure,
    OrganizationStructureArgs,
    OrganizationTrail,
    trail_bucket_grants,
    trail_key_grants,
)
from mlops_platform.iam_policy import grant
from mlops_platform.org import scps
from mlops_platform.placement import Placement
from mlops_platform.providers import default_tags
from mlops_platform.tiers.context import TierContext

SCP_UNITS: Mapping[str, tuple[str, ...]] = {
    "baseline-protections": ("Data", "Infrastructure", "ML-Dev", "ML-Prod"),
    "region-guard": ("Data", "Infrastructure", "ML-Dev", "ML-Prod"),
    "sagemaker-guardrails": ("Infrastructure", "ML-Dev", "ML-Prod"),
    "production-separation": ("ML-Prod",),
}
"""Which OUs each service control policy is attached to (by the policy's short name)."""


def build(ctx: TierContext) -> None:
    cfg = ctx.cfg
    org = cfg.organization
    creates_trail = org.trail == "create"
    structure = OrganizationStructure(ctx.name("organization"), OrganizationStructureArgs(
        size=cfg.size, accounts=cfg.accounts, create_organization=org.create_organization,
        create_accounts=org.create_accounts, account_emails=org.account_emails,
        member_access_role_name=org.member_access_role_name, creates_trail=creates_trail), ctx.child())
    _attach_service_control_policies(ctx, structure)
    identity_center = _identity_center_options(ctx)
    IdentityCenter(ctx.name("identity"), IdentityCenterArgs(
        size=cfg.size, account_ids=structure.account_ids, groups=org.identity_groups,
        region=org.identity_center_region), identity_center)
    workload = {name: cfg.accounts[name] for name in topology.accounts(cfg.size) if name != "management"}
    DeployPath(ctx.name("deploy-path"), DeployPathArgs(
        management_account_id=ctx.account_id, cicd_account_id=cfg.account_of_tier("cicd"),
        workload_accounts=workload, deploy_role_name=cfg.deploy_role_name, region=cfg.region,
        member_access_role_name=org.member_access_role_name, tags=default_tags(cfg, ctx.tier),
        ci_repository=cfg.ci.github_repository,
        environment_accounts=ci.environment_accounts(cfg.size, cfg.accounts)),
        pulumi.ResourceOptions(parent=ctx.component, depends_on=[structure]))
    trail_grants = trail_key_grants(ctx.account_id, cfg.region) if creates_trail else ()
    key = ctx.key("organization trail and alerts" if creates_trail else "alerts",
                  grants=(*trail_grants, EVENTBRIDGE_ENCRYPTS_ALERTS))
    if creates_trail:
        _organization_trail(ctx, key, structure.organization_id)
    _break_glass_alarm(ctx, key, identity_center)


def _identity_center_options(ctx: TierContext) -> pulumi.ResourceOptions:
    """Children of the org tier that must run in Identity Center's region: through a management-account
    provider for that region when it is not the platform's."""
    region = ctx.cfg.organization.identity_center_region
    if region == ctx.cfg.region:
        return ctx.child()
    provider = aws.Provider(
        ctx.name(f"identity-center-{region}"), region=region, allowed_account_ids=[ctx.account_id],
        default_tags=aws.ProviderDefaultTagsArgs(tags=default_tags(ctx.cfg, ctx.tier)), opts=ctx.child())
    return pulumi.ResourceOptions(parent=ctx.component, providers=[provider])


def service_control_policies(deploy_role_name: str, allowed_regions: Sequence[str],
                             control_tower: bool = False) -> list[scps.ServiceControlPolicy]:
    return scps.all_policies(allowed_regions, deploy_role_name, contract.BOOTSTRAP_ROLE_NAME, control_tower)


def _attach_service_control_policies(ctx: TierContext, structure: OrganizationStructure) -> None:
    org = ctx.cfg.organization
    for policy in service_control_policies(ctx.cfg.deploy_role_name, org.allowed_regions, org.control_tower):
        short_name = policy.name.removeprefix("mlops-")
        resource = aws.organizations.Policy(
            ctx.name(short_name), name=policy.name, description=policy.description, type="SERVICE_CONTROL_POLICY",
            content=policy.content(), opts=ctx.child())
        for unit in SCP_UNITS[short_name]:
            for index, target in enumerate(structure.policy_targets.get(unit, [])):
                aws.organizations.PolicyAttachment(
                    ctx.name(f"{short_name}-{unit.lower()}-{index}"), policy_id=resource.id, target_id=target,
                    opts=ctx.child())


def _organization_trail(ctx: TierContext, key: PlatformKey, organization_id: pulumi.Output[str]) -> None:
    bucket = ctx.bucket("trail", key, grants=lambda arn: trail_bucket_grants(
        arn, ctx.account_id, ctx.cfg.region, organization_id))
    OrganizationTrail(ctx.name("trail"), bucket.bucket, key.arn, depends_on=[bucket], opts=ctx.child())


BREAK_GLASS_PATTERN = {
    "source": ["aws.sso"],
    "detail-type": ["AWS API Call via CloudTrail"],
    "detail": {"eventSource": ["sso.amazonaws.com"], "eventName": ["GetRoleCredentials"],
               "requestParameters": {"roleName": ["BreakGlassProd"]}},
}


EVENTBRIDGE_ENCRYPTS_ALERTS = grant("EventBridgePublishesEncryptedAlerts", {"Service": "events.amazonaws.com"},
                                    ["kms:Decrypt", "kms:GenerateDataKey"], "*")


BREAK_GLASS_RULE_STATE = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
"""GetRoleCredentials is a read-only management event: EventBridge delivers those only to rules in this state
(EventBridge user guide, "Receiving read-only management events from AWS services")."""


def _break_glass_alarm(ctx: TierContext, key: PlatformKey, identity_center: pulumi.ResourceOptions) -> None:
    """Every use of the break-glass permission set notifies the `mlops-break-glass` topic (subscribe to it).

    Identity Center records GetRoleCredentials in its own region, and a rule sees only its region's events, so
    the rule, its topic and the topic's key live there (a key and a topic serve only their own region)."""
    if ctx.cfg.organization.identity_center_region != ctx.cfg.region:
        key = PlatformKey(ctx.name(f"key-{ctx.cfg.organization.identity_center_region}"), PlatformKeyArgs(
            description=f"mlops-platform {ctx.tier} tier: break-glass alerts in Identity Center's region",
            placement=Placement(ctx.tier, ctx.account_id, ctx.cfg.organization.identity_center_region),
            alias=f"{contract.PROJECT}/{ctx.tier}", protect=ctx.protects_state,
            grants=(EVENTBRIDGE_ENCRYPTS_ALERTS,)), identity_center)
    topic = aws.sns.Topic(ctx.name("break-glass"), name="mlops-break-glass", kms_master_key_id=key.arn,
                          opts=identity_center)
    rule = aws.cloudwatch.EventRule(
        ctx.name("break-glass"), name="mlops-break-glass-used",
        description="Someone took BreakGlassProd credentials", state=BREAK_GLASS_RULE_STATE,
        event_pattern=pulumi.Output.json_dumps(BREAK_GLASS_PATTERN), opts=identity_center)
    aws.cloudwatch.EventTarget(ctx.name("break-glass"), rule=rule.name, arn=topic.arn, opts=identity_center)
    aws.sns.TopicPolicy(ctx.name("break-glass"), arn=topic.arn, policy=document([grant(
        "EventBridgePublishes", {"Service": "events.amazonaws.com"}, "sns:Publish", topic.arn,
        {"ArnEquals": {"aws:SourceArn": rule.arn}})]),
        opts=identity_center)
