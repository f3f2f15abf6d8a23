"""Tests of the policy pack's own machinery, judged through the shared harness (`tests/policies/policy_harness.py`): the
real analyzer protocol, on small programs captured by the mock engine."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from tests.policies.policy_harness import ACCOUNTS, BOOTSTRAP_ROLE, LARGE, PIPELINE_ROLE, At, analyzer, judge, unknown


def test_every_rule_is_one_mandatory_policy() -> None:
    from guardrails.catalog import RULES

    info = {p.name: p.level for p in analyzer().info()}
    assert info == {rule.name: "mandatory" for rule in RULES}


def test_a_rule_judges_each_tier_at_its_level() -> None:
    def program(at: At) -> None:
        for tier in ("dev", "artifact", "prod"):
            aws.ecr.Repository(f"{tier}-images", image_tag_mutability="MUTABLE",
                               image_scanning_configuration={"scan_on_push": True},
                               encryption_configurations=[{"encryption_type": "KMS", "kms_key": "arn:k"}],
                               opts=at(tier, protect=True))

    verdicts = judge(program, stack="dev")
    assert verdicts.urns("ecr-immutable-tags", "mandatory") == {
        f"urn:pulumi:dev::mlops-platform::mlops:tier:{tier}$aws:ecr/repository:Repository::{tier.lower()}-images"
        for tier in ("Artifact", "Prod")}
    assert verdicts.urns("ecr-immutable-tags", "advisory") == {
        "urn:pulumi:dev::mlops-platform::mlops:tier:Dev$aws:ecr/repository:Repository::dev-images"}
    assert len([v for v in verdicts.violations if v.policy == "ecr-immutable-tags"]) == 3, "one verdict each"


def test_a_resources_tier_falls_back_to_its_providers_tag_then_to_the_stack() -> None:
    def program(at: At) -> None:
        dev_provider = at.provider("dev", LARGE["dev"], name="tagged-dev")
        aws.ecr.Repository("tagged", opts=pulumi.ResourceOptions(provider=dev_provider, protect=True))

    assert "ecr-scan-on-push" in judge(program, stack="prod").advisory
    assert "ecr-scan-on-push" not in judge(program, stack="prod").mandatory

    def untagged(at: At) -> None:
        aws.ecr.Repository("loose", opts=pulumi.ResourceOptions(protect=True))

    assert "ecr-scan-on-push" in judge(untagged, stack="dev").advisory
    assert "ecr-scan-on-push" in judge(untagged, stack="sandbox").mandatory, "unknown tier: enforced"


def test_a_stack_check_judges_every_subject_even_when_one_is_unknown() -> None:
    def program(at: At) -> None:
        aws.s3.Bucket("known", opts=at("artifact", protect=True))
        bucket = aws.s3.Bucket("undecidable", opts=at("artifact", protect=True))
        aws.s3.BucketVersioning("undecidable", bucket=bucket.id, versioning_configuration=unknown(),
                                opts=at("artifact"))

    verdicts = judge(program, stack="artifact")
    assert any(urn.endswith("::known") for urn in verdicts.urns("s3-bucket-versioning"))
    undecided = [v for v in verdicts.violations if v.policy == "s3-bucket-versioning" and v.level == "advisory"]
    assert len(undecided) == 1 and "can't run policy" in undecided[0].message
    assert "undecidable" in undecided[0].message, "the advisory names what could not be decided"


def test_an_unknown_resource_input_is_reported_as_advisory_not_passed() -> None:
    def program(at: At) -> None:
        aws.ecr.Repository("images", image_tag_mutability=unknown(),
                           image_scanning_configuration={"scan_on_push": True},
                           encryption_configurations=[{"encryption_type": "KMS", "kms_key": "arn:k"}],
                           opts=at("prod", protect=True))

    verdicts = judge(program)
    assert "ecr-immutable-tags" in verdicts.undecided
    assert "ecr-immutable-tags" not in verdicts.mandatory


def test_policy_tags_carry_the_security_hub_controls() -> None:
    from guardrails.catalog import RULES

    by_name = {rule.name: rule for rule in RULES}
    assert by_name["iam-no-wildcard-kms-decrypt"].security_hub_ids == ["KMS.1", "KMS.2"]
    policies = {rule.name: rule.policy() for rule in RULES}
    assert policies["kms-key-rotation"].tags == ["security-hub:KMS.4"]
    assert policies["sagemaker-studio-vpc-only"].tags is None


@pytest.mark.parametrize("config, expected", [
    ({}, None),
    ({"mlops-platform:accounts": json.dumps(LARGE)}, "large"),
    ({"mlops-platform:accounts": json.dumps(ACCOUNTS["small"]), "mlops-platform:size": "small"}, "small"),
    ({"mlops-platform:accounts": json.dumps({"workload": "12"})}, None),
    ({"mlops-platform:accounts": json.dumps(LARGE), "mlops-platform:size": "small"}, None),
])
def test_the_pack_reads_the_platform_from_the_stack_configuration(config: dict[str, str],
                                                                  expected: str | None) -> None:
    from guardrails.platform import parse_platform

    known = parse_platform(config)
    assert (known.size.value if known.configured and known.size else None) == expected
    if expected is None:
        assert known.problem
    if expected == "large":
        assert known.deploy_path_roles() == {PIPELINE_ROLE, BOOTSTRAP_ROLE}
        assert known.tiers_in_account(LARGE["prod"]) == {"prod"}


def test_the_readme_table_lists_every_rule_in_catalog_order_with_its_controls_and_dev_level() -> None:
    from guardrails.catalog import RULES
    from guardrails.framework import DevMode

    from tests.test_readme import table_after

    rows = table_after("## The policy pack")
    assert [row[0].strip("`") for row in rows] == [rule.name for rule in RULES]
    for (_, what, hub, dev), rule in zip(rows, RULES, strict=True):
        assert what == rule.description, rule.name
        assert hub == (rule.security_hub or "—"), rule.name
        expected = {DevMode.ADVISORY: "advisory", DevMode.MANDATORY: "mandatory"}
        assert dev.startswith(expected.get(rule.dev, "not checked")), rule.name


def test_stack_lookups_by_index_equal_a_scan_of_the_stack() -> None:
    """The stack view indexes resources by type and reference once; its answers are a full scan's, in stack order."""
    from guardrails.framework import StackView, refers_to
    from pulumi_policy import PolicyCustomTimeouts, PolicyResource, PolicyResourceOptions

    def resource(kind: str, name: str, **props: Any) -> PolicyResource:
        options = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)
        return PolicyResource(kind, props, f"urn:pulumi:prod::p::{kind}::{name}", name, options, None, None, [], {})

    bucket_type, policy_type, logging_type = ("aws:s3/bucket:Bucket", "aws:s3/bucketPolicy:BucketPolicy",
                                              "aws:s3/bucketLogging:BucketLogging")
    buckets = [resource(bucket_type, f"b{index}", bucket=f"bucket-{index}") for index in range(6)]
    by_value = [resource(policy_type, f"p{index}", bucket=f"bucket-{index % 3}") for index in range(6)]
    by_dependency = [resource(logging_type, f"l{index}") for index in range(4)]
    for index, logging in enumerate(by_dependency):
        logging.property_dependencies["bucket"] = [buckets[index % 2]]
    stack = StackView([item for group in zip(buckets, by_value, strict=True) for item in group] + by_dependency)
    for bucket in buckets:
        for types in ([policy_type], [logging_type], [policy_type, logging_type], [bucket_type]):
            names = {bucket.props["bucket"]}
            scanned = [r for r in stack.resources if r.resource_type in types and refers_to(r, "bucket", bucket, names)]
            assert stack.referrers(types, "bucket", bucket, names) == scanned
            assert stack.referrers(types, "bucket", bucket) == [
                r for r in stack.resources if r.resource_type in types and refers_to(r, "bucket", bucket, set())]
    assert stack.of_type(policy_type, bucket_type) == [r for r in stack.resources
                                                       if r.resource_type in (policy_type, bucket_type)]
    assert stack.referrers([policy_type], "bucket", buckets[0], {"bucket-0"}) == [by_value[0], by_value[3]]
