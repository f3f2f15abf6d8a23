"""AWS Organizations for the medium and large sizes: the organization (adopted, or created once), member
accounts (adopted by id, or created and placed in OUs), and the organization-wide CloudTrail trail.

Adopting never creates: an existing organization is read with `get_organization`, existing accounts are
referred to by id, and the SCPs attach straight to those accounts instead of to OUs they are not in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_platform import topology

ACCOUNT_OU: Mapping[str, str] = {
    "data": "Data",
    "artifact": "Infrastructure",
    "cicd": "Infrastructure",
    "ops": "Infrastructure",
    "dev": "ML-Dev",
    "staging": "ML-Prod",
    "prod": "ML-Prod",
}
"""Which OU a member account (by its logical name) belongs to. Staging shares prod's OU: both are kept from
data scientists by the same SCPs. The medium size's `dev` account hosts its non-production tiers."""
TRAIL_NAME = "mlops-organization-trail"


@dataclass(frozen=True)
class OrganizationStructureArgs:
    size: topology.Size
    accounts: Mapping[str, str]
    """Logical account name → account id, from config."""
    create_organization: bool
    create_accounts: bool
    account_emails: Mapping[str, str]
    member_access_role_name: str


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
                for unit in sorted({ACCOUNT_OU[m] for m in members})}
            for member in members:
                account = aws.organizations.Account(
                    f"{name}-{member}", name=f"mlops-{member}", email=args.account_emails[member],
                    parent_id=units[ACCOUNT_OU[member]].id, close_on_deletion=False,
                    role_name=args.member_access_role_name, iam_user_access_to_billing="DENY",
                    opts=pulumi.ResourceOptions(parent=self, protect=True, ignore_changes=["roleName"]))
                self.account_ids[member] = account.id
            self.policy_targets = {unit: [ou.id] for unit, ou in units.items()}
        else:
            for member in members:
                self.account_ids[member] = pulumi.Output.from_input(args.accounts[member])
                self.policy_targets.setdefault(ACCOUNT_OU[member], []).append(self.account_ids[member])
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
        existing = aws.organizations.get_organization_output(opts=pulumi.InvokeOptions(parent=self))
        return existing.id, existing.roots.apply(lambda roots: roots[0].id)


def trail_key_grants(management_account_id: str, region: str) -> tuple[dict[str, object], ...]:
    trail_arn = f"arn:aws:cloudtrail:{region}:{management_account_id}:trail/{TRAIL_NAME}"
    return ({
        "Sid": "CloudTrailEncryptsTheOrganizationTrail",
        "Effect": "Allow",
        "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": ["kms:GenerateDataKey", "kms:DescribeKey"],
        "Resource": "*",
        "Condition": {
            "StringEquals": {"aws:SourceArn": trail_arn},
            "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn":
                           f"arn:aws:cloudtrail:*:{management_account_id}:trail/*"},
        },
    },)


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
                        organization_id: pulumi.Input[str]) -> list[dict[str, object]]:
    trail_arn = f"arn:aws:cloudtrail:{region}:{management_account_id}:trail/{TRAIL_NAME}"
    source = {"StringEquals": {"aws:SourceArn": trail_arn}}
    return [
        {"Sid": "CloudTrailChecksTheBucketAcl", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:GetBucketAcl", "Resource": bucket_arn, "Condition": source},
        {"Sid": "CloudTrailWritesTheOrganizationTrail", "Effect": "Allow",
         "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
         "Resource": [f"{bucket_arn}/AWSLogs/{management_account_id}/*",
                      pulumi.Output.concat(bucket_arn, "/AWSLogs/", organization_id, "/*")],
         "Condition": {"StringEquals": {"aws:SourceArn": trail_arn, "s3:x-amz-acl": "bucket-owner-full-control"}}},
    ]

