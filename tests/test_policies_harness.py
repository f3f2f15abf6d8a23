"""The harness the policy tests share, and tests of the pack's own machinery: every rule is judged through the
real analyzer protocol (the pack started as the CLI starts it), on small programs captured by the mock engine.

`judge(program)` captures a program whose resources are built under tier components (`at("prod")` gives the
options: parent = the prod tier's component, deploying through a provider into the prod tier's account with
the platform's default tags), runs the pack over it, and returns the verdicts.
"""

from __future__ import annotations

import asyncio
import atexit
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from mlops_platform import contract, topology
from mlops_platform.offline.analyzer import PolicyAnalyzer, Violation
from mlops_platform.offline.capture import CapturedStack, capture_stack
from mlops_platform.tiers.context import TierComponent

ROOT = Path(__file__).resolve().parent.parent
REGION = "eu-west-1"
ACCOUNTS: Mapping[str, Mapping[str, str]] = {
    "small": {"workload": "111111111111"},
    "medium": {"management": "111111111111", "dev": "666666666666", "staging": "777777777777",
               "prod": "888888888888"},
    "large": {"management": "111111111111", "data": "222222222222", "artifact": "333333333333",
              "cicd": "444444444444", "ops": "555555555555", "dev": "666666666666", "staging": "777777777777",
              "prod": "888888888888"},
}
LARGE = ACCOUNTS["large"]
PIPELINE_ROLE = contract.deploy_pipeline_role_arn("aws", LARGE["cicd"])
BOOTSTRAP_ROLE = contract.bootstrap_role_arn("aws", LARGE["management"])

_running: dict[str, PolicyAnalyzer] = {}


CI_REPOSITORY = "example-org/mlops-platform"


def platform_config(size: str) -> dict[str, str]:
    """The shared configuration the pack reads from PULUMI_CONFIG; "unconfigured" hands it none; "<size>+ci" adds
    `ci.github.repository` (CI's OIDC identities exist)."""
    if size == "unconfigured":
        return {}
    size, _, variant = size.partition("+")
    config = {"mlops-platform:size": size, "mlops-platform:accounts": json.dumps(ACCOUNTS[size]),
              "mlops-platform:deployRoleName": "mlops-platform-deploy", "mlops-platform:region": REGION}
    if variant == "ci":
        config["mlops-platform:ci"] = json.dumps({"github": {"repository": CI_REPOSITORY}})
    return config


def analyzer(config: str = "large") -> PolicyAnalyzer:
    """One running pack per configuration, shared by every policy test of the session."""
    if config not in _running:
        running = PolicyAnalyzer(ROOT / "policies", config=platform_config(config))
        running.start()
        atexit.register(running.close)
        _running[config] = running
    return _running[config]


def account_of(size: str, tier: str) -> str:
    """The account hosting `tier` in `size` (a size without the tier: its first account)."""
    if tier not in topology.tiers(topology.Size(size)):
        return next(iter(ACCOUNTS[size].values()))
    return ACCOUNTS[size][topology.stack_hosting(topology.Size(size), tier).account]


class At:
    """Resource options placing a resource in a tier: under the tier's component, through a provider into the
    tier's account that carries the platform's default tags."""

    def __init__(self, size: str, stack: str, tags: Mapping[str, str] | None) -> None:
        self.size = size
        self.stack = stack
        self.tags = tags
        self._components: dict[str, TierComponent] = {}

    def __call__(self, tier: str, **options: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self.component(tier), **options)

    def component(self, tier: str) -> TierComponent:
        if tier not in self._components:
            self._components[tier] = TierComponent(tier, self.provider(tier, account_of(self.size, tier)))
        return self._components[tier]

    def provider(self, tier: str, account: str, name: str | None = None) -> aws.Provider:
        tags = dict(self.tags) if self.tags is not None else default_tags(tier, self.stack, self.size)
        return aws.Provider(name or tier, region=REGION, allowed_account_ids=[account],
                            default_tags=aws.ProviderDefaultTagsArgs(tags=tags))

    def into(self, tier: str, account: str, **options: Any) -> pulumi.ResourceOptions:
        """Under `tier`'s component, but deploying into `account` (as the org stack does for member accounts)."""
        provider = self.provider(tier, account, name=f"{tier}-into-{account}")
        return pulumi.ResourceOptions(parent=self.component(tier), provider=provider, **options)


def default_tags(tier: str, stack: str, size: str = "large") -> dict[str, str]:
    return {contract.TAG_TIER: tier, contract.TAG_SIZE: size, contract.TAG_STACK: stack,
            contract.TAG_OWNER: "platform-team", contract.TAG_MANAGED_BY: contract.MANAGED_BY}


@dataclass(frozen=True)
class Verdicts:
    violations: list[Violation]

    def of(self, level: str) -> set[str]:
        return {v.policy for v in self.violations if v.level == level}

    @property
    def mandatory(self) -> set[str]:
        return self.of("mandatory")

    @property
    def advisory(self) -> set[str]:
        return {v.policy for v in self.violations if v.level == "advisory" and "can't run policy" not in v.message}

    @property
    def undecided(self) -> set[str]:
        """Policies that said, as advisory, that they could not decide."""
        return {v.policy for v in self.violations if v.level == "advisory" and "can't run policy" in v.message}

    def messages(self, policy: str) -> list[str]:
        return [v.message for v in self.violations if v.policy == policy]

    def urns(self, policy: str) -> set[str]:
        return {v.urn for v in self.violations if v.policy == policy}


Program = Callable[[At], None]


def capture(program: Program, stack: str = "prod", size: str = "large",
            tags: Mapping[str, str] | None = None) -> CapturedStack:
    at = At(size, stack, tags)
    return capture_stack(lambda: program(at), stack=stack, config={}, stack_outputs={}, default_region=REGION)


def judge(program: Program, stack: str = "prod", config: str = "large", size: str | None = None,
          tags: Mapping[str, str] | None = None) -> Verdicts:
    size = size or (config.partition("+")[0] if config != "unconfigured" else "large")
    return Verdicts(analyzer(config).analyze(capture(program, stack, size, tags)))


def unknown() -> pulumi.Output[Any]:
    """A value the engine does not know during a preview (as an output of a resource yet to be created)."""
    loop = asyncio.get_event_loop()
    value: asyncio.Future[Any] = loop.create_future()
    value.set_result(None)
    known: asyncio.Future[bool] = loop.create_future()
    known.set_result(False)
    return pulumi.Output(set(), value, known)


def doc(*statements: Mapping[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def trust(principal: Any) -> str:
    return doc({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"})


# --- the pack's machinery ---------------------------------------------------------------------------------


def test_every_rule_is_a_mandatory_policy_and_advisory_twins_exist_only_for_dev_advice() -> None:
    from guardrails.catalog import RULES
    from guardrails.framework import DevMode

    info = {p.name: p.level for p in analyzer().info()}
    for rule in RULES:
        assert info[rule.name] == "mandatory", rule.name
        assert (info.get(rule.name + "-dev") == "advisory") == (rule.dev is DevMode.ADVISORY), rule.name
    assert len(info) == sum(2 if rule.dev is DevMode.ADVISORY else 1 for rule in RULES)


def test_a_rule_judges_each_tier_at_its_level() -> None:
    def program(at: At) -> None:
        for tier in ("dev", "artifact", "prod"):
            aws.ecr.Repository(f"{tier}-images", image_tag_mutability="MUTABLE",
                               image_scanning_configuration={"scan_on_push": True},
                               encryption_configurations=[{"encryption_type": "KMS", "kms_key": "arn:k"}],
                               opts=at(tier, protect=True))

    verdicts = judge(program, stack="dev")
    assert verdicts.urns("ecr-immutable-tags") == {
        f"urn:pulumi:dev::mlops-platform::mlops:tier:{tier}$aws:ecr/repository:Repository::{tier.lower()}-images"
        for tier in ("Artifact", "Prod")}
    assert verdicts.urns("ecr-immutable-tags-dev") == {
        "urn:pulumi:dev::mlops-platform::mlops:tier:Dev$aws:ecr/repository:Repository::dev-images"}


def test_a_resources_tier_falls_back_to_its_providers_tag_then_to_the_stack() -> None:
    def program(at: At) -> None:
        dev_provider = at.provider("dev", LARGE["dev"], name="tagged-dev")
        aws.ecr.Repository("tagged", opts=pulumi.ResourceOptions(provider=dev_provider, protect=True))

    assert "ecr-scan-on-push-dev" in judge(program, stack="prod").advisory
    assert "ecr-scan-on-push" not in judge(program, stack="prod").mandatory

    def untagged(at: At) -> None:
        aws.ecr.Repository("loose", opts=pulumi.ResourceOptions(protect=True))

    assert "ecr-scan-on-push-dev" in judge(untagged, stack="dev").advisory
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
    policies = {policy.name: policy for rule in RULES for policy in rule.policies()}
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
        expected = {DevMode.ADVISORY: f"advisory (`{rule.name}-dev`)", DevMode.MANDATORY: "mandatory"}
        assert dev.startswith(expected.get(rule.dev, "not checked")), rule.name
