"""github-oidc-trust-pinned: a role trusting GitHub's OIDC provider admits exactly one repository's named jobs —
judged by the pack over the analyzer protocol, in every tier (dev included)."""

from __future__ import annotations

from typing import Any

import pulumi_aws as aws
import pytest

from mlops_platform import ci
from tests.policies.policy_harness import LARGE, At, doc, judge

RULE = "github-oidc-trust-pinned"
REPOSITORY = "example-org/mlops-platform"


def github_role(tier: str, condition: dict[str, Any] | None, account: str | None = None) -> Any:
    statement: dict[str, Any] = {"Sid": "GitHubActions", "Effect": "Allow",
                                 "Principal": {"Federated": ci.oidc_provider_arn("aws", account or LARGE["cicd"])},
                                 "Action": ci.WEB_IDENTITY_ACTION}
    if condition is not None:
        statement["Condition"] = condition

    def program(at: At) -> None:
        aws.iam.Role("ci-role", name="mlops-ci-deploy-prod", assume_role_policy=doc(statement), opts=at(tier))
    return program


def exact(sub: Any, aud: Any = ci.GITHUB_OIDC_AUDIENCE) -> dict[str, Any]:
    return {"StringEquals": {ci.SUBJECT_KEY: sub, ci.AUDIENCE_KEY: aud}}


@pytest.mark.parametrize("tier, condition", [
    ("cicd", exact(ci.environment_subject(REPOSITORY, "prod"))),
    ("dev", exact(ci.pull_request_subject(REPOSITORY))),
    ("prod", exact([ci.environment_subject(REPOSITORY, "prod"), ci.environment_subject(REPOSITORY, "staging")])),
    ("cicd", exact(f"repo:{REPOSITORY}:ref:refs/heads/main")),
], ids=["environment", "pull-request-in-dev", "two-exact-subjects", "exact-branch"])
def test_exact_sub_and_aud_pass(tier: str, condition: dict[str, Any]) -> None:
    verdicts = judge(github_role(tier, condition), stack=tier)
    assert RULE not in verdicts.mandatory | verdicts.undecided


@pytest.mark.parametrize("tier, condition, expected", [
    ("cicd", None, f"without StringEquals on {ci.AUDIENCE_KEY}"),
    ("cicd", {"StringEquals": {ci.AUDIENCE_KEY: ci.GITHUB_OIDC_AUDIENCE}}, f"without StringEquals on {ci.SUBJECT_KEY}"),
    ("cicd", {"StringEquals": {ci.SUBJECT_KEY: ci.pull_request_subject(REPOSITORY)}},
     f"without StringEquals on {ci.AUDIENCE_KEY}"),
    ("cicd", {"StringEquals": {ci.AUDIENCE_KEY: ci.GITHUB_OIDC_AUDIENCE},
              "StringLike": {ci.SUBJECT_KEY: f"repo:{REPOSITORY}:*"}}, "StringLike"),
    ("dev", exact("repo:example-org/*:pull_request"), "holds a wildcard"),
    ("cicd", exact("repo:*/mlops-platform:environment:prod"), "holds a wildcard"),
    ("prod", exact(f"repo:{REPOSITORY}:ref:refs/heads/*"), "holds a wildcard"),
    ("cicd", exact(ci.environment_subject(REPOSITORY, "prod"), "*"), "to an exact audience"),
    ("cicd", exact("pull_request"), "names no repository"),
    ("cicd", exact(f"repo:{REPOSITORY}:"), "names no ref"),
], ids=["no-condition", "no-sub", "no-aud", "stringlike-sub", "wildcard-repository", "wildcard-owner",
        "wildcard-branch", "wildcard-aud", "no-repository", "no-ref"])
def test_a_loose_github_trust_is_blocked_in_every_tier(tier: str, condition: dict[str, Any] | None,
                                                       expected: str) -> None:
    verdicts = judge(github_role(tier, condition), stack=tier)
    assert RULE in verdicts.mandatory
    assert any(expected in message for message in verdicts.messages(RULE)), verdicts.messages(RULE)


def test_roles_trusting_other_principals_are_not_this_rules_concern() -> None:
    def program(at: At) -> None:
        aws.iam.Role("service", assume_role_policy=doc({"Effect": "Allow", "Action": "sts:AssumeRole",
                                                        "Principal": {"Service": "lambda.amazonaws.com"}}),
                     opts=at("cicd"))
    verdicts = judge(program, stack="cicd")
    assert RULE not in verdicts.mandatory | verdicts.undecided
    assert not verdicts.messages(RULE)


# --- separation-role-trust admits CI's identities exactly as the contract names them -----------------------

SEPARATION = "separation-role-trust"
CICD = LARGE["cicd"]


def prod_role(name: str, *statements: dict[str, Any]) -> Any:
    def program(at: At) -> None:
        aws.iam.Role("role", name=name, assume_role_policy=doc(*statements), opts=at("prod"))
    return program


def github_statement(account: str, sub: str) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": {"Federated": ci.oidc_provider_arn("aws", account)},
            "Action": ci.WEB_IDENTITY_ACTION, "Condition": exact(sub)}


def aws_statement(*arns: str) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": {"AWS": list(arns)}, "Action": "sts:AssumeRole"}


PREVIEW_TRUST = (github_statement(LARGE["prod"], ci.pull_request_subject(REPOSITORY)),
                 aws_statement(ci.preview_role_arn("aws", LARGE["management"])))
DEPLOY_PATH = (ci.deploy_role_arn("aws", CICD, "prod"), f"arn:aws:iam::{CICD}:role/mlops-cicd-deploy-pipeline")


@pytest.mark.parametrize("program", [
    prod_role(ci.PREVIEW_ROLE_NAME, *PREVIEW_TRUST),
    prod_role("mlops-platform-deploy", aws_statement(*DEPLOY_PATH)),
], ids=["preview-role", "deploy-role-trusts-the-prod-environment"])
def test_cis_identities_pass_the_separation_with_ci_configured(program: Any) -> None:
    verdicts = judge(program, stack="prod", config="large+ci")
    assert SEPARATION not in verdicts.mandatory | verdicts.undecided, verdicts.messages(SEPARATION)


@pytest.mark.parametrize("program, config, expected", [
    (prod_role(ci.PREVIEW_ROLE_NAME, *PREVIEW_TRUST), "large", "federated"),
    (prod_role(ci.PREVIEW_ROLE_NAME, github_statement(LARGE["prod"], ci.environment_subject(REPOSITORY, "prod"))),
     "large+ci", "federated"),
    (prod_role("mlops-prod-churn-model", github_statement(LARGE["prod"], ci.pull_request_subject(REPOSITORY))),
     "large+ci", "federated"),
    (prod_role(ci.PREVIEW_ROLE_NAME, github_statement(LARGE["dev"], ci.pull_request_subject(REPOSITORY))),
     "large+ci", "federated"),
    (prod_role(ci.PREVIEW_ROLE_NAME, github_statement(LARGE["prod"], "repo:attacker/fork:pull_request")),
     "large+ci", "federated"),
    (prod_role("mlops-platform-deploy", aws_statement(ci.deploy_role_arn("aws", CICD, "staging"))), "large+ci",
     "outside the CI/CD deploy path"),
    (prod_role("mlops-platform-deploy", aws_statement(ci.deploy_role_arn("aws", CICD, "prod"))), "large",
     "outside the CI/CD deploy path"),
], ids=["preview-role-without-ci", "preview-role-for-an-environment", "not-the-preview-role",
        "another-accounts-provider", "another-repository", "staging-environment-role", "prod-role-without-ci"])
def test_anything_else_trusting_ci_in_prod_is_blocked(program: Any, config: str, expected: str) -> None:
    verdicts = judge(program, stack="prod", config=config)
    assert SEPARATION in verdicts.mandatory
    assert any(expected in message for message in verdicts.messages(SEPARATION)), verdicts.messages(SEPARATION)
