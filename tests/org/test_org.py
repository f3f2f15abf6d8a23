"""The org stack (medium and large) and the proof that data scientists cannot reach staging or production."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from mlops_platform import ci, contract, tiers
from mlops_platform.components import identity
from mlops_platform.offline.capture import CapturedResource, CaptureError, PlatformMocks
from mlops_platform.offline.preview import Preview, StackPreview, run_preview
from mlops_platform.offline.reachability import Reachability
from mlops_platform.offline.stack_config import load_project_config
from mlops_platform.tiers import org
from mlops_platform.tiers.context import TierContext
from tests.rebuilt import proof_with_one_rebuilt

ROOT = Path(__file__).resolve().parents[2]
ACCOUNTS = {"management": "111111111111", "data": "222222222222", "artifact": "333333333333",
            "cicd": "444444444444", "ops": "555555555555", "dev": "666666666666", "staging": "777777777777",
            "prod": "888888888888"}


def stack_of(preview: Preview, name: str) -> StackPreview:
    return next(stack for stack in preview.stacks if stack.name == name)


def of_type(stack: StackPreview, type_token: str) -> list[CapturedResource]:
    return [r for r in stack.captured.resources if r.type == type_token]


def trust(role: CapturedResource) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    return statements


def preview(size: str, override: str | None = None, tmp_path: Path | None = None,
            only_stack: str | None = None) -> Preview:
    """The size's preview with `override` config (no policy pack); only `only_stack` when a test reads just that
    stack (and no proofs then, which need every stack)."""
    override_file = None
    if override is not None and tmp_path is not None:
        override_file = tmp_path / "Pulumi.override.yaml"
        override_file.write_text("config:\n" + override)
    return run_preview(load_project_config(ROOT, size, override_file), only_stack, evaluate_policies=False)


@pytest.mark.parametrize("size", ["medium", "large"])
def test_adopting_accounts_creates_no_account_and_attaches_scps_to_the_accounts(
        size: str, shipped_preview: Callable[..., Preview]) -> None:
    org_stack = stack_of(shipped_preview(size), "org")
    assert of_type(org_stack, "aws:organizations/account:Account") == []
    assert of_type(org_stack, "aws:organizations/organization:Organization") == []
    assert of_type(org_stack, "aws:organizations/organizationalUnit:OrganizationalUnit") == []
    policies = {p.id: p.inputs["name"] for p in of_type(org_stack, "aws:organizations/policy:Policy")}
    attached = {(policies[a.inputs["policyId"]], a.inputs["targetId"])
                for a in of_type(org_stack, "aws:organizations/policyAttachment:PolicyAttachment")}
    for tier in ("staging", "prod"):
        account = stack_of(shipped_preview(size), tier).config.account_id
        assert ("mlops-production-separation", account) in attached
        assert ("mlops-baseline-protections", account) in attached
        assert sum(1 for _, target in attached if target == account) + 1 <= 5, "AWS's limit, with FullAWSAccess"
    dev_account = stack_of(shipped_preview(size), "dev").config.account_id
    assert ("mlops-production-separation", dev_account) not in attached
    assert ("mlops-sagemaker-guardrails", dev_account) in attached


def test_creating_accounts_places_them_in_ous_protected_and_never_closed(tmp_path: Path) -> None:
    emails = "".join(f"      {name}: aws+{name}@example.com\n" for name in ACCOUNTS if name != "management")
    created = preview("large", "  mlops-platform:organization:\n    createAccounts: true\n"
                               "    allowedRegions: [eu-west-1]\n    accountEmails:\n" + emails, tmp_path)
    org_stack = stack_of(created, "org")
    accounts = of_type(org_stack, "aws:organizations/account:Account")
    assert sorted(a.inputs["name"] for a in accounts) == sorted(f"mlops-{n}" for n in ACCOUNTS if n != "management")
    assert all(a.protect and a.inputs["closeOnDeletion"] is False for a in accounts)
    units = {u.id: u.inputs["name"] for u in of_type(org_stack, "aws:organizations/organizationalUnit:"
                                                                 "OrganizationalUnit")}
    placement = {a.inputs["name"]: units[a.inputs["parentId"]] for a in accounts}
    assert placement["mlops-prod"] == placement["mlops-staging"] == "ML-Prod"
    assert placement["mlops-dev"] == "ML-Dev" and placement["mlops-data"] == "Data"
    policies = {p.id: p.inputs["name"] for p in of_type(org_stack, "aws:organizations/policy:Policy")}
    separation_targets = {a.inputs["targetId"] for a in of_type(
        org_stack, "aws:organizations/policyAttachment:PolicyAttachment")
        if policies[a.inputs["policyId"]] == "mlops-production-separation"}
    assert {units[target] for target in separation_targets} == {"ML-Prod"}
    assert created.reachability is not None and created.reachability.passed


def test_deploy_roles_trust_exactly_the_pipeline_bootstrap_and_environment_roles(
        shipped_preview: Callable[..., Preview]) -> None:
    org_stack = stack_of(shipped_preview("large"), "org")
    roles = {r.inputs["name"]: r for r in of_type(org_stack, "aws:iam/role:Role")}
    deploy_roles = [r for r in of_type(org_stack, "aws:iam/role:Role") if r.inputs["name"] == "mlops-platform-deploy"]
    assert len(deploy_roles) == 7, "one per workload account"
    for role in deploy_roles:
        (statement,) = trust(role)
        environment = "prod" if role.name.endswith("-prod") else "staging" if role.name.endswith("-staging") \
            else "platform"
        assert statement["Principal"] == {"AWS": [contract.deploy_pipeline_role_arn("aws", ACCOUNTS["cicd"]),
                                                  contract.bootstrap_role_arn("aws", ACCOUNTS["management"]),
                                                  ci.deploy_role_arn("aws", ACCOUNTS["cicd"], environment)]}, \
            "the deploy path, and the GitHub Environment deploying the account (ci.github.repository is set)"
        pipeline, bootstrap = roles[contract.DEPLOY_PIPELINE_ROLE_NAME], roles[contract.BOOTSTRAP_ROLE_NAME]
        assert {pipeline.urn, bootstrap.urn} <= set(role.dependencies), "created after the roles it trusts"
    pipeline = roles[contract.DEPLOY_PIPELINE_ROLE_NAME]
    cicd, region = ACCOUNTS["cicd"], "eu-west-1"
    assert trust(pipeline) == [
        {"Effect": "Allow", "Principal": {"Service": "codepipeline.amazonaws.com"}, "Action": "sts:AssumeRole",
         "Condition": {"StringEquals": {"aws:SourceAccount": cicd},
                       "ArnLike": {"aws:SourceArn": f"arn:aws:codepipeline:{region}:{cicd}:*"}}},
        {"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole",
         "Condition": {"StringEquals": {"aws:SourceAccount": cicd},
                       "ArnLike": {"aws:SourceArn": f"arn:aws:codebuild:{region}:{cicd}:project/*"}}},
    ], "only the cicd account's own pipelines and build projects (confused-deputy protection)"


def test_identity_center_permission_sets_and_where_they_are_assigned(
        shipped_preview: Callable[..., Preview]) -> None:
    org_stack = stack_of(shipped_preview("large"), "org")
    sets = {p.outputs["arn"]: p for p in of_type(org_stack, "aws:ssoadmin/permissionSet:PermissionSet")}
    assert {p.inputs["name"] for p in sets.values()} == {
        "DataScientist", "MLEngineer", "ModelApprover", "PlatformEngineer", "ReadOnly", "BreakGlassProd"}
    break_glass = next(p for p in sets.values() if p.inputs["name"] == "BreakGlassProd")
    assert break_glass.inputs["sessionDuration"] == "PT1H"
    where: dict[str, set[str]] = {}
    for assignment in of_type(org_stack, "aws:ssoadmin/accountAssignment:AccountAssignment"):
        where.setdefault(sets[assignment.inputs["permissionSetArn"]].inputs["name"], set()).add(
            assignment.inputs["targetId"])
    assert where["DataScientist"] == {ACCOUNTS["dev"]}
    assert where["ModelApprover"] == {ACCOUNTS["artifact"]}
    assert where["BreakGlassProd"] == {ACCOUNTS["prod"]}
    assert ACCOUNTS["prod"] not in where["PlatformEngineer"] | where["MLEngineer"]


def test_organization_trail_is_multi_region_validated_and_encrypted(
        shipped_preview: Callable[..., Preview]) -> None:
    org_stack = stack_of(shipped_preview("medium"), "org")
    (trail,) = of_type(org_stack, "aws:cloudtrail/trail:Trail")
    assert trail.inputs["isOrganizationTrail"] and trail.inputs["isMultiRegionTrail"]
    assert trail.inputs["enableLogFileValidation"] and trail.protect
    key = next(k for k in of_type(org_stack, "aws:kms/key:Key"))
    assert trail.inputs["kmsKeyId"] == key.outputs["arn"]
    bucket_policy = next(p for p in of_type(org_stack, "aws:s3/bucketPolicy:BucketPolicy") if "trail" in p.name)
    sids = {s["Sid"] for s in json.loads(bucket_policy.inputs["policy"])["Statement"]}
    assert {"CloudTrailChecksTheBucketAcl", "CloudTrailWritesTheOrganizationTrail"} <= sids
    key_sids = {s.get("Sid") for s in json.loads(key.inputs["policy"])["Statement"]}
    assert "CloudTrailEncryptsTheOrganizationTrail" in key_sids


@pytest.mark.parametrize("size", ["small", "medium", "large"])
def test_the_shipped_configuration_keeps_data_scientists_out(
        size: str, shipped_preview: Callable[..., Preview]) -> None:
    result = shipped_preview(size).reachability
    assert result is not None and result.passed, result.findings if result else None
    states = result.document()["layers"]
    expected = "not-applicable" if size == "small" else "holds"
    assert (states["identity"], states["guardrails"]) == (expected, expected)
    assert (states["trust"], states["own-rights"]) == ("holds", "holds")


def broken_layers(result: Reachability | None) -> set[str]:
    assert result is not None
    return {finding.layer for finding in result.findings}


def test_data_scientist_assigned_to_prod_breaks_the_proof(monkeypatch: pytest.MonkeyPatch,
                                                          shipped_preview: Callable[..., Preview]) -> None:
    shipped = shipped_preview("large")
    sets = tuple(s if s.name != "DataScientist" else identity.PermissionSetSpec(
        s.name, s.description, ("dev", "prod"), inline_policy=s.inline_policy) for s in identity.PERMISSION_SETS)
    monkeypatch.setattr(identity, "PERMISSION_SETS", sets)
    monkeypatch.setattr(identity.IdentityCenterArgs.__dataclass_fields__["permission_sets"], "default_factory",
                        lambda: sets)
    assert broken_layers(proof_with_one_rebuilt(shipped, "org")) == {"identity"}


@pytest.mark.parametrize("trusted", [
    {"AWS": f"arn:aws:iam::{ACCOUNTS['dev']}:root"},
    {"AWS": "*"},
    "*",
    {"AWS": f"arn:aws:iam::{ACCOUNTS['dev']}:role/mlops-dev-data-scientist"},
])
def test_a_prod_role_trusting_outside_the_deploy_path_breaks_the_proof(
        trusted: object, monkeypatch: pytest.MonkeyPatch, shipped_preview: Callable[..., Preview]) -> None:
    shipped_large = shipped_preview("large")
    shipped = tiers.BUILDERS["prod"]

    def prod_with_extra_role(ctx: TierContext) -> None:
        shipped(ctx)
        aws.iam.Role("backdoor", name="backdoor", assume_role_policy=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": trusted,
                                                     "Action": "sts:AssumeRole"}]}),
            opts=pulumi.ResourceOptions(parent=ctx.component))

    monkeypatch.setitem(tiers.BUILDERS, "prod", prod_with_extra_role)
    result = proof_with_one_rebuilt(shipped_large, "prod")
    assert broken_layers(result) == {"trust"}
    assert all(f.urn.endswith("::backdoor") for f in result.findings)


def test_detaching_the_separation_scp_from_prod_breaks_the_proof(
        monkeypatch: pytest.MonkeyPatch, shipped_preview: Callable[..., Preview]) -> None:
    shipped = shipped_preview("medium")
    monkeypatch.setitem(org.SCP_UNITS, "production-separation", ())
    result = proof_with_one_rebuilt(shipped, "org")
    assert broken_layers(result) == {"guardrails"}
    assert {f.urn for f in result.findings} == {"777777777777", "888888888888"}


def test_preview_exits_1_when_the_proof_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from mlops_platform.cli import app

    monkeypatch.setitem(org.SCP_UNITS, "production-separation", ())
    result = CliRunner().invoke(app, ["preview", "--project-dir", str(ROOT), "--size", "medium", "--json"])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["reachability"]["passed"] is False
    assert document["reachability"]["layers"]["guardrails"] == "broken"


def test_detaching_the_separation_scp_from_the_prod_ou_breaks_the_proof(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(org.SCP_UNITS, "production-separation", ("ML-Dev",))
    emails = "".join(f"      {name}: aws+{name}@example.com\n" for name in ACCOUNTS if name != "management")
    created = preview("large", "  mlops-platform:organization:\n    createAccounts: true\n"
                               "    allowedRegions: [eu-west-1]\n    accountEmails:\n" + emails, tmp_path)
    assert broken_layers(created.reachability) == {"guardrails"}


# --- what an existing organization must already have ----------------------------------------------------------

def _organization_reporting(monkeypatch: pytest.MonkeyPatch, token: str,
                            change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """The mock engine's answer to one invoke, changed the way a real organization may differ."""
    shipped = PlatformMocks.call

    def call(self: PlatformMocks, args: Any) -> tuple[dict[str, Any], Any]:
        result, failures = shipped(self, args)
        return (change(dict(result)) if args.token == token else result), failures

    monkeypatch.setattr(PlatformMocks, "call", call)


GET_ORGANIZATION = "aws:organizations/getOrganization:getOrganization"


def _org_capture_error(size: str = "medium", override: str | None = None, tmp_path: Path | None = None) -> str:
    with pytest.raises(CaptureError) as raised:
        preview(size, override, tmp_path)
    assert "Traceback" not in str(raised.value)
    return str(raised.value)


def test_an_organization_without_scps_enabled_on_its_root_stops_the_program(monkeypatch: pytest.MonkeyPatch) -> None:
    _organization_reporting(monkeypatch, GET_ORGANIZATION, lambda found: {
        **found, "enabledPolicyTypes": [], "roots": [{**found["roots"][0], "policyTypes": []}]})
    message = _org_capture_error()
    assert "service control policies are not enabled on the root r-prv1" in message
    assert "aws organizations enable-policy-type --root-id r-prv1 --policy-type SERVICE_CONTROL_POLICY" in message


def test_an_organization_without_all_features_stops_the_program(monkeypatch: pytest.MonkeyPatch) -> None:
    _organization_reporting(monkeypatch, GET_ORGANIZATION,
                            lambda found: {**found, "featureSet": "CONSOLIDATED_BILLING"})
    assert "enable all features" in _org_capture_error("large")


def test_the_trail_needs_cloudtrail_trusted_access_unless_an_organization_trail_exists(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _organization_reporting(monkeypatch, GET_ORGANIZATION, lambda found: {
        **found, "awsServiceAccessPrincipals": ["sso.amazonaws.com"]})
    message = _org_capture_error()
    assert "aws organizations enable-aws-service-access --service-principal cloudtrail.amazonaws.com" in message
    existing = preview("medium", "  mlops-platform:organization:\n    trail: existing\n", tmp_path, "org")
    assert of_type(stack_of(existing, "org"), "aws:cloudtrail/trail:Trail") == []


def test_a_created_organization_enables_scps_and_trusted_access_itself(tmp_path: Path) -> None:
    emails = "".join(f"      {name}: aws+{name}@example.com\n" for name in ("dev", "staging", "prod"))
    created = preview("medium", "  mlops-platform:organization:\n    createOrganization: true\n"
                                "    createAccounts: true\n    accountEmails:\n" + emails, tmp_path, "org")
    (organization,) = of_type(stack_of(created, "org"), "aws:organizations/organization:Organization")
    assert organization.inputs["featureSet"] == "ALL"
    assert organization.inputs["enabledPolicyTypes"] == ["SERVICE_CONTROL_POLICY"]
    assert "cloudtrail.amazonaws.com" in organization.inputs["awsServiceAccessPrincipals"]


def test_no_identity_center_instance_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    _organization_reporting(monkeypatch, "aws:ssoadmin/getInstances:getInstances",
                            lambda found: {**found, "arns": [], "identityStoreIds": []})
    message = _org_capture_error()
    assert "no IAM Identity Center instance in eu-west-1: enable IAM Identity Center in eu-west-1" in message
    assert "IndexError" not in message


# --- the break-glass alarm -----------------------------------------------------------------------------------

def _provider_region(stack: StackPreview, resource: CapturedResource) -> str:
    """The region of the provider a resource is created through (its own, or its component's)."""
    providers = {p.urn: p for p in of_type(stack, "pulumi:providers:aws")}
    reference = resource.provider
    assert reference, f"{resource.urn} names no provider"
    provider = providers[reference.rsplit("::", 1)[0]]
    return str(provider.inputs["region"])


def test_the_break_glass_rule_receives_read_only_management_events(
        shipped_preview: Callable[..., Preview]) -> None:
    org_stack = stack_of(shipped_preview("medium"), "org")
    (rule,) = [r for r in of_type(org_stack, "aws:cloudwatch/eventRule:EventRule") if "break-glass" in r.name]
    assert rule.inputs["state"] == "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
    assert json.loads(rule.inputs["eventPattern"])["detail"]["eventName"] == ["GetRoleCredentials"]
    assert _provider_region(org_stack, rule) == "eu-west-1"


def test_identity_center_and_its_alarm_live_in_identity_centers_region(tmp_path: Path) -> None:
    result = preview("medium", "  mlops-platform:organization:\n    identityCenterRegion: us-east-1\n", tmp_path)
    org_stack = stack_of(result, "org")
    (rule,) = [r for r in of_type(org_stack, "aws:cloudwatch/eventRule:EventRule") if "break-glass" in r.name]
    (topic,) = [t for t in of_type(org_stack, "aws:sns/topic:Topic") if t.inputs["name"] == "mlops-break-glass"]
    (target,) = of_type(org_stack, "aws:cloudwatch/eventTarget:EventTarget")
    assert {_provider_region(org_stack, r) for r in (rule, topic, target)} == {"us-east-1"}
    key_arn = topic.inputs["kmsMasterKeyId"]
    (key,) = [k for k in of_type(org_stack, "aws:kms/key:Key") if k.outputs["arn"] == key_arn]
    assert _provider_region(org_stack, key) == "us-east-1", "an SNS topic's key must be in the topic's region"
    for permission_set in of_type(org_stack, "aws:ssoadmin/permissionSet:PermissionSet"):
        assert _provider_region(org_stack, permission_set) == "us-east-1"
    (trail,) = of_type(org_stack, "aws:cloudtrail/trail:Trail")
    assert _provider_region(org_stack, trail) == "eu-west-1"
    assert result.reachability is not None and result.reachability.passed


# --- Control Tower -------------------------------------------------------------------------------------------

CONTROL_TOWER = ("  mlops-platform:organization:\n    controlTower: true\n    trail: existing\n"
                 "    memberAccessRoleName: AWSControlTowerExecution\n")


def test_under_control_tower_its_roles_are_exempt_and_its_trail_is_kept(tmp_path: Path) -> None:
    result = preview("medium", CONTROL_TOWER, tmp_path)
    org_stack = stack_of(result, "org")
    assert of_type(org_stack, "aws:cloudtrail/trail:Trail") == []
    assert not [b for b in of_type(org_stack, "aws:s3/bucket:Bucket") if "trail" in b.name]
    key_sids = {s.get("Sid") for k in of_type(org_stack, "aws:kms/key:Key")
                for s in json.loads(k.inputs["policy"])["Statement"]}
    assert "CloudTrailEncryptsTheOrganizationTrail" not in key_sids
    policies = {p.inputs["name"]: json.loads(p.inputs["content"])
                for p in of_type(org_stack, "aws:organizations/policy:Policy")}
    for statement in policies["mlops-baseline-protections"]["Statement"][1:]:
        assert "arn:aws:iam::*:role/AWSControlTowerExecution" in statement["Condition"]["ArnNotLike"][
            "aws:PrincipalArn"]
    assert result.reachability is not None and result.reachability.passed


def test_member_accounts_are_reached_through_the_configured_access_role(tmp_path: Path) -> None:
    org_stack = stack_of(preview("medium", CONTROL_TOWER, tmp_path, "org"), "org")
    assumed = {json.loads(p.inputs["assumeRoles"])[0]["roleArn"] if isinstance(p.inputs["assumeRoles"], str)
               else p.inputs["assumeRoles"][0]["roleArn"]
               for p in of_type(org_stack, "pulumi:providers:aws") if p.inputs.get("assumeRoles")}
    assert assumed == {f"arn:aws:iam::{ACCOUNTS[n]}:role/AWSControlTowerExecution" for n in ("dev", "staging", "prod")}


def test_identity_center_passes_the_user_name_that_studio_profiles_are_tagged_with(
        shipped_preview: Callable[..., Preview]) -> None:
    preview = shipped_preview("medium")
    org_stack = next(stack for stack in preview.stacks if stack.name == "org")
    [attributes] = [r for r in org_stack.captured.resources
                    if r.type == "aws:ssoadmin/instanceAccessControlAttributes:InstanceAccessControlAttributes"]
    assert attributes.inputs["attributes"] == [
        {"key": contract.STUDIO_USER_TAG, "values": [{"sources": ["${path:userName}"]}]}]
    dev = next(stack for stack in preview.stacks if stack.name == "dev")
    profiles = [r for r in dev.captured.resources if r.type == "aws:sagemaker/userProfile:UserProfile"]
    assert profiles and all(p.inputs["tags"][contract.STUDIO_USER_TAG] == p.inputs["userProfileName"]
                            for p in profiles)


@pytest.mark.parametrize("target", [
    "*",
    f"arn:aws:iam::{ACCOUNTS['prod']}:role/mlops-prod-churn-model",
    f"arn:aws:iam::{ACCOUNTS['cicd']}:role/mlops-cicd-deploy-pipeline",
    f"arn:aws:iam::{ACCOUNTS['prod']}:role/*",
])
def test_data_scientists_assuming_anything_but_named_roles_outside_production_breaks_the_proof(
        target: str, monkeypatch: pytest.MonkeyPatch, shipped_preview: Callable[..., Preview]) -> None:
    from mlops_platform.components import studio
    from mlops_platform.components.iam import allow

    shipped = shipped_preview("large")
    monkeypatch.setattr(studio, "pipeline_access_statements",
                        lambda args: [allow(["sts:AssumeRole"], [target], sid="Escalate")])
    assert broken_layers(proof_with_one_rebuilt(shipped, "dev")) == {"own-rights"}


def test_data_scientists_assuming_the_ops_pipeline_operator_keep_the_proof(
        shipped_preview: Callable[..., Preview]) -> None:
    preview_ = shipped_preview("large")
    dev = stack_of(preview_, "dev")
    policy = next(r for r in of_type(dev, "aws:iam/rolePolicy:RolePolicy") if "studio-data-scientist" in r.name)
    [statement] = [s for s in json.loads(policy.inputs["policy"])["Statement"]
                   if s.get("Sid") == "RunPipelinesAsTheOpsOperator"]
    assert statement["Resource"] == [f"arn:aws:iam::{ACCOUNTS['ops']}:role/mlops-ops-pipeline-operator"]
    assert preview_.reachability is not None and preview_.reachability.passed
