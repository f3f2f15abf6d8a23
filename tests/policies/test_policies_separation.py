"""Separation of production: role trust, resource policies, Identity Center assignments, SCP attachments.
Mandatory in every tier; with the accounts configured, without them, and with values unknown at preview."""

from __future__ import annotations

from typing import Any

import pulumi_aws as aws
import pytest

from tests.policies.policy_harness import BOOTSTRAP_ROLE, LARGE, PIPELINE_ROLE, At, doc, judge, tls_only, trust, unknown

TRUST = "separation-role-trust"
RESOURCE_POLICIES = "separation-resource-policies"
ASSIGNMENT = "separation-data-scientist-assignment"
SCPS = "separation-scps-attached"
SMALL_ACCOUNT = "111111111111"
DEV_ROOT = f"arn:aws:iam::{LARGE['dev']}:root"
DATA_SCIENTIST_ROLE = f"arn:aws:iam::{LARGE['dev']}:role/mlops-dev-data-scientist"


def prod_role(principal: Any, tier: str = "prod") -> Any:
    def program(at: At) -> None:
        aws.iam.Role("role", assume_role_policy=trust(principal), opts=at(tier))
    return program


def deploy_role(principal: Any, account: str = LARGE["prod"]) -> Any:
    """A deploy role the org stack creates in a workload account."""
    def program(at: At) -> None:
        aws.iam.Role("deploy", name="mlops-platform-deploy", assume_role_policy=trust(principal),
                     opts=at.into("org", account))
    return program


# --- role trust ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("program, stack, config", [
    (prod_role({"Service": "sagemaker.amazonaws.com"}), "prod", "large"),
    (prod_role({"Service": ["lambda.amazonaws.com", "events.amazonaws.com"]}, "staging"), "staging", "large"),
    (deploy_role({"AWS": [PIPELINE_ROLE, BOOTSTRAP_ROLE]}), "org", "large"),
    (deploy_role({"AWS": [PIPELINE_ROLE, BOOTSTRAP_ROLE]}, LARGE["dev"]), "org", "large"),
    (prod_role({"AWS": f"arn:aws:iam::{LARGE['prod']}:role/mlops-prod-churn-deployer"}), "prod", "large"),
    (prod_role({"AWS": f"arn:aws:iam::{LARGE['prod']}:role/operations"}), "prod", "large"),
    (prod_role({"AWS": DEV_ROOT}, "dev"), "dev", "large"),
    (prod_role({"AWS": f"arn:aws:iam::{SMALL_ACCOUNT}:role/mlops-prod-churn-deployer"}), "prod", "small"),
    (prod_role({"AWS": f"arn:aws:iam::{SMALL_ACCOUNT}:role/mlops-cicd-deploy-pipeline"}), "prod", "small"),
    (prod_role({"Service": "sagemaker.amazonaws.com"}), "prod", "unconfigured"),
], ids=["service", "services-in-staging", "deploy-path", "deploy-role-outside-prod", "prod-role-of-prod",
        "any-role-of-the-dedicated-prod-account", "dev-role-trusting-dev", "small-prod-role",
        "small-deploy-path", "unconfigured-service"])
def test_trust_within_the_deploy_path_passes(program: Any, stack: str, config: str) -> None:
    verdicts = judge(program, stack=stack, config=config)
    assert TRUST not in verdicts.mandatory | verdicts.undecided


@pytest.mark.parametrize("program, stack, config, expected", [
    (prod_role("*"), "prod", "large", "every principal"),
    (prod_role({"AWS": "*"}, "staging"), "staging", "large", "every principal"),
    (prod_role({"AWS": DEV_ROOT}), "prod", "large", "root of the dev account"),
    (prod_role({"AWS": LARGE["data"]}), "prod", "large", "root of the data account"),
    (prod_role({"AWS": f"arn:aws:iam::{LARGE['prod']}:root"}), "prod", "large", "root of the prod account"),
    (prod_role({"AWS": DATA_SCIENTIST_ROLE}), "prod", "large", "outside the CI/CD deploy path"),
    (prod_role({"AWS": f"arn:aws:iam::{LARGE['artifact']}:role/mlops-artifact-model-approver"}), "prod", "large",
     "outside the CI/CD deploy path"),
    (prod_role({"AWS": f"arn:aws:iam::{LARGE['prod']}:user/alice"}), "prod", "large", "outside the CI/CD"),
    (prod_role({"Federated": "arn:aws:iam::888888888888:oidc-provider/token.actions.githubusercontent.com"}),
     "prod", "large", "federated"),
    (deploy_role({"AWS": [f"arn:aws:iam::{LARGE['dev']}:role/mlops-cicd-deploy-pipeline", BOOTSTRAP_ROLE]}),
     "org", "large", "deploy-path role name"),
    (deploy_role({"AWS": [PIPELINE_ROLE, f"arn:aws:iam::{LARGE['management']}:root"]}), "org", "large",
     "root of the management account"),
    (prod_role({"AWS": f"arn:aws:iam::{SMALL_ACCOUNT}:role/mlops-dev-data-scientist"}), "prod", "small",
     "not a staging/prod role"),
    (prod_role({"AWS": f"arn:aws:iam::{SMALL_ACCOUNT}:root"}), "prod", "small", "root of the workload account"),
    (prod_role("*"), "prod", "unconfigured", "every principal"),
    (prod_role({"AWS": DEV_ROOT}), "prod", "unconfigured", "root of account 666666666666"),
    (prod_role({"AWS": f"arn:aws:iam::{LARGE['dev']}:role/anything"}), "prod", "unconfigured",
     "not a role of the CI/CD deploy path"),
], ids=["star", "aws-star", "dev-root", "data-account-id", "own-root", "dev-role", "artifact-role", "user",
        "federated", "pipeline-name-wrong-account", "management-root", "small-dev-role", "small-root",
        "unconfigured-star", "unconfigured-foreign-root", "unconfigured-foreign-role"])
def test_trust_outside_the_deploy_path_is_blocked(program: Any, stack: str, config: str, expected: str) -> None:
    verdicts = judge(program, stack=stack, config=config)
    assert TRUST in verdicts.mandatory
    assert any(expected in message for message in verdicts.messages(TRUST)), verdicts.messages(TRUST)


def test_not_principal_trust_is_blocked() -> None:
    def program(at: At) -> None:
        aws.iam.Role("role", assume_role_policy=doc({"Effect": "Allow", "NotPrincipal": {"AWS": PIPELINE_ROLE},
                                                     "Action": "sts:AssumeRole"}), opts=at("prod"))
    assert TRUST in judge(program).mandatory


def test_separation_is_mandatory_even_when_the_dev_tier_creates_the_role() -> None:
    def program(at: At) -> None:
        aws.iam.Role("sneaky", assume_role_policy=trust({"AWS": DEV_ROOT}), opts=at.into("dev", LARGE["prod"]))
    verdicts = judge(program, stack="dev")
    assert TRUST in verdicts.mandatory
    assert TRUST not in verdicts.advisory, "separation is never only advice"


def test_without_accounts_the_deploy_path_cannot_be_verified_and_says_so() -> None:
    verdicts = judge(prod_role({"AWS": PIPELINE_ROLE}), config="unconfigured")
    assert TRUST not in verdicts.mandatory
    assert TRUST in verdicts.undecided
    assert any("mlops-platform:accounts" in message for message in verdicts.messages(TRUST))


def test_without_accounts_an_org_role_in_an_unknown_account_is_judged_on_the_obvious_cases() -> None:
    def program(at: At) -> None:
        aws.iam.Role("member", assume_role_policy=trust({"AWS": [DEV_ROOT]}), opts=at.into("org", LARGE["prod"]))
        aws.iam.Role("member-user", assume_role_policy=trust({"AWS": f"arn:aws:iam::{LARGE['prod']}:user/bob"}),
                     opts=at.into("org", LARGE["prod"]))
    verdicts = judge(program, stack="org", config="unconfigured")
    assert any(urn.endswith("::member") for urn in verdicts.urns(TRUST) if urn)
    assert TRUST in verdicts.undecided


def test_an_unknown_trust_policy_is_reported_as_undecided() -> None:
    def program(at: At) -> None:
        aws.iam.Role("role", assume_role_policy=unknown(), opts=at("prod"))
    verdicts = judge(program)
    assert TRUST in verdicts.undecided and TRUST not in verdicts.mandatory


# --- resource policies -----------------------------------------------------------------------------------


def key_policy(principal: Any, tier: str = "prod") -> Any:
    def program(at: At) -> None:
        aws.kms.Key("key", enable_key_rotation=True, opts=at(tier, protect=True), policy=doc(
            {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "kms:Decrypt", "Resource": "*"}))
    return program


def test_resource_policies_of_the_production_account_pass() -> None:
    def program(at: At) -> None:
        aws.kms.Key("key", enable_key_rotation=True, opts=at("prod", protect=True), policy=doc(
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{LARGE['prod']}:root"}, "Action": "kms:*",
             "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": PIPELINE_ROLE}, "Action": "kms:Decrypt", "Resource": "*"}))
        bucket = aws.s3.Bucket("capture", opts=at("prod", protect=True))
        aws.s3.BucketPolicy("capture", bucket=bucket.id, policy=doc(
            tls_only("arn:aws:s3:::capture"),
            {"Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject",
             "Resource": "arn:aws:s3:::capture/*"}), opts=at("prod"))
        aws.cloudwatch.EventBusPolicy("bus", event_bus_name="default", policy=doc(
            {"Effect": "Allow", "Principal": "*", "Action": "events:PutEvents", "Resource": "*",
             "Condition": {"StringEquals": {"aws:PrincipalAccount": LARGE["artifact"]}}}), opts=at("prod"))
    assert RESOURCE_POLICIES not in judge(program).mandatory | judge(program).undecided


def test_the_small_sizes_shared_account_may_grant_its_own_root() -> None:
    verdicts = judge(key_policy(f"arn:aws:iam::{SMALL_ACCOUNT}:root"), config="small")
    assert RESOURCE_POLICIES not in verdicts.mandatory | verdicts.undecided


def test_a_dev_tier_resource_may_grant_dev_principals() -> None:
    verdicts = judge(key_policy(DATA_SCIENTIST_ROLE, "dev"), stack="dev")
    assert RESOURCE_POLICIES not in verdicts.mandatory | verdicts.undecided


def ecr_policy(principal: Any) -> Any:
    def program(at: At) -> None:
        aws.ecr.RepositoryPolicy("images", repository="mlops-platform/churn", opts=at("prod"), policy=doc(
            {"Effect": "Allow", "Principal": principal, "Action": "ecr:BatchGetImage"}))
    return program


def model_group_policy(principal: Any) -> Any:
    def program(at: At) -> None:
        aws.sagemaker.ModelPackageGroupPolicy("group", model_package_group_name="churn", opts=at("staging"),
                                              resource_policy=doc({"Effect": "Allow", "Principal": principal,
                                                                   "Action": "sagemaker:DescribeModelPackage",
                                                                   "Resource": "*"}))
    return program


def bucket_grant(principal: Any) -> Any:
    def program(at: At) -> None:
        bucket = aws.s3.Bucket("capture", opts=at("prod", protect=True))
        aws.s3.BucketPolicy("capture", bucket=bucket.id, opts=at("prod"), policy=doc(
            tls_only("arn:aws:s3:::capture"),
            {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "s3:GetObject",
             "Resource": "arn:aws:s3:::capture/*"}))
    return program


def event_bus(principal: str, condition: aws.cloudwatch.EventPermissionConditionArgsDict | None = None) -> Any:
    def program(at: At) -> None:
        aws.cloudwatch.EventPermission("dev-events", principal=principal, statement_id="dev",
                                       condition=condition, opts=at("prod"))
    return program


def kms_grant(principal: str) -> Any:
    def program(at: At) -> None:
        aws.kms.Grant("grant", key_id="1234abcd-12ab-34cd-56ef-1234567890ab", grantee_principal=principal,
                      operations=["Decrypt"], opts=at("prod"))
    return program


@pytest.mark.parametrize("program, config, expected", [
    (key_policy(DEV_ROOT), "large", "dev"),
    (key_policy(f"arn:aws:iam::{LARGE['data']}:role/mlops-data-lake"), "large", "data"),
    (bucket_grant(DATA_SCIENTIST_ROLE), "large", "dev"),
    (bucket_grant("*"), "large", "every principal"),
    (ecr_policy("*"), "large", "every principal"),
    (ecr_policy({"AWS": LARGE["dev"]}), "large", "dev"),
    (model_group_policy({"AWS": DATA_SCIENTIST_ROLE}), "large", "dev"),
    (event_bus(LARGE["dev"]), "large", "dev"),
    (event_bus("*", {"key": "aws:PrincipalOrgID", "type": "StringEquals", "value": "o-abc"}), "large",
     "every principal"),
    (kms_grant(DATA_SCIENTIST_ROLE), "large", "dev"),
    (key_policy(f"arn:aws:iam::{SMALL_ACCOUNT}:role/mlops-dev-data-scientist"), "small", "dev"),
    (key_policy("*"), "unconfigured", "every principal"),
    (key_policy(DEV_ROOT), "unconfigured", "another account"),
], ids=["dev-root", "data-role", "bucket-dev-role", "bucket-star", "ecr-star", "ecr-dev-account", "model-group",
        "event-permission", "event-permission-org", "kms-grant", "small-dev-role", "unconfigured-star",
        "unconfigured-foreign-root"])
def test_resource_policies_granting_dev_or_data_are_blocked(program: Any, config: str, expected: str) -> None:
    verdicts = judge(program, config=config)
    assert RESOURCE_POLICIES in verdicts.mandatory
    assert any(expected in message for message in verdicts.messages(RESOURCE_POLICIES))


def test_restricting_star_to_a_dev_account_is_still_blocked() -> None:
    def program(at: At) -> None:
        aws.cloudwatch.EventBusPolicy("bus", event_bus_name="default", opts=at("prod"), policy=doc(
            {"Effect": "Allow", "Principal": "*", "Action": "events:PutEvents", "Resource": "*",
             "Condition": {"StringEquals": {"aws:PrincipalAccount": [LARGE["artifact"], LARGE["dev"]]}}}))
    assert RESOURCE_POLICIES in judge(program).mandatory


def test_without_accounts_a_foreign_role_grant_is_undecided() -> None:
    verdicts = judge(key_policy(DATA_SCIENTIST_ROLE), config="unconfigured")
    assert RESOURCE_POLICIES in verdicts.undecided and RESOURCE_POLICIES not in verdicts.mandatory


# --- Identity Center -------------------------------------------------------------------------------------

INSTANCE = "arn:aws:sso:::instance/ssoins-0123456789abcdef"


def assignment(target: Any, permission_set: str = "DataScientist", in_stack: bool = True) -> Any:
    def program(at: At) -> None:
        arn: Any = f"{INSTANCE}/ps-0123456789abcdef"
        if in_stack:
            arn = aws.ssoadmin.PermissionSet(permission_set, name=permission_set, instance_arn=INSTANCE,
                                             opts=at("org")).arn
        aws.ssoadmin.AccountAssignment("assignment", instance_arn=INSTANCE, permission_set_arn=arn,
                                       principal_id="90676d4d-1234", principal_type="GROUP", target_id=target,
                                       target_type="AWS_ACCOUNT", opts=at("org"))
    return program


@pytest.mark.parametrize("program, config", [
    (assignment(LARGE["dev"]), "large"),
    (assignment(LARGE["prod"], "ReadOnly"), "large"),
    (assignment(LARGE["dev"]), "medium"),
    (assignment(LARGE["dev"], in_stack=False), "large"),
], ids=["dev-account", "other-set-in-prod", "medium-dev-account-hosts-cicd", "outside-set-in-dev"])
def test_data_scientists_assigned_to_dev_pass(program: Any, config: str) -> None:
    verdicts = judge(program, stack="org", config=config)
    assert ASSIGNMENT not in verdicts.mandatory | verdicts.undecided


@pytest.mark.parametrize("target, config", [
    (LARGE["prod"], "large"), (LARGE["staging"], "large"), (LARGE["cicd"], "large"), (LARGE["staging"], "medium"),
])
def test_data_scientists_assigned_to_staging_prod_or_cicd_are_blocked(target: str, config: str) -> None:
    verdicts = judge(assignment(target), stack="org", config=config)
    assert ASSIGNMENT in verdicts.mandatory
    assert any(target in message for message in verdicts.messages(ASSIGNMENT))


@pytest.mark.parametrize("program, config", [
    (assignment(unknown()), "large"),
    (assignment(LARGE["prod"], in_stack=False), "large"),
    (assignment(LARGE["prod"]), "unconfigured"),
], ids=["unknown-target", "set-defined-elsewhere", "unconfigured"])
def test_assignments_that_cannot_be_decided_say_so(program: Any, config: str) -> None:
    verdicts = judge(program, stack="org", config=config)
    assert ASSIGNMENT in verdicts.undecided and ASSIGNMENT not in verdicts.mandatory


# --- service control policies ----------------------------------------------------------------------------

SCP_CONTENT = doc({"Effect": "Deny", "Action": "*", "Resource": "*",
                   "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*DataScientist*"}}})


def organization(targets: dict[str, list[str]], extra: bool = True) -> Any:
    """SCPs (name → attachment targets), with an Identity Center permission set so the stack manages the org."""
    def program(at: At) -> None:
        if extra:
            aws.ssoadmin.PermissionSet("ReadOnly", name="ReadOnly", instance_arn=INSTANCE, opts=at("org"))
        for name, attached_to in targets.items():
            policy = aws.organizations.Policy(name, name=name, content=SCP_CONTENT, type="SERVICE_CONTROL_POLICY",
                                              opts=at("org"))
            for index, target in enumerate(attached_to):
                aws.organizations.PolicyAttachment(f"{name}-{index}", policy_id=policy.id, target_id=target,
                                                   opts=at("org"))
    return program


PRODUCTION_ACCOUNTS = [LARGE["staging"], LARGE["prod"]]


@pytest.mark.parametrize("program, config", [
    (organization({"separation": PRODUCTION_ACCOUNTS, "region-guard": [*PRODUCTION_ACCOUNTS, LARGE["dev"]]}),
     "large"),
    (organization({"separation": ["r-abcd"]}), "large"),
    (organization({}, extra=False), "large"),
    (organization({"separation": [LARGE["prod"]]}), "small"),
], ids=["both-accounts", "organization-root", "stack-without-organization", "small-has-no-org"])
def test_scps_kept_on_staging_and_prod_pass(program: Any, config: str) -> None:
    verdicts = judge(program, stack="org", config=config)
    assert SCPS not in verdicts.mandatory | verdicts.undecided


@pytest.mark.parametrize("targets, expected", [
    ({"separation": [LARGE["staging"]], "region-guard": PRODUCTION_ACCOUNTS}, "but not the prod account"),
    ({"separation": [LARGE["dev"]]}, "staging/prod lost their SCPs"),
    ({"separation": PRODUCTION_ACCOUNTS, "unused": []}, "attached to nothing"),
    ({"separation": []}, "attached to nothing"),
    ({}, "staging/prod lost their SCPs"),
], ids=["detached-from-prod", "moved-to-dev", "orphan", "no-attachment", "all-removed"])
def test_scps_detached_from_staging_or_prod_are_blocked(targets: dict[str, list[str]], expected: str) -> None:
    verdicts = judge(organization(targets), stack="org")
    assert SCPS in verdicts.mandatory
    assert any(expected in message for message in verdicts.messages(SCPS)), verdicts.messages(SCPS)


@pytest.mark.parametrize("program, config", [
    (organization({"separation": ["ou-abcd-12345678"]}), "large"),
    (organization({"separation": PRODUCTION_ACCOUNTS}), "unconfigured"),
], ids=["attached-to-an-ou", "unconfigured"])
def test_scp_coverage_that_cannot_be_decided_says_so(program: Any, config: str) -> None:
    verdicts = judge(program, stack="org", config=config)
    assert SCPS in verdicts.undecided and SCPS not in verdicts.mandatory
