"""Storage and keys: S3 buckets (KMS, public access, versioning, ownership, TLS-only, access logs), KMS key
rotation, ECR repositories (scan on push, immutable tags, KMS)."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from tests.policies.policy_harness import At, doc, judge, unknown
from tests.policies.policy_harness import tls_only as harness_tls_only

KEY = "arn:aws:kms:eu-west-1:333333333333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
S3_RULES = {"s3-bucket-kms-encryption", "s3-bucket-public-access-blocked", "s3-bucket-versioning",
            "s3-bucket-ownership-enforced", "s3-bucket-tls-only", "s3-bucket-access-logging"}


def tls_only(arn: Any) -> dict[str, Any]:
    return {"Sid": "DenyInsecureTransport", **harness_tls_only(arn)}


def secure_bucket(name: str, at: At, tier: str, *, kms: bool = True, log_to: Any = None, skip: str = "",
                  **overrides: Any) -> aws.s3.Bucket:
    """A bucket with the companions SecureBucket gives it; `skip` leaves one out, `overrides` change one."""
    bucket = aws.s3.Bucket(name, opts=at(tier, protect=True))
    child = at(tier)
    if skip != "versioning":
        aws.s3.BucketVersioning(name, bucket=bucket.id, opts=child, versioning_configuration=overrides.get(
            "versioning", {"status": "Enabled"}))
    if skip != "encryption":
        default = {"sse_algorithm": "aws:kms", "kms_master_key_id": KEY} if kms else {"sse_algorithm": "AES256"}
        aws.s3.BucketServerSideEncryptionConfiguration(name, bucket=bucket.id, opts=child, rules=[{
            "apply_server_side_encryption_by_default": overrides.get("encryption", default)}])
    if skip != "public-access":
        flags = {"block_public_acls": True, "block_public_policy": True, "ignore_public_acls": True,
                 "restrict_public_buckets": True, **overrides.get("public_access", {})}
        aws.s3.BucketPublicAccessBlock(name, bucket=bucket.id, opts=child, **flags)
    if skip != "ownership":
        aws.s3.BucketOwnershipControls(name, bucket=bucket.id, opts=child, rule={
            "object_ownership": overrides.get("ownership", "BucketOwnerEnforced")})
    if skip != "policy":
        statement = overrides.get("tls")
        aws.s3.BucketPolicy(name, bucket=bucket.id, opts=child, policy=bucket.arn.apply(
            lambda arn: doc(statement or tls_only(arn))))
    if log_to is not None and skip != "logging":
        aws.s3.BucketLogging(name, bucket=bucket.id, target_bucket=log_to, target_prefix=f"{name}/", opts=child)
    return bucket


def buckets(tier: str = "artifact", **data_bucket: Any) -> Any:
    def program(at: At) -> None:
        logs = secure_bucket("access-logs", at, tier, kms=False)
        secure_bucket("models", at, tier, log_to=logs.bucket, **data_bucket)
    return program


def test_buckets_as_secure_bucket_builds_them_pass() -> None:
    verdicts = judge(buckets(), stack="artifact")
    assert not S3_RULES & (verdicts.mandatory | verdicts.undecided)


@pytest.mark.parametrize("data_bucket, rule", [
    ({"skip": "encryption"}, "s3-bucket-kms-encryption"),
    ({"encryption": {"sse_algorithm": "AES256"}}, "s3-bucket-kms-encryption"),
    ({"encryption": {"sse_algorithm": "aws:kms"}}, "s3-bucket-kms-encryption"),
    ({"skip": "public-access"}, "s3-bucket-public-access-blocked"),
    ({"public_access": {"restrict_public_buckets": False}}, "s3-bucket-public-access-blocked"),
    ({"skip": "versioning"}, "s3-bucket-versioning"),
    ({"versioning": {"status": "Suspended"}}, "s3-bucket-versioning"),
    ({"skip": "ownership"}, "s3-bucket-ownership-enforced"),
    ({"ownership": "ObjectWriter"}, "s3-bucket-ownership-enforced"),
    ({"skip": "policy"}, "s3-bucket-tls-only"),
    ({"tls": {**tls_only("arn:aws:s3:::models"), "Effect": "Allow"}}, "s3-bucket-tls-only"),
    ({"tls": {**tls_only("arn:aws:s3:::models"), "Condition": {}}}, "s3-bucket-tls-only"),
    ({"tls": {**tls_only("arn:aws:s3:::models"), "Principal": {"AWS": "arn:aws:iam::1:root"}}},
     "s3-bucket-tls-only"),
    ({"tls": {**tls_only("arn:aws:s3:::models"), "Action": "s3:GetObject"}}, "s3-bucket-tls-only"),
    ({"skip": "logging"}, "s3-bucket-access-logging"),
], ids=["no-encryption", "sse-s3", "aws-managed-key", "no-public-access-block", "public-access-partly",
        "no-versioning", "versioning-suspended", "no-ownership", "acls-on", "no-policy", "allow-not-deny",
        "no-secure-transport-condition", "deny-only-one-account", "deny-only-reads", "no-logging"])
def test_bucket_weaknesses_are_blocked_in_enforced_tiers(data_bucket: dict[str, Any], rule: str) -> None:
    verdicts = judge(buckets(**data_bucket), stack="artifact")
    assert rule in verdicts.mandatory
    assert any(urn.endswith("::models") for urn in verdicts.urns(rule))


def test_tls_deny_that_misses_the_objects_is_blocked() -> None:
    def program(at: At) -> None:
        logs = secure_bucket("access-logs", at, "artifact", kms=False)
        bucket = aws.s3.Bucket("models", opts=at("artifact", protect=True))
        aws.s3.BucketPolicy("models", bucket=bucket.id, opts=at("artifact"), policy=bucket.arn.apply(
            lambda arn: doc({**tls_only(arn), "Resource": arn})))
        aws.s3.BucketLogging("models", bucket=bucket.id, target_bucket=logs.bucket, target_prefix="models/",
                             opts=at("artifact"))
    assert "s3-bucket-tls-only" in judge(program, stack="artifact").mandatory


def test_the_access_log_bucket_must_use_sse_s3_and_needs_no_log_of_its_own() -> None:
    verdicts = judge(buckets(), stack="artifact")
    assert not any(urn.endswith("::access-logs") for urn in verdicts.urns("s3-bucket-access-logging"))

    def kms_log_bucket(at: At) -> None:
        logs = secure_bucket("access-logs", at, "artifact")
        secure_bucket("models", at, "artifact", log_to=logs.bucket)
    assert any(urn.endswith("::access-logs") for urn in
               judge(kms_log_bucket, stack="artifact").urns("s3-bucket-kms-encryption"))


def test_bucket_weaknesses_in_dev_are_advice() -> None:
    verdicts = judge(buckets("dev", skip="versioning"), stack="dev")
    assert "s3-bucket-versioning" in verdicts.advisory
    assert "s3-bucket-versioning" not in verdicts.mandatory


def test_inline_bucket_settings_count_too() -> None:
    def program(at: At) -> None:
        aws.s3.Bucket("legacy", opts=at("artifact", protect=True), versioning={"enabled": True},
                      server_side_encryption_configuration={"rule": {"apply_server_side_encryption_by_default": {
                          "sse_algorithm": "aws:kms", "kms_master_key_id": KEY}}},
                      logging={"target_bucket": "access-logs"},
                      policy=doc(tls_only("*")))
    verdicts = judge(program, stack="artifact")
    assert not {"s3-bucket-versioning", "s3-bucket-kms-encryption", "s3-bucket-tls-only"} & verdicts.mandatory


# --- KMS -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("settings, violates", [
    ({"enable_key_rotation": True}, False),
    ({"enable_key_rotation": False}, True),
    ({}, True),
    ({"customer_master_key_spec": "RSA_2048", "key_usage": "SIGN_VERIFY"}, False),
    ({"customer_master_key_spec": "HMAC_256", "key_usage": "GENERATE_VERIFY_MAC"}, False),
], ids=["rotating", "rotation-off", "rotation-unset", "asymmetric", "hmac"])
def test_symmetric_keys_rotate(settings: dict[str, Any], violates: bool) -> None:
    def program(at: At) -> None:
        aws.kms.Key("key", opts=at("prod", protect=True), **settings)
    assert ("kms-key-rotation" in judge(program).mandatory) == violates


# --- ECR -------------------------------------------------------------------------------------------------

ECR_RULES = {"ecr-scan-on-push", "ecr-immutable-tags", "ecr-kms-encryption"}


def repository(**overrides: Any) -> Any:
    settings = {"image_tag_mutability": "IMMUTABLE", "image_scanning_configuration": {"scan_on_push": True},
                "encryption_configurations": [{"encryption_type": "KMS", "kms_key": KEY}], **overrides}

    def program(at: At) -> None:
        aws.ecr.Repository("images", name="mlops-platform/churn", opts=at("artifact", protect=True), **settings)
    return program


def test_a_repository_as_the_platform_builds_it_passes() -> None:
    assert not ECR_RULES & judge(repository(), stack="artifact").mandatory


@pytest.mark.parametrize("overrides, rule", [
    ({"image_scanning_configuration": {"scan_on_push": False}}, "ecr-scan-on-push"),
    ({"image_scanning_configuration": None}, "ecr-scan-on-push"),
    ({"image_tag_mutability": "MUTABLE"}, "ecr-immutable-tags"),
    ({"image_tag_mutability": None}, "ecr-immutable-tags"),
    ({"encryption_configurations": None}, "ecr-kms-encryption"),
    ({"encryption_configurations": [{"encryption_type": "AES256"}]}, "ecr-kms-encryption"),
    ({"encryption_configurations": [{"encryption_type": "KMS"}]}, "ecr-kms-encryption"),
])
def test_repository_weaknesses_are_blocked(overrides: dict[str, Any], rule: str) -> None:
    assert rule in judge(repository(**overrides), stack="artifact").mandatory


def test_an_unknown_key_is_undecided_not_passed() -> None:
    def program(at: At) -> None:
        key: Any = unknown()
        aws.ecr.Repository("images", image_tag_mutability="IMMUTABLE", opts=at("artifact", protect=True),
                           image_scanning_configuration={"scan_on_push": True},
                           encryption_configurations=[pulumi.Output.from_input(key).apply(
                               lambda k: {"encryption_type": "KMS", "kms_key": k})])
    verdicts = judge(program, stack="artifact")
    assert "ecr-kms-encryption" in verdicts.undecided and "ecr-kms-encryption" not in verdicts.mandatory
