"""IAM Identity Center: the platform's permission sets and which groups get them in which accounts.

A permission set is assigned only in the accounts its role calls for (the data scientists' in the dev
account alone) and only where the organization names a group for it in `organization.identityGroups`.
Identity Center lives in one region (`organization.identityCenterRegion`); its API is called there, through the
provider the caller passes for that region.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from mlops_platform import contract, iam_policy, naming, topology
from mlops_platform.components.organization import OrganizationPrerequisiteError
from mlops_platform.iam_policy import allow


@dataclass(frozen=True)
class PermissionSetSpec:
    name: str
    description: str
    tiers: tuple[str, ...]
    """Tiers whose accounts the set is assigned in."""
    session_duration: str = "PT8H"
    managed_policies: tuple[str, ...] = ()
    """Names of AWS managed policies (`PowerUserAccess`), attached by their ARN in the instance's partition."""
    inline_policy: Callable[[str], Mapping[str, object]] | None = None
    """The set's inline policy in a partition (the ARNs it names carry the partition)."""


STUDIO_USER_SOURCE = "${path:userName}"
"""Identity Center's user name, passed on every session as the `contract.STUDIO_USER_TAG` session tag."""

PERMISSION_SETS: tuple[PermissionSetSpec, ...] = (
    PermissionSetSpec(
        "DataScientist", "Data scientists: SageMaker Studio in the dev account, read-only governed data",
        topology.PERMISSION_SET_TIERS["DataScientist"], inline_policy=lambda partition: iam_policy.document([
            allow(["sagemaker:CreatePresignedDomainUrl"],
                  naming.arn(partition, "sagemaker", naming.ANY, naming.ANY, "user-profile/*/*"),
                  {"StringEquals": {f"sagemaker:ResourceTag/{contract.STUDIO_USER_TAG}":
                                    f"${{aws:PrincipalTag/{contract.STUDIO_USER_TAG}}}"}}, sid="OpenOwnStudioProfile"),
            allow(["sagemaker:DescribeDomain", "sagemaker:ListDomains", "sagemaker:DescribeUserProfile",
                   "sagemaker:ListUserProfiles", "sagemaker:ListApps"], "*", sid="FindStudio")])),
    PermissionSetSpec("MLEngineer", "ML engineers: build and operate pipelines outside production",
                      topology.PERMISSION_SET_TIERS["MLEngineer"], managed_policies=("PowerUserAccess",)),
    PermissionSetSpec(
        "ModelApprover", "Approve or reject model packages in the registry; nothing else",
        topology.PERMISSION_SET_TIERS["ModelApprover"],
        inline_policy=lambda _partition: iam_policy.document([
            allow(["sagemaker:UpdateModelPackage", "sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages",
                   "sagemaker:DescribeModelPackageGroup", "sagemaker:ListModelPackageGroups"], "*",
                  sid="ReviewAndApprove")])),
    PermissionSetSpec("PlatformEngineer", "Platform engineers: run the platform outside production",
                      topology.PERMISSION_SET_TIERS["PlatformEngineer"], managed_policies=("AdministratorAccess",)),
    PermissionSetSpec("ReadOnly", "Audit: read-only everywhere", topology.PERMISSION_SET_TIERS["ReadOnly"],
                      managed_policies=("ReadOnlyAccess",)),
    PermissionSetSpec("BreakGlassProd", "Emergency production access: one-hour sessions, every use alarmed",
                      topology.PERMISSION_SET_TIERS["BreakGlassProd"], session_duration="PT1H",
                      managed_policies=("AdministratorAccess",)),
)


@dataclass(frozen=True)
class IdentityCenterArgs:
    size: topology.Size
    account_ids: Mapping[str, pulumi.Input[str]]
    """Logical account name → id."""
    groups: Mapping[str, str]
    """Permission set name → Identity Store group id."""
    region: str
    """The Identity Center instance's region (for the error that says where none was found)."""
    permission_sets: Sequence[PermissionSetSpec] = field(default_factory=lambda: PERMISSION_SETS)


def assignment_accounts(size: topology.Size, spec: PermissionSetSpec) -> list[str]:
    """The logical accounts a permission set is assigned in: those hosting any of its tiers."""
    hosts = {topology.stack_hosting(size, tier).account for tier in spec.tiers if tier in topology.tiers(size)}
    return [account for account in topology.accounts(size) if account in hosts]


def the_instance(arns: Sequence[str], region: str) -> str:
    """An organization has at most one Identity Center instance; none in `region` is a setup step left to do."""
    if not arns:
        raise OrganizationPrerequisiteError(
            f"no IAM Identity Center instance in {region}: enable IAM Identity Center in {region} from the "
            "management account (IAM Identity Center console > Enable, organization instance), or set "
            "organization.identityCenterRegion to the region where it is enabled")
    return arns[0]


class IdentityCenter(pulumi.ComponentResource):
    def __init__(self, name: str, args: IdentityCenterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:identity:IdentityCenter", name, None, opts)
        # Checked before anything is declared: no instance is one clear error, not a race inside an output.
        instances = aws.ssoadmin.get_instances(opts=pulumi.InvokeOptions(parent=self))
        instance_arn = pulumi.Output.from_input(the_instance(instances.arns, args.region))
        child = pulumi.ResourceOptions(parent=self)
        partition = naming.partition_of(args.region)
        aws.ssoadmin.InstanceAccessControlAttributes(
            name, instance_arn=instance_arn,
            attributes=[{"key": contract.STUDIO_USER_TAG, "values": [{"sources": [STUDIO_USER_SOURCE]}]}],
            opts=child)
        for spec in args.permission_sets:
            permission_set = aws.ssoadmin.PermissionSet(
                f"{name}-{spec.name}", name=spec.name, description=spec.description, instance_arn=instance_arn,
                session_duration=spec.session_duration, opts=child)
            for policy in spec.managed_policies:
                aws.ssoadmin.ManagedPolicyAttachment(
                    f"{name}-{spec.name}-{policy}", instance_arn=instance_arn,
                    permission_set_arn=permission_set.arn,
                    managed_policy_arn=naming.aws_managed_policy_arn(partition, policy), opts=child)
            if spec.inline_policy is not None:
                aws.ssoadmin.PermissionSetInlinePolicy(
                    f"{name}-{spec.name}", instance_arn=instance_arn, permission_set_arn=permission_set.arn,
                    inline_policy=json.dumps(spec.inline_policy(partition)), opts=child)
            group = args.groups.get(spec.name)
            if group is None:
                continue
            for account in assignment_accounts(args.size, spec):
                aws.ssoadmin.AccountAssignment(
                    f"{name}-{spec.name}-{account}", instance_arn=instance_arn,
                    permission_set_arn=permission_set.arn, principal_id=group, principal_type="GROUP",
                    target_id=args.account_ids[account], target_type="AWS_ACCOUNT", opts=child)
        self.register_outputs({})
