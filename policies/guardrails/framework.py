"""Rules, and how each becomes one policy whose verdicts take their level from the resource's tier.

A resource's tier comes, in order, from the tier component it is built under (`mlops:tier:<Tier>` in its
URN), from the `mlops:tier` default tag of the provider it deploys through, and from the stack's name
(stacks are named after tiers). A resource whose tier cannot be told is judged as enforced: forgetting
something never weakens production.

A rule is one policy, evaluated once per resource (or stack). Each verdict is mandatory, or advisory where the
rule only advises (a resource of the dev tier, per `topology.tier_is_enforced`): the pack's analyzer service
(`guardrails.service`) carries the level on each diagnostic.

A rule is written once, as one of three kinds of check:
- a resource check: the inputs of one resource (`Analyze`), yielding a message per violation;
- a stack check: one resource of the rule's types judged with the whole stack around it (`AnalyzeStack`);
- a stack-wide check: a whole stack, yielding (resource, message) pairs.

Values that are unknown during a preview raise `UnknownValueError` when read; the SDK turns that into an
advisory "can't run policy during preview" diagnostic. Stack checks judge every subject on its own, so one
unknown value never hides the verdict on the others: what could not be decided is reported together, as one
advisory, after every decided violation. A rule that lacks information other than an unknown value (say, the
accounts are not configured) raises `Undecided` to the same effect.
"""

from __future__ import annotations

import enum
import functools
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
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
from pulumi_policy.proxy import UnknownValueError

from guardrails.platform import Platform
from guardrails.service import TieredReport
from mlops_platform import contract, topology
from mlops_platform.iam_policy import account_of, strings

UNDECIDED_SHOWN = 5
"""How many undecided subjects one advisory names before it summarises the rest."""


class DevMode(enum.Enum):
    """How a rule treats resources of the dev tier."""

    ADVISORY = "advisory"
    """`<rule>` blocks outside dev and advises in dev."""
    MANDATORY = "mandatory"
    """`<rule>` blocks in every tier, dev included (separation of production)."""
    NOT_CHECKED = "not checked"
    """`<rule>` blocks outside dev; dev is not judged (e.g. state that dev lets go on purpose)."""


class Undecided(UnknownValueError):
    """A rule could not decide: reported as an advisory diagnostic that says why."""

    def __init__(self, message: str) -> None:
        Exception.__init__(self, message)
        self.unknown_type_sentinel = ""
        self.props: list[str] = []
        self.message = message


POLICY_INPUTS: dict[str, str] = {
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:s3/bucket:Bucket": "policy",
    "aws:s3/bucketV2:BucketV2": "policy",
    "aws:kms/key:Key": "policy",
    "aws:kms/keyPolicy:KeyPolicy": "policy",
    "aws:ecr/repositoryPolicy:RepositoryPolicy": "policy",
    "aws:ecr/registryPolicy:RegistryPolicy": "policy",
    "aws:sqs/queuePolicy:QueuePolicy": "policy",
    "aws:sqs/queue:Queue": "policy",
    "aws:sns/topicPolicy:TopicPolicy": "policy",
    "aws:sns/topic:Topic": "policy",
    "aws:secretsmanager/secretPolicy:SecretPolicy": "policy",
    "aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy": "resourcePolicy",
    "aws:cloudwatch/eventBusPolicy:EventBusPolicy": "policy",
    "aws:iam/role:Role": "assumeRolePolicy",
}
"""Every resource type that carries a policy document, and the input holding it (a role: its trust policy)."""


@dataclass(frozen=True)
class Placement:
    """Where a resource lives: its tier and (when its provider names one) its account."""

    tier: str | None
    account: str | None

    @property
    def enforced(self) -> bool:
        return self.tier is None or topology.tier_is_enforced(self.tier)

    def in_tiers(self, tiers: frozenset[str], known: Platform) -> bool:
        """Whether the resource belongs to one of `tiers`: by its own tier, or by deploying into an account
        that hosts nothing but those tiers (e.g. the org stack creating a role in the prod account)."""
        if self.tier in tiers:
            return True
        if self.account is None:
            return False
        hosted = known.tiers_in_account(self.account)
        return bool(hosted) and hosted <= tiers


@dataclass(frozen=True)
class Subject:
    """One resource as a resource check sees it: its inputs, options and placement."""

    type: str
    urn: str
    name: str
    props: Mapping[str, Any]
    protect: bool
    placement: Placement = field(default_factory=lambda: Placement(None, None))
    provider_props: Mapping[str, Any] | None = None


ResourceCheck = Callable[[Subject], Iterable[str]]
"""Yields one message per violation of the resource it is given."""
SubjectCheck = Callable[["StackView", PolicyResource], Iterable[str]]
"""Yields one message per violation of one resource, judged with the whole stack."""
StackWideCheck = Callable[["StackView"], Iterable[tuple[PolicyResource, str]]]
"""Yields (resource, message) per violation found among all of a stack's resources."""


class StackView:
    """A stack's resources (their outputs, as AnalyzeStack hands them) with lookups the stack checks share.

    Lookups by type and by reference are indexed once per stack, so a check run for every subject costs what
    the subject's own referrers cost, not a scan of the stack: a preview stays linear in its resources."""

    def __init__(self, resources: list[PolicyResource]) -> None:
        self.resources = resources
        self._placements: dict[str, Placement] = {}
        self.undecided: list[tuple[PolicyResource, str]] = []
        self._position = {resource.urn: index for index, resource in enumerate(resources)}
        self._by_type: dict[str, list[PolicyResource]] = {}
        for resource in resources:
            self._by_type.setdefault(resource.resource_type, []).append(resource)
        self._references: dict[tuple[str, str], _References] = {}

    def of_type(self, *types: str) -> list[PolicyResource]:
        """The resources of `types`, in stack order."""
        if len(types) == 1:
            return list(self._by_type.get(types[0], ()))
        return self._in_stack_order(r for kind in set(types) for r in self._by_type.get(kind, ()))

    def placement(self, resource: PolicyResource) -> Placement:
        if resource.urn not in self._placements:
            provider = resource.provider.props if resource.provider is not None else None
            self._placements[resource.urn] = placement_of(resource.urn, provider)
        return self._placements[resource.urn]

    def referrers(self, types: Iterable[str], key: str, target: PolicyResource,
                  identities: Iterable[str] = ()) -> list[PolicyResource]:
        """Resources of `types` whose `key` input refers to `target`: by property dependency, or (when the value
        is known) by equalling one of the target's `identities` (its name, id or ARN)."""
        names = {identity for identity in identities if identity}
        found: dict[str, PolicyResource] = {}
        for kind in set(types):
            references = self._references_of(kind, key)
            for resource in references.by_dependency.get(target.urn, ()):
                found[resource.urn] = resource
            for name in names:
                for resource in references.by_value.get(name, ()):
                    found[resource.urn] = resource
        return self._in_stack_order(found.values())

    def _references_of(self, kind: str, key: str) -> _References:
        if (kind, key) not in self._references:
            references = _References()
            for resource in self._by_type.get(kind, ()):
                for dependency in {d.urn for d in resource.property_dependencies.get(key, [])}:
                    references.by_dependency.setdefault(dependency, []).append(resource)
                value = known(resource.props, key)
                if isinstance(value, str):
                    references.by_value.setdefault(value, []).append(resource)
            self._references[kind, key] = references
        return self._references[kind, key]

    def _in_stack_order(self, resources: Iterable[PolicyResource]) -> list[PolicyResource]:
        return sorted(resources, key=lambda resource: self._position[resource.urn])

    def guard(self, resource: PolicyResource,
              check: Callable[[], Iterable[str]]) -> Iterator[tuple[PolicyResource, str]]:
        """Runs one subject's check; an unknown value puts the subject on the undecided list instead."""
        try:
            for message in list(check()):
                yield resource, message
        except UnknownValueError as err:
            self.undecided.append((resource, err.message))


@dataclass
class _References:
    """The resources of one type, by what their one input refers to: a resource's URN, or a known string."""

    by_dependency: dict[str, list[PolicyResource]] = field(default_factory=dict)
    by_value: dict[str, list[PolicyResource]] = field(default_factory=dict)


def refers_to(resource: PolicyResource, key: str, target: PolicyResource, identities: set[str]) -> bool:
    if any(dependency.urn == target.urn for dependency in resource.property_dependencies.get(key, [])):
        return True
    if not identities:
        return False
    value = known(resource.props, key)
    return isinstance(value, str) and value in identities


def known(props: Mapping[str, Any], key: str) -> Any:
    """A property's value, or None when it is absent or unknown during the preview."""
    try:
        return props.get(key)
    except UnknownValueError:
        return None


def identities(resource: PolicyResource, *keys: str) -> set[str]:
    """The known string values of a resource's naming outputs (name, id, arn, ...)."""
    return {value for key in keys if isinstance(value := known(resource.props, key), str) and value}


class Verdict(enum.Enum):
    """How a rule judges one resource."""

    BLOCKS = "at the policy's level"
    ADVISES = "advisory"
    SKIPS = "not judged"


def reporter(report_violation: ReportViolation, verdict: Verdict) -> Callable[[str, str | None], None]:
    """The report function for a verdict: advice goes through the pack service's `TieredReport.advise`."""
    if verdict is not Verdict.ADVISES:
        return report_violation
    if not isinstance(report_violation, TieredReport):
        raise TypeError("the guardrails pack reports advice per verdict: serve it with guardrails.service.serve")
    return report_violation.advise


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    severity: Severity
    remediation: str
    security_hub: str | None = None
    """Matching AWS Security Hub control ids, comma-separated (e.g. `KMS.1, KMS.2`)."""
    resource_types: frozenset[str] | None = None
    check: ResourceCheck | None = None
    stack_check: SubjectCheck | None = None
    stack_wide: StackWideCheck | None = None
    dev: DevMode = DevMode.ADVISORY

    def __post_init__(self) -> None:
        kinds = [kind for kind in (self.check, self.stack_check, self.stack_wide) if kind is not None]
        if not kinds or (self.check is not None and len(kinds) > 1):
            raise ValueError(f"rule {self.name}: give a resource check, or stack checks, not both or neither")

    def policy(self) -> ResourceValidationPolicy | StackValidationPolicy:
        """The rule as one mandatory policy; its verdicts on resources the rule only advises on are advisory."""
        common: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "enforcement_level": EnforcementLevel.MANDATORY,
            "severity": self.severity,
            "remediation_steps": self.remediation,
            "tags": [f"security-hub:{control}" for control in self.security_hub_ids] or None,
        }
        if self.check is not None:
            return ResourceValidationPolicy(validate=self._resource_validator(), **common)
        return StackValidationPolicy(validate=self._stack_validator(), **common)

    @property
    def security_hub_ids(self) -> list[str]:
        return [control.strip() for control in (self.security_hub or "").split(",") if control.strip()]

    def verdict(self, placement: Placement) -> Verdict:
        """How the rule judges a resource placed so: at the policy's level, as advice, or not at all."""
        if self.dev is DevMode.MANDATORY or placement.enforced:
            return Verdict.BLOCKS
        return Verdict.ADVISES if self.dev is DevMode.ADVISORY else Verdict.SKIPS

    def _resource_validator(self) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
        check = self.check
        types = self.resource_types
        assert check is not None

        def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
            if types is not None and args.resource_type not in types:
                return
            provider_props = args.provider.props if args.provider is not None else None
            placement = placement_of(args.urn, provider_props)
            verdict = self.verdict(placement)
            if verdict is Verdict.SKIPS:
                return
            subject = Subject(args.resource_type, args.urn, args.name, args.props, bool(args.opts.protect),
                              placement, provider_props)
            report = reporter(report_violation, verdict)
            for message in check(subject):
                report(message, args.urn)

        return validate

    def _stack_validator(self) -> Callable[[StackValidationArgs, ReportViolation], None]:
        def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
            stack = StackView(list(args.resources))
            for resource, message in self._stack_findings(stack):
                verdict = self.verdict(stack.placement(resource))
                if verdict is not Verdict.SKIPS:
                    reporter(report_violation, verdict)(message, resource.urn)
            undecided = [(r, m) for r, m in stack.undecided
                         if self.verdict(stack.placement(r)) is not Verdict.SKIPS]
            if undecided:
                raise Undecided(undecided_message(undecided))

        return validate

    def _stack_findings(self, stack: StackView) -> Iterator[tuple[PolicyResource, str]]:
        if self.stack_wide is not None:
            yield from self.stack_wide(stack)
        subject_check = self.stack_check
        if subject_check is None:
            return
        for resource in stack.resources:
            if self.resource_types is None or resource.resource_type in self.resource_types:
                yield from stack.guard(resource, functools.partial(subject_check, stack, resource))


def undecided_message(undecided: list[tuple[PolicyResource, str]]) -> str:
    shown = [f"{resource.urn}: {message}" for resource, message in undecided[:UNDECIDED_SHOWN]]
    more = len(undecided) - UNDECIDED_SHOWN
    return "could not decide for " + "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


# --- placement: tier and account -------------------------------------------------------------------------


def placement_of(urn: str, provider_props: Mapping[str, Any] | None) -> Placement:
    return Placement(resource_tier(urn, provider_props), provider_account(provider_props))


def resource_tier(urn: str, provider_props: Mapping[str, Any] | None) -> str | None:
    built_under = contract.tier_from_urn(urn)
    if built_under is not None:
        return built_under
    parts = urn.split("::")
    tagged = _provider_tier(provider_props)
    if tagged is not None:
        return tagged
    stack = parts[0].split(":")[-1] if parts else ""
    return stack if stack in topology.TIERS else None


def _provider_tier(provider_props: Mapping[str, Any] | None) -> str | None:
    default_tags = _provider_value(provider_props, "defaultTags")
    if not isinstance(default_tags, Mapping):
        return None
    tags = default_tags.get("tags")
    tier = tags.get(contract.TAG_TIER) if isinstance(tags, Mapping) else None
    return tier if tier in topology.TIERS else None


def provider_default_tags(provider_props: Mapping[str, Any] | None) -> Mapping[str, Any]:
    default_tags = _provider_value(provider_props, "defaultTags")
    tags = default_tags.get("tags") if isinstance(default_tags, Mapping) else None
    return tags if isinstance(tags, Mapping) else {}


def provider_account(provider_props: Mapping[str, Any] | None) -> str | None:
    """The one account a provider may deploy into: its `allowedAccountIds`, else the account of the role it
    assumes."""
    allowed = strings(_provider_value(provider_props, "allowedAccountIds"))
    if len(allowed) == 1:
        return allowed[0]
    for key in ("assumeRoles", "assumeRole"):
        roles = _provider_value(provider_props, key)
        for role in [roles] if isinstance(roles, Mapping) else roles if isinstance(roles, list) else []:
            arn = role.get("roleArn") if isinstance(role, Mapping) else None
            if isinstance(arn, str) and (account := account_of(arn)) is not None:
                return account
    return None


def _provider_value(provider_props: Mapping[str, Any] | None, key: str) -> Any:
    """A provider input: the engine hands provider inputs over as strings, JSON-encoded where not scalar."""
    if not provider_props:
        return None
    try:
        value = provider_props.get(key)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                return value
        return _plain(value)
    except UnknownValueError:
        return None


def _plain(value: Any) -> Any:
    """A proxied value as plain dicts and lists (reading it raises if any part is unknown)."""
    if isinstance(value, Mapping):
        return {key: _plain(value[key]) for key in value}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_plain(value[index]) for index in range(len(value))]
    return value


def is_enforced(urn: str, provider_props: Mapping[str, Any] | None) -> bool:
    return placement_of(urn, provider_props).enforced


def of_type(resources: Iterable[PolicyResource], type_token: str) -> Iterator[PolicyResource]:
    return (resource for resource in resources if resource.resource_type == type_token)
