"""The harness every policy test shares: each rule is judged through the real analyzer protocol (the pack started
as the CLI starts it), on small programs captured by the mock engine.

`judge(program)` captures a program whose resources are built under tier components (`at("prod")` gives the
options: parent = the prod tier's component, deploying through a provider into the prod tier's account with
the platform's default tags), runs the pack over it, and returns the verdicts.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_platform import contract, topology
from mlops_platform.offline.analyzer import PolicyAnalyzer, Violation
from mlops_platform.offline.capture import CapturedStack, capture_stack
from mlops_platform.tiers.context import TierComponent

ROOT = Path(__file__).resolve().parents[2]
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
IMAGED_USE_CASES: list[dict[str, Any]] = [{"name": "churn", "image": {"context": "images/churn"}}, {"name": "fraud"}]
"""With "<size>+images": the use cases the pack is handed, as a `pulumi up` of one stack hands them (churn has
its own image, fraud has none)."""


def platform_config(size: str) -> dict[str, str]:
    """The shared configuration the pack reads from PULUMI_CONFIG; "unconfigured" hands it none; "<size>+ci" adds
    `ci.github.repository` (CI's OIDC identities exist); "<size>+images" adds `useCases` (IMAGED_USE_CASES)."""
    if size == "unconfigured":
        return {}
    size, _, variant = size.partition("+")
    config = {"mlops-platform:size": size, "mlops-platform:accounts": json.dumps(ACCOUNTS[size]),
              "mlops-platform:deployRoleName": "mlops-platform-deploy", "mlops-platform:region": REGION}
    if variant == "ci":
        config["mlops-platform:ci"] = json.dumps({"github": {"repository": CI_REPOSITORY}})
    if variant == "images":
        config["mlops-platform:useCases"] = json.dumps(IMAGED_USE_CASES)
    return config


def analyzer(config: str = "large") -> PolicyAnalyzer:
    """One running pack per configuration, shared by every policy test of the session."""
    if config not in _running:
        running = PolicyAnalyzer(ROOT / "policies", config=platform_config(config))
        running.start()
        _running[config] = running
    return _running[config]


def close_all() -> None:
    """End every pack the session started (conftest's session fixture calls it: an xdist worker ends without
    running atexit handlers, which would leave its packs running)."""
    while _running:
        _running.popitem()[1].close()


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

    def urns(self, policy: str, level: str | None = None) -> set[str]:
        return {v.urn for v in self.violations if v.policy == policy and level in (None, v.level)}


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


def tls_only(arn: Any) -> dict[str, Any]:
    """The statement a bucket policy needs to refuse every request not made over TLS."""
    return {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [arn, f"{arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
