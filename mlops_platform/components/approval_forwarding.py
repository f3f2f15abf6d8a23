"""Large size: the model registry lives in the artifact account, the promotion pipelines in the cicd account.
A rule on the artifact account's default bus forwards every approval of a served group to the cicd account's
default bus, through a role of its own that may put events on that bus and nowhere else
(`ApprovalForwarding`); the cicd bus admits exactly that role of the artifact account (`approvals_bus_policy`).
What reaches the bus is only what the forwarding rule's pattern matches (approvals of the served groups): the role
serves that rule alone. The bus policy adds no `events:source` condition: the access matrix's IAM engine does not
know EventBridge's condition keys, and a condition it cannot judge would leave the forwarding flow unproven.
In medium both live in the dev account: nothing is forwarded."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_platform import contract, events, iam_policy, naming
from mlops_platform.components.iam import PlatformRole, PlatformRoleArgs, allow, service_trust
from mlops_platform.iam_policy import grant
from mlops_platform.placement import Placement


@dataclass(frozen=True)
class ApprovalForwardingArgs:
    placement: Placement
    """The registry's tier (artifact) and account."""
    cicd_account_id: str
    groups: Sequence[str]
    """The model package groups whose approvals start a promotion (the served use cases')."""


class ApprovalForwarding(pulumi.ComponentResource):
    def __init__(self, name: str, args: ApprovalForwardingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:cicd:ApprovalForwarding", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        bus = naming.event_bus_arn(args.placement.region, args.cicd_account_id)
        role = PlatformRole(name, PlatformRoleArgs(
            role_name=contract.approval_forwarder_role_name(),
            description="EventBridge: forwards model package approvals to the cicd account's bus",
            trust_policy=service_trust("events.amazonaws.com", args.placement.account_id),
            statements=[allow(["events:PutEvents"], [bus], sid="ForwardToTheCicdBus")]), child)
        rule = aws.cloudwatch.EventRule(
            name, name=contract.APPROVAL_FORWARDING_RULE,
            description="Model package approvals, forwarded to the cicd account's promotion pipelines",
            event_pattern=json.dumps(events.model_packages_approved_pattern(list(args.groups))), opts=child)
        aws.cloudwatch.EventTarget(name, rule=rule.name, arn=bus, role_arn=role.arn,
                                   retry_policy={"maximum_retry_attempts": 185,
                                                 "maximum_event_age_in_seconds": 86400}, opts=child)
        self.register_outputs({})


def approvals_bus_policy(placement: Placement, registry_account_id: str) -> dict[str, Any]:
    """The cicd bus's policy: the artifact account's forwarding role, and no one else, may put events on it. The
    principal is that account's root, pinned to the role by `aws:PrincipalArn` (IAM accepts it whichever stack
    deploys first)."""
    forwarder = contract.role_arn(placement.partition, registry_account_id, contract.approval_forwarder_role_name())
    return iam_policy.document([grant(
        "ArtifactAccountForwardsApprovals", {"AWS": naming.account_root_arn(placement.partition, registry_account_id)},
        "events:PutEvents", naming.event_bus_arn(placement.region, placement.account_id),
        {"ArnEquals": {"aws:PrincipalArn": forwarder}})])


class ApprovalsBus(pulumi.ComponentResource):
    """The cicd account's default bus, opened to the artifact account's forwarded approvals."""

    def __init__(self, name: str, placement: Placement, registry_account_id: str,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:cicd:ApprovalsBus", name, None, opts)
        aws.cloudwatch.EventBusPolicy(name, event_bus_name="default",
                                      policy=json.dumps(approvals_bus_policy(placement, registry_account_id)),
                                      opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})
