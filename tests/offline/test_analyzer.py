"""The policy pack through its real gRPC analyzer protocol: started as the CLI starts it, judged per tier."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pytest

from mlops_platform.offline.analyzer import PolicyAnalyzer, Violation
from mlops_platform.offline.capture import CapturedStack, capture_stack
from mlops_platform.offline.preview import Preview
from mlops_platform.tiers.context import TierComponent

ROOT = Path(__file__).resolve().parents[2]
RULES = ("s3-bucket-kms-encryption", "s3-bucket-public-access-blocked", "s3-bucket-versioning",
         "s3-bucket-ownership-enforced", "s3-bucket-tls-only", "s3-bucket-access-logging", "kms-key-rotation",
         "stateful-resources-protected")
BARE_BUCKET_RULES = {"s3-bucket-kms-encryption", "s3-bucket-public-access-blocked", "s3-bucket-versioning",
                     "s3-bucket-ownership-enforced", "s3-bucket-tls-only", "s3-bucket-access-logging",
                     "stateful-resources-protected"}


@pytest.fixture(scope="module")
def analyzer() -> Iterator[PolicyAnalyzer]:
    with PolicyAnalyzer(ROOT / "policies") as running:
        yield running


def capture_bare_bucket(tier: str, stack: str, protect: bool = False, rotate_key: bool = True) -> CapturedStack:
    """A tier whose only content is a bucket with none of SecureBucket's safeguards, and a KMS key."""

    def program() -> None:
        tags = {"mlops:tier": tier, "mlops:size": "large", "mlops:stack": stack, "mlops:owner": "platform-team",
                "managed-by": "pulumi/mlops-platform"}
        provider = aws.Provider(tier, region="eu-west-1", allowed_account_ids=["333333333333"],
                                default_tags=aws.ProviderDefaultTagsArgs(tags=tags))
        component = TierComponent(tier, provider)
        aws.s3.Bucket("bare", opts=pulumi.ResourceOptions(parent=component, protect=protect))
        aws.kms.Key("key", enable_key_rotation=rotate_key,
                    opts=pulumi.ResourceOptions(parent=component, protect=protect))

    return capture_stack(program, stack=stack, config={}, stack_outputs={}, default_region="eu-west-1")


def policies_of(violations: list[Violation], level: str) -> set[str]:
    return {v.policy for v in violations if v.level == level}


def test_pack_lists_every_rule_once_as_a_mandatory_policy(analyzer: PolicyAnalyzer) -> None:
    info = {p.name: p.level for p in analyzer.info()}
    for rule in RULES:
        assert info[rule] == "mandatory"
    assert not [name for name in info if name.endswith("-dev")], "no dev twins: the level is per verdict"


def test_a_bare_bucket_in_an_enforced_tier_breaks_every_bucket_rule(analyzer: PolicyAnalyzer) -> None:
    violations = analyzer.analyze(capture_bare_bucket("artifact", "artifact"))
    assert policies_of(violations, "mandatory") == BARE_BUCKET_RULES
    assert policies_of(violations, "advisory") == set()
    bucket_urn = "urn:pulumi:artifact::mlops-platform::mlops:tier:Artifact$aws:s3/bucket:Bucket::bare"
    assert {v.urn for v in violations if v.policy.startswith("s3-")} == {bucket_urn}
    message = next(v.message for v in violations if v.policy == "s3-bucket-versioning")
    assert "versioning is not enabled" in message


def test_the_same_bucket_in_dev_is_only_advised_against(analyzer: PolicyAnalyzer) -> None:
    violations = analyzer.analyze(capture_bare_bucket("dev", "dev"))
    assert policies_of(violations, "mandatory") == set()
    assert policies_of(violations, "advisory") == BARE_BUCKET_RULES - {"stateful-resources-protected"}, (
        "dev lets go of state on purpose")


def test_a_platform_tier_inside_the_dev_stack_is_still_enforced(analyzer: PolicyAnalyzer) -> None:
    violations = analyzer.analyze(capture_bare_bucket("artifact", "dev"))
    assert policies_of(violations, "mandatory") == BARE_BUCKET_RULES


def test_key_rotation_off_is_a_mandatory_violation(analyzer: PolicyAnalyzer) -> None:
    violations = analyzer.analyze(capture_bare_bucket("prod", "prod", protect=True, rotate_key=False))
    rotation = [v for v in violations if v.policy == "kms-key-rotation"]
    assert [v.level for v in rotation] == ["mandatory"]
    assert rotation[0].urn.endswith("$aws:kms/key:Key::key")
    assert "stateful-resources-protected" not in policies_of(violations, "mandatory")


def test_a_resource_outside_any_tier_in_an_unknown_stack_is_enforced(analyzer: PolicyAnalyzer) -> None:
    def program() -> None:
        aws.kms.Key("loose", enable_key_rotation=False)

    violations = analyzer.analyze(capture_stack(program, stack="sandbox", config={}, stack_outputs={},
                                                default_region="eu-west-1"))
    assert {"kms-key-rotation", "stateful-resources-protected"} <= policies_of(violations, "mandatory")


def test_policy_config_reaches_the_pack(analyzer: PolicyAnalyzer) -> None:
    stack = capture_bare_bucket("artifact", "artifact")
    violations = analyzer.analyze(stack, {"s3-bucket-versioning": {"enforcementLevel": "disabled"}})
    assert "s3-bucket-versioning" not in policies_of(violations, "mandatory")
    assert "s3-bucket-tls-only" in policies_of(violations, "mandatory")
    assert "s3-bucket-versioning" in policies_of(analyzer.analyze(stack), "mandatory"), "config is per call"


@pytest.mark.parametrize("serving", (False, True), ids=("new-account", "after-first-approval"))
@pytest.mark.parametrize("size", ("small", "medium", "large"))
def test_shipped_stacks_have_no_violation_at_all(size: str, serving: bool,
                                                 shipped_preview: Callable[..., Preview]) -> None:
    preview = shipped_preview(size, serving)
    assert preview.policies, "the pack answered"
    for stack in preview.stacks:
        assert stack.violations == [], stack.name
