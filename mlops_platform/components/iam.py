"""IAM roles with their trust and permissions in one place: `PlatformRole`, and statement helpers.

Permissions are `iam_policy.Statement`s naming actions and ARNs; values may be Outputs (the document is
rendered with `Output.json_dumps`). No statement grants a `*` action.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_platform import iam_policy
from mlops_platform.iam_policy import Conditions, Statement, allow, deny, trusting

__all__ = [
    "PlatformRole",
    "PlatformRoleArgs",
    "Statement",
    "allow",
    "deny",
    "document",
    "eventbridge_delivers_to",
    "permissions_boundary",
    "service_trust",
    "trust",
]

def document(statements: Sequence[Statement]) -> pulumi.Output[str]:
    """The policy document of `statements`, their Input values resolved."""
    return pulumi.Output.json_dumps(iam_policy.document(statements))


def eventbridge_delivers_to(sid: str, queue_arn: pulumi.Input[str],
                            rule_arns: pulumi.Input[str] | Sequence[pulumi.Input[str]]) -> pulumi.Output[str]:
    """A queue's policy: EventBridge may send it messages on behalf of exactly this rule (or these rules)."""
    return document([iam_policy.grant(sid, {"Service": "events.amazonaws.com"}, "sqs:SendMessage", queue_arn,
                                      {"ArnEquals": {"aws:SourceArn": rule_arns}})])


CONFUSED_DEPUTY_GUARDED_SERVICES = frozenset({"scheduler.amazonaws.com"})
"""Services documented to send aws:SourceAccount when assuming a role; others would be locked out by it."""


def trust(principal: Mapping[str, Any], actions: str | list[str] = "sts:AssumeRole",
          condition: Conditions | None = None) -> str:
    """A role's trust policy: one statement allowing `principal` to assume it."""
    return iam_policy.document_json([trusting(principal, actions, condition)])


def service_trust(service: str, account_id: str) -> str:
    """Trust for an AWS service; where the service supports it, only on behalf of this account."""
    guarded = service in CONFUSED_DEPUTY_GUARDED_SERVICES
    return trust({"Service": service},
                 condition={"StringEquals": {"aws:SourceAccount": account_id}} if guarded else None)


_TIER_BOUNDARY: ContextVar[str | None] = ContextVar("mlops_permissions_boundary", default=None)


@contextmanager
def permissions_boundary(arn: str | None) -> Iterator[None]:
    """Every PlatformRole declared inside carries `arn` as its permissions boundary (unless it names its own).

    The deploy role may create roles only with its account's boundary; a tier sets it once for everything it
    builds instead of handing it down through every component."""
    token = _TIER_BOUNDARY.set(arn)
    try:
        yield
    finally:
        _TIER_BOUNDARY.reset(token)


@dataclass(frozen=True)
class PlatformRoleArgs:
    role_name: str
    description: str
    trust_policy: pulumi.Input[str]
    statements: Sequence[Statement] = field(default_factory=list)
    managed_policy_arns: Sequence[pulumi.Input[str]] = field(default_factory=list)
    permissions_boundary: pulumi.Input[str] | None = None
    """Overrides the boundary of the enclosing `permissions_boundary(...)` block."""


class PlatformRole(pulumi.ComponentResource):
    arn: pulumi.Output[str]
    name: pulumi.Output[str]

    def __init__(self, name: str, args: PlatformRoleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:security:PlatformRole", name, None, opts)
        # A trust policy naming a role that does not exist yet is rejected by IAM: the role itself (not only
        # its component) waits for whatever the component was told to depend on.
        role = aws.iam.Role(name, name=args.role_name, description=args.description,
                            assume_role_policy=args.trust_policy, max_session_duration=3600,
                            permissions_boundary=args.permissions_boundary or _TIER_BOUNDARY.get(),
                            opts=pulumi.ResourceOptions(parent=self, depends_on=opts.depends_on if opts else None))
        if args.statements:
            aws.iam.RolePolicy(name, role=role.id, policy=document(args.statements),
                               opts=pulumi.ResourceOptions(parent=self))
        for index, policy_arn in enumerate(args.managed_policy_arns):
            aws.iam.RolePolicyAttachment(f"{name}-{index}", role=role.name, policy_arn=policy_arn,
                                         opts=pulumi.ResourceOptions(parent=self))
        self.arn = role.arn
        self.name = role.name
        self.register_outputs({"arn": role.arn})
