"""CI's identities (`ci.github.repository`, set in the shipped Pulumi.yaml): GitHub's OIDC provider and a preview
role in every account, one deploy role per GitHub Environment in the cicd account, deploy roles trusting exactly
their environment's; previews of every size pass with them, and without the key nothing of it exists."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlops_platform import ci, contract, topology
from mlops_platform.offline.access_matrix import Flow, World, claims_for_the_engine, evaluate
from mlops_platform.offline.capture import CapturedResource
from mlops_platform.offline.iam_simulate import Simulation, simulate
from mlops_platform.offline.preview import Preview
from mlops_platform.offline.size_capture import capture_size
from mlops_platform.offline.stack_config import load_project_config

ROOT = Path(__file__).resolve().parents[2]
REPOSITORY = "example-org/mlops-platform"
OIDC = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
ROLE = "aws:iam/role:Role"


def resources(preview: Preview, type_token: str) -> list[tuple[str, CapturedResource]]:
    """(account, resource) of every captured resource of the type, over the size's stacks."""
    world = World([stack.captured for stack in preview.stacks])
    return [(world.account_of(r), r) for stack in preview.stacks for r in stack.captured.resources
            if r.type == type_token]


def roles_named(preview: Preview, name: str) -> dict[str, CapturedResource]:
    return {account: role for account, role in resources(preview, ROLE) if role.inputs.get("name") == name}


def trust_of(role: CapturedResource) -> dict[str, Any]:
    document = json.loads(role.inputs["assumeRolePolicy"])
    assert isinstance(document, dict)
    return document


@pytest.mark.parametrize("size", ["small", "medium", "large"])
def test_every_size_previews_with_ci_and_no_violation_and_its_flows_hold(
        size: str, shipped_preview: Callable[..., Preview]) -> None:
    preview = shipped_preview(size)
    assert preview.mandatory_violations == 0
    assert preview.reachability is not None and preview.reachability.passed
    assert preview.access is not None and preview.access.passed
    names = [result.flow.name for result in preview.access.results]
    assert any(name.startswith("PR preview cannot write anywhere") for name in names)
    assert any(name.startswith("PR preview cannot assume a deploy role") for name in names)
    assert any(name == "a job in the prod environment assumes its deploy role" for name in names)


@pytest.mark.parametrize("size", ["small", "medium", "large"])
def test_every_account_has_githubs_provider_and_a_preview_role(
        size: str, shipped_preview: Callable[..., Preview]) -> None:
    preview = shipped_preview(size)
    accounts = set(preview.stacks[0].config.accounts.values())
    providers = resources(preview, OIDC)
    assert sorted(account for account, _ in providers) == sorted(accounts)
    for _, provider in providers:
        assert provider.inputs["url"] == ci.GITHUB_OIDC_URL
        assert provider.inputs["clientIdLists"] == [ci.GITHUB_OIDC_AUDIENCE]
    previews = roles_named(preview, ci.PREVIEW_ROLE_NAME)
    assert set(previews) == accounts
    for account, role in previews.items():
        github = trust_of(role)["Statement"][0]
        assert github["Principal"] == {"Federated": ci.oidc_provider_arn("aws", account)}
        assert github["Action"] == ci.WEB_IDENTITY_ACTION
        assert github["Condition"] == {"StringEquals": {ci.SUBJECT_KEY: f"repo:{REPOSITORY}:pull_request",
                                                        ci.AUDIENCE_KEY: "sts.amazonaws.com"}}


@pytest.mark.parametrize("size, environments", [
    ("small", ("platform", "prod")), ("medium", ("platform", "staging", "prod")),
    ("large", ("platform", "staging", "prod"))])
def test_one_deploy_role_per_environment_in_the_cicd_account(
        size: str, environments: tuple[str, ...], shipped_preview: Callable[..., Preview]) -> None:
    preview = shipped_preview(size)
    cfg = preview.stacks[0].config
    cicd = cfg.account_of_tier("cicd")
    assert ci.environments(cfg.size) == environments
    for environment in environments:
        roles = roles_named(preview, ci.deploy_role_name(environment))
        assert set(roles) == {cicd}
        statement = trust_of(roles[cicd])["Statement"][0]
        assert statement["Condition"]["StringEquals"][ci.SUBJECT_KEY] == f"repo:{REPOSITORY}:environment:{environment}"


@pytest.mark.parametrize("size", ["medium", "large"])
def test_each_deploy_role_trusts_its_environments_role_besides_the_deploy_path(
        size: str, shipped_preview: Callable[..., Preview]) -> None:
    preview = shipped_preview(size)
    cfg = preview.stacks[0].config
    cicd = cfg.account_of_tier("cicd")
    for account, role in roles_named(preview, cfg.deploy_role_name).items():
        tier = next(t for t in topology.tiers(cfg.size) if t != "org" and cfg.account_of_tier(t) == account)
        trusted = trust_of(role)["Statement"][0]["Principal"]["AWS"]
        assert sorted(trusted) == sorted([contract.deploy_pipeline_role_arn("aws", cicd),
                                          contract.bootstrap_role_arn("aws", cfg.accounts["management"]),
                                          ci.deploy_role_arn("aws", cicd, ci.environment_of_tier(tier))])


def test_without_ci_no_oidc_resource_exists(tmp_path: Path) -> None:
    override = tmp_path / "no-ci.yaml"
    override.write_text("config:\n  mlops-platform:ci: {}\n")
    for size in ("small", "medium"):
        captured = capture_size(load_project_config(ROOT, size, override_file=override))
        types = {r.type for stack in captured.stacks for r in stack.resources}
        names = {str(r.inputs.get("name")) for stack in captured.stacks for r in stack.resources if r.type == ROLE}
        assert OIDC not in types
        assert not names & set(ci.CI_ROLE_NAMES)


def test_the_engine_needs_githubs_claims_as_request_tags() -> None:
    """Why the matrix renames the claim keys: the engine ignores them as such, so even the right token fails."""
    account = "777777777777"
    trust = json.loads(ci.github_trust("aws", account, ci.pull_request_subject(REPOSITORY)))
    token = {ci.SUBJECT_KEY: ci.pull_request_subject(REPOSITORY), ci.AUDIENCE_KEY: ci.GITHUB_OIDC_AUDIENCE}

    def decide(policy: dict[str, Any], context: dict[str, Any]) -> str | None:
        (decision,) = simulate([Simulation(principal=ci.oidc_provider_arn("aws", account),
                                           action=ci.WEB_IDENTITY_ACTION,
                                           resource=ci.preview_role_arn("aws", account), resource_account=account,
                                           resource_policy=policy, context=context)])
        return decision.result

    assert decide(trust, token) == "ImplicitlyDenied"
    assert decide(claims_for_the_engine(trust), claims_for_the_engine(token)) == "Allowed"
    forked = {**token, ci.SUBJECT_KEY: "repo:attacker/fork:pull_request"}
    assert decide(claims_for_the_engine(trust), claims_for_the_engine(forked)) == "ImplicitlyDenied"


def test_a_wildcard_trust_is_caught_by_the_matrix_flows(shipped_preview: Callable[..., Preview]) -> None:
    """The matrix's deny flows are not vacuous: loosen the prod environment role's sub to a wildcard and the flows
    'another environment cannot assume it' break."""
    preview = shipped_preview("large")
    cfg = preview.stacks[0].config
    world = World([stack.captured for stack in preview.stacks], cfg.accounts)
    arn = ci.deploy_role_arn("aws", cfg.account_of_tier("cicd"), "prod")
    loose = trust_of(world.role(arn))
    loose["Statement"][0]["Condition"] = {"StringEquals": {ci.AUDIENCE_KEY: ci.GITHUB_OIDC_AUDIENCE},
                                          "StringLike": {ci.SUBJECT_KEY: f"repo:{REPOSITORY}:*"}}
    world.roles[arn] = dataclasses.replace(world.role(arn), inputs={**world.role(arn).inputs,
                                                                    "assumeRolePolicy": json.dumps(loose)})
    staging_token: dict[str, str | list[str]] = {ci.SUBJECT_KEY: ci.environment_subject(REPOSITORY, "staging"),
                                                 ci.AUDIENCE_KEY: ci.GITHUB_OIDC_AUDIENCE}
    flow = Flow("staging reaches the prod role", ci.oidc_provider_arn("aws", cfg.account_of_tier("cicd")),
                ci.WEB_IDENTITY_ACTION, arn, False, staging_token, web_identity=True)
    (result,) = evaluate(world, [flow], cfg.region).results
    assert result.decision.result == "Allowed" and not result.holds


def _providers(captured: Any) -> list[CapturedResource]:
    return [r for stack in captured.stacks for r in stack.resources if r.type == "pulumi:providers:aws"]


def _assumed(provider: CapturedResource) -> list[str]:
    roles = provider.inputs.get("assumeRoles") or []
    roles = json.loads(roles) if isinstance(roles, str) else roles
    return [str(role["roleArn"]) for role in roles]


def test_a_pull_requests_preview_runs_on_the_preview_roles_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """With MLOPS_PLATFORM_CREDENTIALS=preview the tiers' providers assume nothing (the job holds the account's
    preview role) and the org stack reads each member account through its preview role, never a deploy role or
    the organization's access role."""
    monkeypatch.setenv(ci.CREDENTIALS_VARIABLE, ci.PREVIEW_CREDENTIALS)
    captured = capture_size(load_project_config(ROOT, "medium"))
    assumed = [arn for provider in _providers(captured) for arn in _assumed(provider)]
    assert assumed, "the org stack's member providers assume a role"
    assert all(arn.endswith(f":role/{ci.PREVIEW_ROLE_NAME}") for arn in assumed), assumed


def test_without_preview_credentials_the_tiers_assume_their_deploy_roles(
        shipped_capture: Callable[[str], Any]) -> None:
    assumed = [arn for provider in _providers(shipped_capture("medium")) for arn in _assumed(provider)]
    assert not any(ci.PREVIEW_ROLE_NAME in arn for arn in assumed)
    assert any(arn.endswith(":role/mlops-platform-deploy") for arn in assumed)


def test_preview_credentials_never_deploy(monkeypatch: pytest.MonkeyPatch) -> None:
    import pulumi

    from mlops_platform.config import ConfigError, parse_config
    from mlops_platform.providers import tier_provider

    cfg = parse_config({"size": "small", "region": "eu-west-1", "accounts": {"workload": "111111111111"}}, "prod",
                       "acme")
    monkeypatch.setenv(ci.CREDENTIALS_VARIABLE, ci.PREVIEW_CREDENTIALS)
    monkeypatch.setattr(pulumi.runtime, "is_dry_run", lambda: False)
    with pytest.raises(ConfigError, match="for `pulumi preview` only"):
        tier_provider(cfg, "prod")


def _policy_of(preview: Preview, role: CapturedResource) -> list[dict[str, Any]]:
    policies = [r for stack in preview.stacks for r in stack.captured.resources
                if r.type == "aws:iam/rolePolicy:RolePolicy" and r.parent == role.parent]
    (policy,) = policies
    statements = json.loads(policy.inputs["policy"])["Statement"]
    assert isinstance(statements, list)
    return statements


@pytest.mark.parametrize("size", ["small", "large"])
def test_the_preview_role_reads_only_what_the_program_reads_and_refuses_every_deploy_role(
        size: str, shipped_preview: Callable[..., Preview]) -> None:
    preview = shipped_preview(size)
    cfg = preview.stacks[0].config
    for account, role in roles_named(preview, ci.PREVIEW_ROLE_NAME).items():
        assert "permissionsBoundary" not in role.inputs
        statements = {s["Sid"]: s for s in _policy_of(preview, role)}
        assert statements["ReadWhatTheProgramReads"]["Action"] == sorted(ci.PREVIEW_READS)
        assert statements["ReadServedVersions"]["Resource"] == (
            f"arn:aws:ssm:{cfg.region}:{account}:parameter/mlops-platform/serving/*")
        refused = statements["NeverADeployRole"]
        assert refused["Effect"] == "Deny"
        assert f"arn:aws:iam::*:role/{cfg.deploy_role_name}" in refused["Resource"]
        assert all(f"arn:aws:iam::*:role/{ci.deploy_role_name(env)}" in refused["Resource"]
                   for env in ci.ENVIRONMENTS)
        allowed = [a for s in statements.values() if s["Effect"] == "Allow" for a in
                   ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
        assert all(a.split(":")[1].startswith(("Describe", "List", "Get")) or a == "sts:AssumeRole"
                   for a in allowed), allowed


def test_the_providers_need_no_thumbprint(shipped_preview: Callable[..., Preview]) -> None:
    assert all("thumbprintLists" not in provider.inputs for _, provider in resources(shipped_preview("large"), OIDC))


def test_the_small_sizes_cicd_tier_creates_them_in_the_dev_stack(shipped_preview: Callable[..., Preview]) -> None:
    preview = shipped_preview("small")
    holders = {stack.name for stack in preview.stacks for r in stack.captured.resources if r.type == OIDC}
    assert holders == {"dev"}
    urns = [r.urn for stack in preview.stacks for r in stack.captured.resources if r.type == OIDC]
    assert all(contract.tier_from_urn(urn) == "cicd" for urn in urns)


def test_no_deploy_role_may_create_or_change_cis_roles() -> None:
    from mlops_platform.components.deploy_path import deploy_role_statements

    account = "777777777777"
    (never,) = [s for s in deploy_role_statements("aws", account, "mlops-platform-deploy")
                if s.sid == "NeverTheDeployPathsRoles"]
    assert not never.allows and never.grants("iam:UpdateAssumeRolePolicy")
    assert {contract.role_arn("aws", account, name) for name in ci.CI_ROLE_NAMES} <= set(never.resources)


def _edited(preview: Preview, role_name: str, account: str, trust: dict[str, Any]) -> list[Any]:
    """The preview's captured stacks with `role_name`'s trust in `account` replaced."""
    world = World([stack.captured for stack in preview.stacks])

    def edit(resource: CapturedResource) -> CapturedResource:
        if (resource.type == ROLE and resource.inputs.get("name") == role_name
                and world.account_of(resource) == account):
            return dataclasses.replace(resource, inputs={**resource.inputs, "assumeRolePolicy": json.dumps(trust)})
        return resource
    return [dataclasses.replace(stack.captured, resources=[edit(r) for r in stack.captured.resources])
            for stack in preview.stacks]


@pytest.mark.parametrize("role, principal", [
    ("mlops-platform-deploy", {"AWS": ci.deploy_role_arn("aws", "444444444444", "staging")}),
    ("mlops-platform-deploy", {"Federated": ci.oidc_provider_arn("aws", "888888888888")}),
    (ci.PREVIEW_ROLE_NAME, {"Federated": ci.oidc_provider_arn("aws", "666666666666")}),
    (ci.PREVIEW_ROLE_NAME, {"AWS": ci.preview_role_arn("aws", "666666666666")}),
], ids=["prod-deploy-role-trusts-staging", "prod-deploy-role-trusts-github", "preview-trusts-devs-provider",
        "preview-trusts-devs-preview-role"])
def test_the_separation_proof_still_refuses_any_other_ci_trust_in_prod(
        role: str, principal: dict[str, Any], shipped_preview: Callable[..., Preview]) -> None:
    from mlops_platform.offline import access_matrix
    from mlops_platform.offline.reachability import prove

    preview = shipped_preview("large")
    cfg = preview.stacks[0].config
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]}
    stacks = _edited(preview, role, cfg.accounts["prod"], trust)
    result = prove(cfg, stacks, access_matrix.check(cfg, stacks))
    assert not result.passed
    assert any(f.layer == "trust" and "staging/prod account trusts" in f.message for f in result.findings)
