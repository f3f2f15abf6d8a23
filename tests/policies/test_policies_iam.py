"""IAM (no '*:*', no user inline policies, no kms:Decrypt on every key), data safety (stateful resources
protected outside dev) and required tags."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from tests.policies.policy_harness import At, default_tags, doc, judge

KEY = "arn:aws:kms:eu-west-1:888888888888:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SERVICE_TRUST = doc({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"})


def role_policy(*statements: dict[str, Any], kind: str = "role-policy") -> Any:
    def program(at: At) -> None:
        document = doc(*statements)
        if kind == "role-policy":
            role = aws.iam.Role("role", assume_role_policy=SERVICE_TRUST, opts=at("prod"))
            aws.iam.RolePolicy("role", role=role.id, policy=document, opts=at("prod"))
        elif kind == "managed":
            aws.iam.Policy("managed", policy=document, opts=at("prod"))
        elif kind == "role-inline":
            aws.iam.Role("role", assume_role_policy=SERVICE_TRUST, opts=at("prod"),
                         inline_policies=[{"name": "inline", "policy": document}])
        elif kind == "group":
            aws.iam.GroupPolicy("group", group="operators", policy=document, opts=at("prod"))
        elif kind == "permission-set":
            aws.ssoadmin.PermissionSetInlinePolicy("set", instance_arn="arn:aws:sso:::instance/ssoins-1",
                                                   permission_set_arn="arn:aws:sso:::permissionSet/ps-1",
                                                   inline_policy=document, opts=at("org"))
    return program


LEAST_PRIVILEGE = ({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::models/*"]},
                   {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [KEY]},
                   {"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*"},
                   {"Effect": "Deny", "Action": "*", "Resource": "*",
                    "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}})


@pytest.mark.parametrize("kind", ["role-policy", "managed", "role-inline", "group", "permission-set"])
def test_least_privilege_policies_pass(kind: str) -> None:
    verdicts = judge(role_policy(*LEAST_PRIVILEGE, kind=kind), stack="org" if kind == "permission-set" else "prod")
    assert not {"iam-no-admin-wildcard", "iam-no-wildcard-kms-decrypt"} & verdicts.mandatory


@pytest.mark.parametrize("statement", [
    {"Effect": "Allow", "Action": "*", "Resource": "*"},
    {"Effect": "Allow", "Action": ["s3:GetObject", "*:*"], "Resource": "*"},
    {"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::models"},
    {"Effect": "Allow", "NotAction": ["iam:*"], "Resource": "*"},
], ids=["star", "star-colon-star", "star-on-one-resource", "not-action"])
@pytest.mark.parametrize("kind", ["role-policy", "managed", "role-inline", "permission-set"])
def test_admin_wildcards_are_blocked(statement: dict[str, Any], kind: str) -> None:
    verdicts = judge(role_policy(statement, kind=kind), stack="org" if kind == "permission-set" else "prod")
    assert "iam-no-admin-wildcard" in verdicts.mandatory


@pytest.mark.parametrize("statement", [
    {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"},
    {"Effect": "Allow", "Action": "kms:*", "Resource": "*"},
    {"Effect": "Allow", "Action": ["kms:ReEncrypt*"], "Resource": "*"},
    {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:*:888888888888:key/*"},
    {"Effect": "Allow", "Action": "kms:Decrypt", "NotResource": KEY},
], ids=["decrypt-star", "kms-star", "reencrypt-wildcard", "wildcard-key-arn", "not-resource"])
@pytest.mark.parametrize("kind", ["role-policy", "managed"])
def test_decrypt_on_every_key_is_blocked(statement: dict[str, Any], kind: str) -> None:
    assert "iam-no-wildcard-kms-decrypt" in judge(role_policy(statement, kind=kind)).mandatory


def test_a_key_policys_star_resource_is_that_key_alone() -> None:
    def program(at: At) -> None:
        aws.kms.Key("key", enable_key_rotation=True, opts=at("prod", protect=True), policy=doc(
            {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "kms:Decrypt",
             "Resource": "*"}))
    assert "iam-no-wildcard-kms-decrypt" not in judge(program).mandatory


def test_an_invalid_policy_document_is_blocked() -> None:
    def program(at: At) -> None:
        aws.iam.Policy("broken", policy='{"Statement": "nope"', opts=at("prod"))
    assert "iam-no-admin-wildcard" in judge(program).mandatory


def test_users_carry_no_inline_policies() -> None:
    def program(at: At) -> None:
        aws.iam.UserPolicy("alice", user="alice", policy=doc(*LEAST_PRIVILEGE[:1]), opts=at("prod"))
    assert "iam-no-user-inline-policies" in judge(program).mandatory

    def through_a_group(at: At) -> None:
        aws.iam.GroupPolicy("readers", group="readers", policy=doc(*LEAST_PRIVILEGE[:1]), opts=at("prod"))
        aws.iam.UserGroupMembership("alice", user="alice", groups=["readers"], opts=at("prod"))
    assert "iam-no-user-inline-policies" not in judge(through_a_group).mandatory


def test_iam_weaknesses_in_dev_are_advice() -> None:
    def program(at: At) -> None:
        aws.iam.Policy("experiment", policy=doc({"Effect": "Allow", "Action": "*", "Resource": "*"}),
                       opts=at("dev"))
    verdicts = judge(program, stack="dev")
    assert "iam-no-admin-wildcard" in verdicts.advisory and "iam-no-admin-wildcard" not in verdicts.mandatory


# --- data safety -----------------------------------------------------------------------------------------

STATEFUL: dict[str, Any] = {
    "bucket": lambda opts: aws.s3.Bucket("state", opts=opts),
    "key": lambda opts: aws.kms.Key("state", enable_key_rotation=True, opts=opts),
    "repository": lambda opts: aws.ecr.Repository("state", opts=opts),
    "model-package-group": lambda opts: aws.sagemaker.ModelPackageGroup("state", model_package_group_name="churn",
                                                                        opts=opts),
    "code": lambda opts: aws.codecommit.Repository("state", repository_name="ml-models", opts=opts),
    "table": lambda opts: aws.dynamodb.Table("state", hash_key="id", attributes=[{"name": "id", "type": "S"}],
                                             billing_mode="PAY_PER_REQUEST", opts=opts),
}


@pytest.mark.parametrize("kind", sorted(STATEFUL))
@pytest.mark.parametrize("tier", ["prod", "artifact", "org"])
def test_stateful_resources_outside_dev_must_be_protected(kind: str, tier: str) -> None:
    def unprotected(at: At) -> None:
        STATEFUL[kind](at(tier))

    def protected(at: At) -> None:
        STATEFUL[kind](at(tier, protect=True))

    assert "stateful-resources-protected" in judge(unprotected, stack=tier).mandatory
    assert "stateful-resources-protected" not in judge(protected, stack=tier).mandatory


def test_dev_lets_its_state_go_without_advice() -> None:
    def program(at: At) -> None:
        aws.s3.Bucket("scratch", opts=at("dev"))
    verdicts = judge(program, stack="dev")
    assert "stateful-resources-protected" not in verdicts.mandatory | verdicts.advisory


# --- tags ------------------------------------------------------------------------------------------------


def test_resources_through_a_tier_provider_carry_every_required_tag() -> None:
    def program(at: At) -> None:
        aws.sqs.Queue("queue", opts=at("prod"))
        aws.s3.BucketPolicy("policy", bucket="b", policy=doc(), opts=at("prod"))
    assert "required-tags" not in judge(program).mandatory


@pytest.mark.parametrize("missing", ["mlops:tier", "mlops:owner", "managed-by"])
def test_a_provider_missing_a_required_tag_is_blocked(missing: str) -> None:
    def program(at: At) -> None:
        aws.sqs.Queue("queue", opts=at("prod"))
    tags = {key: value for key, value in default_tags("prod", "prod").items() if key != missing}
    verdicts = judge(program, tags=tags)
    assert "required-tags" in verdicts.mandatory
    assert any(missing in message for message in verdicts.messages("required-tags"))


def test_resource_tags_fill_in_for_the_provider_and_untaggable_types_are_left_alone() -> None:
    def program(at: At) -> None:
        provider = aws.Provider("bare", region="eu-west-1")
        aws.sqs.Queue("tagged", tags=default_tags("prod", "prod"), opts=pulumi.ResourceOptions(provider=provider))
        aws.s3.BucketPolicy("untaggable", bucket="b", policy=doc(), opts=pulumi.ResourceOptions(provider=provider))
        aws.sqs.Queue("untagged", opts=pulumi.ResourceOptions(provider=provider))
    verdicts = judge(program)
    assert {urn.rsplit("::", 1)[-1] for urn in verdicts.urns("required-tags")} == {"untagged"}


def test_a_tier_tag_must_name_a_tier() -> None:
    def program(at: At) -> None:
        aws.sqs.Queue("queue", opts=at("prod"), tags={"mlops:tier": "production"})
    assert "required-tags" in judge(program).mandatory


# --- nothing public --------------------------------------------------------------------------------------

PUBLIC = "resource-policies-not-public"


def resource_policy(kind: str, statement: dict[str, Any], tier: str = "artifact") -> Any:
    def program(at: At) -> None:
        document = doc(statement)
        if kind == "queue":
            aws.sqs.QueuePolicy("queue", queue_url="https://sqs/q", policy=document, opts=at(tier))
        elif kind == "topic":
            aws.sns.TopicPolicy("topic", arn="arn:aws:sns:eu-west-1:333333333333:t", policy=document, opts=at(tier))
        elif kind == "key":
            aws.kms.Key("key", enable_key_rotation=True, policy=document, opts=at(tier, protect=True))
        elif kind == "role":
            aws.iam.Role("role", assume_role_policy=document, opts=at(tier))
        elif kind == "secret":
            aws.secretsmanager.SecretPolicy("secret", secret_arn="arn:secret", policy=document, opts=at(tier))
    return program


KINDS = ["queue", "topic", "key", "role", "secret"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("statement", [
    {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage"},
    {"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage",
     "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:events:eu-west-1:333333333333:rule/r"}}},
    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sqs:SendMessage",
     "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abcdef1234"}}},
    {"Effect": "Deny", "Principal": "*", "Action": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
], ids=["service", "pinned-source", "pinned-organization", "deny"])
def test_pinned_or_named_principals_are_not_public(kind: str, statement: dict[str, Any]) -> None:
    assert PUBLIC not in judge(resource_policy(kind, statement), stack="artifact").mandatory


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("statement", [
    {"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage"},
    {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::*:root"]}, "Action": "sqs:SendMessage"},
    {"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::333333333333:root"}, "Action": "sqs:SendMessage"},
    {"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage",
     "Condition": {"StringLike": {"aws:PrincipalArn": "*"}}},
], ids=["star", "every-account", "not-principal", "wildcard-condition"])
def test_policies_open_to_everyone_are_blocked_in_every_tier(kind: str, statement: dict[str, Any]) -> None:
    assert PUBLIC in judge(resource_policy(kind, statement), stack="artifact").mandatory
    assert PUBLIC in judge(resource_policy(kind, statement, tier="dev"), stack="dev").advisory


def test_an_event_bus_open_to_every_account_is_blocked() -> None:
    def program(at: At) -> None:
        aws.cloudwatch.EventPermission("open", principal="*", statement_id="open", opts=at("ops"))
    assert PUBLIC in judge(program, stack="ops").mandatory


def test_the_permissions_boundary_may_reach_every_platform_key_but_no_other_policy_may() -> None:
    wildcard_keys = {"Effect": "Allow", "Action": "kms:*", "Resource": "arn:aws:kms:*:888888888888:key/*"}

    def managed(name: str) -> Any:
        def program(at: At) -> None:
            aws.iam.Policy("managed", name=name, policy=doc(wildcard_keys), opts=at("org"))
        return program

    from mlops_platform import contract
    assert "iam-no-wildcard-kms-decrypt" not in judge(managed(contract.permissions_boundary_name()),
                                                      stack="org").mandatory
    assert "iam-no-wildcard-kms-decrypt" in judge(managed("mlops-platform-other"), stack="org").mandatory


def test_the_taggable_types_table_is_the_installed_pulumi_aws() -> None:
    """The pack reads which types take tags from a table; it must be what the installed pulumi-aws says, both by
    its own scan and by the resource classes' signatures."""
    import importlib
    import inspect
    import json

    from guardrails import taggable_types

    table = json.loads(taggable_types.TABLE.read_text())
    assert table == taggable_types.scan_pulumi_aws(), "regenerate: cd policies && python -m guardrails.taggable_types"
    for token, expected in (("aws:s3/bucket:Bucket", True), ("aws:s3/bucketPolicy:BucketPolicy", False),
                            ("aws:sagemaker/endpoint:Endpoint", True), ("aws:iam/rolePolicy:RolePolicy", False),
                            ("aws:lambda/function:Function", True), ("aws:sqs/queuePolicy:QueuePolicy", False)):
        _, module, name = token.split(":")
        package = module.split("/")[0].replace("lambda", "lambda_")
        args_class = getattr(importlib.import_module(f"pulumi_aws.{package}"), f"{name}Args")
        assert ("tags" in inspect.signature(args_class.__init__).parameters) is expected, token
        assert taggable_types.taggable(token) is expected, token
    assert taggable_types.taggable("aws:nothing/none:None") is None
    assert taggable_types.taggable("random:index/randomId:RandomId") is False
