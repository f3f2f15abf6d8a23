"""Where trained models and their images are kept: an ECR repository and a model package group per use case,
the platform's monitoring image repository, and the role that alone may approve or reject model packages."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_platform import contract, naming
from mlops_platform.components.iam import PlatformRole, PlatformRoleArgs, allow, trust

UNTAGGED_IMAGE_DAYS = 14
TAGGED_IMAGES_KEPT = 50


@dataclass(frozen=True)
class ContainerRepositoryArgs:
    repository_name: str
    """`contract.container_repository_name(use_case)`, or `contract.MONITORING_IMAGE_REPOSITORY`."""
    kms_key_arn: pulumi.Input[str]
    protect: bool
    policy: str | None = None
    """The repository policy (pulls by roles of other accounts), if any."""


class ContainerRepository(pulumi.ComponentResource):
    """Images of one use case (training, inference) or of the platform (monitoring): scanned on push, immutable
    tags, KMS-encrypted."""

    url: pulumi.Output[str]
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: ContainerRepositoryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:registry:ContainerRepository", name, None, opts)
        repository = aws.ecr.Repository(
            name,
            name=args.repository_name,
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration={"scan_on_push": True},
            encryption_configurations=[{"encryption_type": "KMS", "kms_key": args.kms_key_arn}],
            force_delete=False,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        aws.ecr.LifecyclePolicy(name, repository=repository.name, policy=lifecycle_policy(),
                                opts=pulumi.ResourceOptions(parent=self))
        if args.policy is not None:
            aws.ecr.RepositoryPolicy(name, repository=repository.name, policy=args.policy,
                                     opts=pulumi.ResourceOptions(parent=self))
        self.url = repository.repository_url
        self.arn = repository.arn
        self.register_outputs({"url": repository.repository_url})


def lifecycle_policy() -> str:
    return json.dumps({"rules": [
        {"rulePriority": 1, "description": f"expire untagged images after {UNTAGGED_IMAGE_DAYS} days",
         "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                       "countNumber": UNTAGGED_IMAGE_DAYS},
         "action": {"type": "expire"}},
        {"rulePriority": 2, "description": f"keep the newest {TAGGED_IMAGES_KEPT} tagged images",
         "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": TAGGED_IMAGES_KEPT},
         "action": {"type": "expire"}},
    ]})


@dataclass(frozen=True)
class ModelRegistryArgs:
    tier: str
    account_id: str
    region: str
    use_cases: Sequence[str]
    protect: bool
    group_policy: Callable[[str], str | None] | None = None
    """The resource policy of a group, given its ARN (registrations and reads by other accounts), if any."""


class ModelRegistry(pulumi.ComponentResource):
    """One model package group per use case; approval is the `model-approver` role's alone."""

    approver_role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ModelRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:registry:ModelRegistry", name, None, opts)
        if not args.use_cases:
            raise ValueError("a model registry needs at least one use case")
        scope = naming.sagemaker_scope(args.region, args.account_id)
        groups = {u: f"{scope}:model-package-group/{contract.model_package_group_name(u)}" for u in args.use_cases}
        packages = [f"{scope}:model-package/{contract.model_package_group_name(u)}/*" for u in args.use_cases]
        for use_case, group_arn in groups.items():
            group = aws.sagemaker.ModelPackageGroup(
                f"{name}-{use_case}",
                model_package_group_name=contract.model_package_group_name(use_case),
                model_package_group_description=f"Models of the {use_case} use case, pending approval until approved",
                opts=pulumi.ResourceOptions(parent=self, protect=args.protect))
            policy = args.group_policy(group_arn) if args.group_policy else None
            if policy is not None:
                aws.sagemaker.ModelPackageGroupPolicy(
                    f"{name}-{use_case}", model_package_group_name=group.model_package_group_name,
                    resource_policy=policy, opts=pulumi.ResourceOptions(parent=self))
        approver = PlatformRole(f"{name}-approver", PlatformRoleArgs(
            role_name=contract.role_name(args.tier, "model-approver"),
            description="Approves or rejects model packages; nothing else",
            trust_policy=account_trust(naming.partition_of(args.region), args.account_id),
            statements=[
                allow(["sagemaker:UpdateModelPackage", "sagemaker:DescribeModelPackage"], packages,
                      sid="ApproveOrReject"),
                allow(["sagemaker:ListModelPackages", "sagemaker:DescribeModelPackageGroup"],
                      list(groups.values()), sid="ReviewCandidates"),
            ]), pulumi.ResourceOptions(parent=self))
        self.approver_role_arn = approver.arn
        self.register_outputs({"approverRoleArn": approver.arn})


def account_trust(partition: str, account_id: str) -> str:
    """Principals of this account that IAM (e.g. an Identity Center permission set) allows to assume the role."""
    return trust({"AWS": naming.account_root_arn(partition, account_id)})
