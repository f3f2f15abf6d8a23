"""Rules, and how each becomes two policies: mandatory for enforced tiers, advisory for dev.

A resource's tier comes, in order, from the tier component it is built under (`mlops:tier:<Tier>` in its
URN), from the `mlops:tier` default tag of the provider it deploys through, and from the stack's name
(stacks are named after tiers). A resource whose tier cannot be told is judged as enforced: forgetting
something never weakens production.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from mlops_platform import contract, topology

DEV_SUFFIX = "-dev"

ResourceCheck = Callable[["Subject"], Iterable[str]]
"""Yields one message per violation of the resource it is given."""
StackCheck = Callable[[list[PolicyResource]], Iterable[tuple[PolicyResource, str]]]
"""Yields (resource, message) per violation found among all of a stack's resources."""


@dataclass(frozen=True)
class Subject:
    """One resource as a resource rule sees it."""

    type: str
    urn: str
    name: str
    props: Mapping[str, Any]
    protect: bool


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    severity: Severity
    remediation: str
    security_hub: str | None = None
    resource_types: frozenset[str] | None = None
    resource_check: ResourceCheck | None = None
    stack_check: StackCheck | None = None
    advises_dev: bool = True
    """False for rules that hold only outside dev (e.g. protecting state that dev deliberately lets go)."""

    def policies(self) -> list[ResourceValidationPolicy | StackValidationPolicy]:
        """The rule as policies: `<name>` blocks in enforced tiers, `<name>-dev` advises in dev."""
        if not self.advises_dev:
            return [self._policy(enforced=True)]
        return [self._policy(enforced=True), self._policy(enforced=False)]

    def _policy(self, enforced: bool) -> ResourceValidationPolicy | StackValidationPolicy:
        name = self.name if enforced else self.name + DEV_SUFFIX
        level = EnforcementLevel.MANDATORY if enforced else EnforcementLevel.ADVISORY
        description = self.description if enforced else f"{self.description} (advice for the dev tier)"
        common: dict[str, Any] = {
            "name": name,
            "description": description,
            "enforcement_level": level,
            "severity": self.severity,
            "remediation_steps": self.remediation,
            "tags": [f"security-hub:{self.security_hub}"] if self.security_hub else None,
        }
        if self.stack_check is not None:
            return StackValidationPolicy(validate=self._stack_validator(enforced), **common)
        return ResourceValidationPolicy(validate=self._resource_validator(enforced), **common)

    def _resource_validator(self, enforced: bool) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
        check = self.resource_check
        types = self.resource_types
        assert check is not None, f"rule {self.name} has neither a resource nor a stack check"

        def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
            if types is not None and args.resource_type not in types:
                return
            provider_props = args.provider.props if args.provider is not None else None
            if is_enforced(args.urn, provider_props) != enforced:
                return
            subject = Subject(args.resource_type, args.urn, args.name, args.props, bool(args.opts.protect))
            for message in check(subject):
                report_violation(message, args.urn)

        return validate

    def _stack_validator(self, enforced: bool) -> Callable[[StackValidationArgs, ReportViolation], None]:
        check = self.stack_check
        assert check is not None

        def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
            for resource, message in check(list(args.resources)):
                provider_props = resource.provider.props if resource.provider is not None else None
                if is_enforced(resource.urn, provider_props) == enforced:
                    report_violation(message, resource.urn)

        return validate


def resource_tier(urn: str, provider_props: Mapping[str, Any] | None) -> str | None:
    parts = urn.split("::")
    if len(parts) >= 4:
        for type_token in parts[2].split("$"):
            tier = contract.tier_from_component_type(type_token)
            if tier is not None:
                return tier
    tagged = _provider_tier(provider_props)
    if tagged is not None:
        return tagged
    stack = parts[0].split(":")[-1] if parts else ""
    return stack if stack in topology.TIERS else None


def _provider_tier(provider_props: Mapping[str, Any] | None) -> str | None:
    if not provider_props:
        return None
    default_tags = provider_props.get("defaultTags")
    if isinstance(default_tags, str):
        try:
            default_tags = json.loads(default_tags)
        except json.JSONDecodeError:
            return None
    if not isinstance(default_tags, Mapping):
        return None
    tags = default_tags.get("tags")
    tier = tags.get(contract.TAG_TIER) if isinstance(tags, Mapping) else None
    return tier if tier in topology.TIERS else None


def is_enforced(urn: str, provider_props: Mapping[str, Any] | None) -> bool:
    tier = resource_tier(urn, provider_props)
    return tier is None or topology.tier_is_enforced(tier)


def of_type(resources: Iterable[PolicyResource], type_token: str) -> Iterator[PolicyResource]:
    return (resource for resource in resources if resource.resource_type == type_token)
