"""SageMaker Studio for the data scientists: a VPC-only domain encrypted with the tier's key, one user
profile per data scientist, and their execution role.

The role lets data scientists experiment in their account and register candidate models, never approve
them, never touch endpoints: `CreateModelPackage` only with `ModelApprovalStatus=PendingManualApproval`,
and explicit denies on approval and on every endpoint action.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_platform import contract, naming
from mlops_platform.components.iam import PlatformRole, PlatformRoleArgs, Statement, allow, deny, service_trust
from mlops_platform.components.retraining import NETWORK_INTERFACE_ACTIONS, pipeline_run_statements
from mlops_platform.placement import Placement

ENDPOINT_ACTIONS: tuple[str, ...] = (
    "sagemaker:CreateEndpoint", "sagemaker:CreateEndpointConfig", "sagemaker:UpdateEndpoint",
    "sagemaker:UpdateEndpointWeightsAndCapacities", "sagemaker:DeleteEndpoint", "sagemaker:DeleteEndpointConfig",
    "sagemaker:InvokeEndpoint",
)
JOB_ACTIONS: tuple[str, ...] = (
    "sagemaker:CreateProcessingJob", "sagemaker:CreateTrainingJob", "sagemaker:CreateHyperParameterTuningJob",
    "sagemaker:DescribeProcessingJob", "sagemaker:DescribeTrainingJob", "sagemaker:DescribeHyperParameterTuningJob",
    "sagemaker:StopProcessingJob", "sagemaker:StopTrainingJob", "sagemaker:StopHyperParameterTuningJob",
    "sagemaker:AddTags",
)
STUDIO_APP_ACTIONS: tuple[str, ...] = (
    "sagemaker:CreateApp", "sagemaker:DeleteApp", "sagemaker:DescribeApp", "sagemaker:CreateSpace",
    "sagemaker:DescribeSpace", "sagemaker:DescribeDomain", "sagemaker:DescribeUserProfile",
)
LIST_ACTIONS: tuple[str, ...] = (
    "sagemaker:ListApps", "sagemaker:ListHyperParameterTuningJobs", "sagemaker:ListProcessingJobs",
    "sagemaker:ListSpaces", "sagemaker:ListTrainingJobs", "sagemaker:ListUserProfiles",
)
"""List actions authorize on no resource: AWS evaluates them against `*` only (Studio's own UI calls them)."""


@dataclass(frozen=True)
class StudioDomainArgs:
    placement: Placement
    domain_name: str
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    workspace_bucket_arn: pulumi.Input[str]
    read_policy_arns: Sequence[pulumi.Input[str]]
    """Managed policies for governed reads (model artifacts, datasets) published by other tiers."""
    use_cases: Sequence[str]
    data_scientists: Sequence[str]
    registry_account_id: str
    """The account of the artifact tier's model registry."""
    pipeline_account_id: str
    """The account of the ops tier's retraining pipelines."""


class StudioDomain(pulumi.ComponentResource):
    domain_id: pulumi.Output[str]
    execution_role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: StudioDomainArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:studio:StudioDomain", name, None, opts)
        role = PlatformRole(f"{name}-data-scientist", PlatformRoleArgs(
            role_name=contract.data_scientist_role_name(),
            description="SageMaker Studio execution role of the data scientists",
            trust_policy=service_trust("sagemaker.amazonaws.com", args.placement.account_id),
            statements=data_scientist_statements(args),
            managed_policy_arns=list(args.read_policy_arns)), pulumi.ResourceOptions(parent=self))
        domain = aws.sagemaker.Domain(
            name,
            domain_name=args.domain_name,
            auth_mode="IAM",
            app_network_access_type="VpcOnly",
            vpc_id=args.vpc_id,
            subnet_ids=list(args.subnet_ids),
            kms_key_id=args.kms_key_arn,
            default_user_settings={
                "execution_role": role.arn,
                "security_groups": [args.security_group_id],
                "sharing_settings": {"notebook_output_option": "Disabled"},
            },
            retention_policy={"home_efs_file_system": "Retain"},
            opts=pulumi.ResourceOptions(parent=self),
        )
        for user in args.data_scientists:
            aws.sagemaker.UserProfile(f"{name}-{user}", domain_id=domain.id, user_profile_name=user,
                                      tags={contract.STUDIO_USER_TAG: user},
                                      user_settings={"execution_role": role.arn,
                                                     "security_groups": [args.security_group_id]},
                                      opts=pulumi.ResourceOptions(parent=self))
        self.domain_id = domain.id
        self.execution_role_arn = role.arn
        self.register_outputs({"domainId": domain.id})


def data_scientist_statements(args: StudioDomainArgs) -> list[Statement]:
    place = args.placement
    scope = naming.sagemaker_scope(place.region, place.account_id)
    registry = naming.sagemaker_scope(place.region, args.registry_account_id)
    role_arn = contract.role_arn(place.partition, place.account_id, contract.data_scientist_role_name())
    bucket = args.workspace_bucket_arn
    workspace_objects = pulumi.Output.concat(bucket, "/*")
    statements: list[Statement] = [
        allow(["s3:ListBucket", "s3:GetBucketLocation"], [bucket], sid="ListWorkspace"),
        allow(["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"], [workspace_objects],
              sid="UseWorkspace"),
        allow(["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"], [args.kms_key_arn],
              sid="UseWorkspaceKey"),
        allow(["kms:CreateGrant"], [args.kms_key_arn], {"Bool": {"kms:GrantIsForAWSResource": "true"}},
              sid="JobsEncryptTheirVolumesWithTheWorkspaceKey"),
        allow(NETWORK_INTERFACE_ACTIONS, "*", sid="JobsRunInTheVpc"),
        allow(LIST_ACTIONS, "*", sid="ListStudioAndJobs"),
        allow(JOB_ACTIONS, [f"{scope}:processing-job/*", f"{scope}:training-job/*",
                            f"{scope}:hyper-parameter-tuning-job/*"], sid="RunExperimentJobs"),
        allow(STUDIO_APP_ACTIONS, [f"{scope}:app/*", f"{scope}:space/*", f"{scope}:domain/*",
                                   f"{scope}:user-profile/*"], sid="UseStudio"),
        allow(["sagemaker:CreateModelPackage"], [f"{registry}:model-package/*"],
              {"StringEquals": {"sagemaker:ModelApprovalStatus": "PendingManualApproval"}},
              sid="RegisterCandidatesOnlyPendingApproval"),
        allow(["sagemaker:DescribeModelPackage", "sagemaker:DescribeModelPackageGroup",
               "sagemaker:ListModelPackages"], [f"{registry}:model-package/*", f"{registry}:model-package-group/*"],
              sid="ReadRegistry"),
        allow(["iam:PassRole"], [role_arn], {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
              sid="PassOwnRoleToSageMakerJobs"),
        allow(["ecr:GetAuthorizationToken"], "*", sid="LogInToEcr"),
        allow(["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
              [naming.ecr_repository_arn(place.region, place.account_id, f"{contract.PROJECT}/*")], sid="PullImages"),
        allow(["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
              [naming.log_group_arn(place.region, place.account_id, "/aws/sagemaker/*")], sid="WriteJobLogs"),
        deny(["sagemaker:UpdateModelPackage"], [f"{registry}:model-package/*"], sid="NeverApproveModels"),
        deny(ENDPOINT_ACTIONS, "*", sid="NeverTouchEndpoints"),
    ]
    return [*statements, *pipeline_access_statements(args)]


def pipeline_access_statements(args: StudioDomainArgs) -> list[Statement]:
    """Pipelines take no resource policy: in the data scientists' own account they run them directly; in another
    (large: ops) they assume that account's pipeline operator role."""
    if not args.use_cases:
        return []
    if args.pipeline_account_id == args.placement.account_id:
        return pipeline_run_statements(args.placement.region, args.placement.account_id, args.use_cases)
    operator = contract.role_arn(args.placement.partition, args.pipeline_account_id,
                                 contract.pipeline_operator_role_name())
    return [allow(["sts:AssumeRole"], [operator], sid="RunPipelinesAsTheOpsOperator")]
