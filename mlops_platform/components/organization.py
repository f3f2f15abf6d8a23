"""AWS Organizations for the medium and large sizes: the organization (adopted, or created once), member
accounts (adopted by id, or created and placed in OUs), and the organization-wide CloudTrail trail.

Adopting never creates: an existing organization is read with `get_organization`, existing accounts are
referred to by id, and the SCPs attach straight to those accounts instead of to OUs they are not in. An adopted
organization must already have what the org stack relies on (all features, SCPs enabled on its root, CloudTrail
trusted access where the platform creates the trail); if not, the program stops with one error saying how to
enable each. A created organization gets them from its own settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_platform import contract, naming, topology
from mlops_platform.iam_policy import Statement, grant

TRAIL_NAME = "mlops-organization-trail"
SCP_POLICY_TYPE = "SERVICE_CONTROL_POLICY"
CLOUDTRAIL_PRINCIPAL = "cloudtrail.amazonaws.com"


class OrganizationPrerequisiteError(pulumi.RunError):
    """The adopted organization (or Identity Center) lacks a setting the org stack needs; says how to enable it."""


def missing_prerequisites(organization: aws.organizations.GetOrganizationResult, creates_trail: bool) -> list[str]:
    """What the adopted organization lacks, each with the command or console step that enables it."""
    missing = []
    if organization.feature_set != "ALL":
        missing.append(f"the organization has feature set {organization.feature_set!r}, and SCPs need all features: "
                       "AWS Organizations console > Settings > 'Begin process to enable all features'")
    root = organization.roots[0] if organization.roots else None
    enabled = {policy.type for policy in (root.policy_types if root else []) if policy.status == "ENABLED"}
    if root is not None and SCP_POLICY_TYPE not in enabled:
        missing.append(f"service control policies are not enabled on the root {root.id}: run `aws organizations "
                       f"enable-policy-type --root-id {root.id} --policy-type {SCP_POLICY_TYPE}`")
    if creates_trail and CLOUDTRAIL_PRINCIPAL not in (organization.aws_service_access_principals or []):
        missing.append("CloudTrail has no trusted access to the organization, which an organization trail needs: run "
                       f"`aws organizations enable-aws-service-access --service-principal {CLOUDTRAIL_PRINCIPAL}` "
                       "(or set organization.trail: existing to keep an organization trail you already have)")
    return missing


def adopted_root_id(organization: aws.organizations.GetOrganizationResult, creates_trail: bool) -> str:
    missing = missing_prerequisites(organization, creates_trail)
    if missing:
        raise OrganizationPrerequisiteError(
            f"the organization {organization.id} is not ready for the org stack: " + "; ".join(missing))
    if not organization.roots:
        raise OrganizationPrerequisiteError(f"the organization {organization.id} reports no root")
    return str(organization.roots[0].id)


@dataclass(frozen=True)
class OrganizationStructureArgs:
    size: topology.Size
    accounts: Mapping[str, str]
    """Logical account name → account id, from config."""
    create_organization: bool
    create_accounts: bool
    account_emails: Mapping[str, str]
    member_access_role_name: str
    creates_trail: bool = True
    """The org stack creates the organization trail (CloudTrail then needs trusted access)."""


class OrganizationStructure(pulumi.ComponentResource):
    organization_id: pulumi.Output[str]
    account_ids: dict[str, pulumi.Output[str]]
    """Every member account's id (created accounts: known once created)."""
    policy_targets: dict[str, list[pulumi.Output[str]]]
    """OU name → the ids SCPs of that OU attach to: the OU itself, or (adopting) its accounts."""

    def __init__(self, name: str, args: OrganizationStructureArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:org:OrganizationStructure", name, None, opts)
        organization_id, root_id = self._organization(name, args)
        members = [account for account in topology.accounts(args.size) if account != "management"]
        self.account_ids = {}
        self.policy_targets = {}
        if args.create_accounts:
            units = {unit: aws.organizations.OrganizationalUnit(
                f"{name}-{unit.lower()}", name=unit, parent_id=root_id,
                opts=pulumi.ResourceOptions(parent=self, protect=True))
                for unit in sorted({topology.ACCOUNT_OU[m] for m in members})}
            for member in members:
                account = aws.organizations.Account(
                    f"{name}-{member}", name=contract.created_account_name(member), email=args.account_emails[member],
                    parent_id=units[topology.ACCOUNT_OU[member]].id, close_on_deletion=False,
                    role_name=args.member_access_role_name, iam_user_access_to_billing="DENY",
                    opts=pulumi.ResourceOptions(parent=self, protect=True, ignore_changes=["roleName"]))
                self.account_ids[member] = account.id
            self.policy_targets = {unit: [ou.id] for unit, ou in units.items()}
        else:
            for member in members:
                self.account_ids[member] = pulumi.Output.from_input(args.accounts[member])
                self.policy_targets.setdefault(topology.ACCOUNT_OU[member], []).append(self.account_ids[member])
        self.organization_id = organization_id
        self.register_outputs({"organizationId": organization_id})

    def _organization(self, name: str,
                      args: OrganizationStructureArgs) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        if args.create_organization:
            organization = aws.organizations.Organization(
                name, feature_set="ALL", enabled_policy_types=["SERVICE_CONTROL_POLICY"],
                aws_service_access_principals=["cloudtrail.amazonaws.com", "sso.amazonaws.com"],
                opts=pulumi.ResourceOptions(parent=self, protect=True))
            return organization.id, organization.roots.apply(lambda roots: str(roots[0].id))
        # Read and checked before anything is declared on it: a missing setting stops the program with one error,
        # before any resource is registered (an invoke awaited inside an output would race the rest of the program).
        existing = aws.organizations.get_organization(opts=pulumi.InvokeOptions(parent=self))
        root_id = adopted_root_id(existing, args.creates_trail)
        return pulumi.Output.from_input(str(existing.id)), pulumi.Output.from_input(root_id)


def trail_key_grants(management_account_id: str, region: str) -> tuple[Statement, ...]:
    partition = naming.partition_of(region)
    trail_arn = naming.trail_arn(partition, region, management_account_id, TRAIL_NAME)
    return (grant("CloudTrailEncryptsTheOrganizationTrail", {"Service": "cloudtrail.amazonaws.com"},
                  ["kms:GenerateDataKey", "kms:DescribeKey"], "*", {
                      "StringEquals": {"aws:SourceArn": trail_arn},
                      "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn":
                                     naming.trail_arn(partition, naming.ANY, management_account_id, "*")}}),)


class OrganizationTrail(pulumi.ComponentResource):
    """A multi-region organization trail with log file validation, encrypted with the org tier's key."""

    arn: pulumi.Output[str]

    def __init__(self, name: str, bucket_name: pulumi.Input[str], key_arn: pulumi.Input[str],
                 depends_on: list[pulumi.Resource], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:org:OrganizationTrail", name, None, opts)
        trail = aws.cloudtrail.Trail(
            name, name=TRAIL_NAME, s3_bucket_name=bucket_name, kms_key_id=key_arn, is_organization_trail=True,
            is_multi_region_trail=True, include_global_service_events=True, enable_log_file_validation=True,
            opts=pulumi.ResourceOptions(parent=self, protect=True, depends_on=depends_on))
        self.arn = trail.arn
        self.register_outputs({"arn": trail.arn})


def trail_bucket_grants(bucket_arn: str, management_account_id: str, region: str,
                        organization_id: pulumi.Input[str]) -> list[Statement]:
    trail_arn = naming.trail_arn(naming.partition_of(region), region, management_account_id, TRAIL_NAME)
    cloudtrail = {"Service": "cloudtrail.amazonaws.com"}
    return [
        grant("CloudTrailChecksTheBucketAcl", cloudtrail, "s3:GetBucketAcl", bucket_arn,
              {"StringEquals": {"aws:SourceArn": trail_arn}}),
        grant("CloudTrailWritesTheOrganizationTrail", cloudtrail, "s3:PutObject",
              [f"{bucket_arn}/AWSLogs/{management_account_id}/*",
               pulumi.Output.concat(bucket_arn, "/AWSLogs/", organization_id, "/*")],
              {"StringEquals": {"aws:SourceArn": trail_arn, "s3:x-amz-acl": "bucket-owner-full-control"}}),
    ]
