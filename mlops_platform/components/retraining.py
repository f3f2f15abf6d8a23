"""The retraining pipeline of one use case: its SageMaker Pipeline (definition generated offline by the
sagemaker SDK), the step scripts it runs, its execution role, and the schedule that starts it.

The role may register models only as PendingManualApproval (an IAM condition, so no pipeline parameter
can approve a model); approval stays with the model-approver role.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_platform import contract, monitoring_image, naming
from mlops_platform.components.data_lake_access import TrainingQueries
from mlops_platform.components.iam import PlatformRole, PlatformRoleArgs, Statement, allow, service_trust
from mlops_platform.config import UseCase
from mlops_platform.pipelines.definitions import retraining_definition
from mlops_platform.pipelines.spec import RetrainingPipelineArgs, step_scripts
from mlops_platform.placement import Placement

NETWORK_INTERFACE_ACTIONS: tuple[str, ...] = (
    "ec2:CreateNetworkInterface", "ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission", "ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcs",
    "ec2:DescribeDhcpOptions", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups",
)


@dataclass(frozen=True)
class RetrainingArgs:
    placement: Placement
    use_case: UseCase
    """Its schedule and the metric threshold a model must meet to be registered."""
    drift_baseline: str | None
    """The drift baseline step (`features.modelMonitor`): `open` runs the platform's drift engine in its monitoring
    image (pulled from the registry account's ECR), `sagemaker` Model Monitor's analyzer; None, no baseline."""
    bucket_name: pulumi.Input[str]
    """The artifact bucket: step scripts, intermediate data and model artifacts."""
    bucket_arn: pulumi.Input[str]
    key_arn: pulumi.Input[str]
    dataset_bucket_name: pulumi.Input[str]
    dataset_bucket_arn: pulumi.Input[str]
    dataset_key_arn: pulumi.Input[str]
    registry_account_id: str
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_ids: Sequence[pulumi.Input[str]]
    training_queries: TrainingQueries | None = None
    """Where the use case trains on data lake tables (large): the preprocess step reads them by Athena queries."""


class RetrainingPipeline(pulumi.ComponentResource):
    pipeline_arn: pulumi.Output[str]
    manual_trigger: str

    def __init__(self, name: str, args: RetrainingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:pipelines:RetrainingPipeline", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        pipeline_name = contract.pipeline_name(args.use_case.name)
        role_name = contract.retraining_role_name(args.use_case.name)
        role = PlatformRole(f"{name}-execution", PlatformRoleArgs(
            role_name=role_name, description=f"Runs the {pipeline_name} pipeline's jobs",
            trust_policy=service_trust("sagemaker.amazonaws.com", args.placement.account_id),
            statements=pipeline_statements(args, role_name)), child)
        code_prefix = contract.step_script_prefix(args.use_case.name)
        scripts = [
            aws.s3.BucketObjectv2(f"{name}-{file_name}", bucket=args.bucket_name, key=f"{code_prefix}/{file_name}",
                                  source=pulumi.FileAsset(str(path)), server_side_encryption="aws:kms",
                                  kms_key_id=args.key_arn, opts=child)
            for file_name, path in step_scripts().items()
        ]
        queries = args.training_queries
        definition = pulumi.Output.all(role.arn, args.bucket_name, args.key_arn, list(args.subnet_ids),
                                       list(args.security_group_ids), args.dataset_bucket_name,
                                       queries.results_bucket_name if queries else "",
                                       queries.results_key_arn if queries else "").apply(
            lambda values: retraining_definition(RetrainingPipelineArgs(
                use_case=args.use_case.name, region=args.placement.region, role_arn=values[0],
                artifact_bucket=values[1],
                code_prefix=f"s3://{values[1]}/{code_prefix}",
                model_package_group_name=registry_group_reference(args),
                kms_key_arn=values[2], subnet_ids=tuple(values[3]), security_group_ids=tuple(values[4]),
                metric_threshold=args.use_case.metric_threshold, drift_baseline=args.drift_baseline,
                monitoring_image_uri=drift_engine_image(args),
                input_data_url=f"s3://{values[5]}/{args.use_case.name}/input/",
                training_queries=queries.inputs(args.use_case.name, values[6], values[7]) if queries else ())))
        pipeline = aws.sagemaker.Pipeline(
            name, pipeline_name=pipeline_name, pipeline_display_name=pipeline_name, role_arn=role.arn,
            pipeline_description=f"Retrains, evaluates and registers the {args.use_case.name} model",
            pipeline_definition=definition, opts=pulumi.ResourceOptions(parent=self, depends_on=scripts))
        schedule_pipeline(name, PipelineSchedule(
            args.placement, pipeline_name, pipeline.arn, args.use_case.schedule,
            contract.retraining_schedule_role_name(args.use_case.name), "scheduled retraining"), self)
        self.pipeline_arn = pipeline.arn
        self.manual_trigger = (f"aws sagemaker start-pipeline-execution --pipeline-name {pipeline_name} "
                               f"--region {args.placement.region}")
        self.register_outputs({"pipelineArn": pipeline.arn})


@dataclass(frozen=True)
class PipelineSchedule:
    """A SageMaker pipeline started by EventBridge Scheduler, with a role that may start that pipeline only."""

    placement: Placement
    pipeline_name: str
    pipeline_arn: pulumi.Input[str]
    expression: str
    role_name: str
    what: str
    """Why it runs, in the execution's description (`scheduled retraining`)."""


def schedule_pipeline(name: str, schedule: PipelineSchedule, parent: pulumi.Resource) -> aws.scheduler.Schedule:
    role = PlatformRole(f"{name}-schedule", PlatformRoleArgs(
        role_name=schedule.role_name, description=f"Lets EventBridge Scheduler start {schedule.pipeline_name}",
        trust_policy=service_trust("scheduler.amazonaws.com", schedule.placement.account_id),
        statements=[allow(["sagemaker:StartPipelineExecution"], [schedule.pipeline_arn], sid="StartOnePipeline")]),
        pulumi.ResourceOptions(parent=parent))
    return aws.scheduler.Schedule(
        name, name=f"{schedule.pipeline_name}-schedule", schedule_expression=schedule.expression,
        flexible_time_window={"mode": "OFF"},
        target={"arn": start_pipeline_target(schedule.placement.region), "role_arn": role.arn,
                "input": json.dumps({"PipelineName": schedule.pipeline_name,
                                     "PipelineExecutionDescription": schedule.what}),
                "retry_policy": {"maximum_retry_attempts": 3, "maximum_event_age_in_seconds": 3600}},
        opts=pulumi.ResourceOptions(parent=parent))


def start_pipeline_target(region: str) -> str:
    return naming.scheduler_universal_target(naming.partition_of(region), "sagemaker", "startPipelineExecution")


def pipeline_run_statements(region: str, account_id: str, use_cases: Sequence[str]) -> list[Statement]:
    """What running a use case's retraining by hand takes: start it, and follow and stop its executions."""
    pipelines = [naming.sagemaker_arn(region, account_id, f"pipeline/{contract.pipeline_name(use_case)}")
                 for use_case in use_cases]
    if not pipelines:
        return []
    return [
        allow(["sagemaker:StartPipelineExecution", "sagemaker:DescribePipeline", "sagemaker:ListPipelineExecutions"],
              pipelines, sid="RunOwnPipelines"),
        allow(["sagemaker:DescribePipelineExecution", "sagemaker:ListPipelineExecutionSteps",
               "sagemaker:StopPipelineExecution"], [f"{pipeline}/execution/*" for pipeline in pipelines],
              sid="FollowOwnPipelineExecutions"),
    ]


def registry_group_reference(args: RetrainingArgs) -> str:
    """The model package group the pipeline registers into (its ARN where the registry is in another account)."""
    place = args.placement
    return contract.model_package_group_reference(place.region, place.account_id, args.registry_account_id,
                                                  args.use_case.name)


def drift_engine_image(args: RetrainingArgs) -> str | None:
    """The monitoring image the open engine's baseline step runs, in the registry account's ECR."""
    if args.drift_baseline != "open":
        return None
    return monitoring_image.image_uri(args.placement.region, args.registry_account_id)


def image_pull_statements(args: RetrainingArgs) -> list[Statement]:
    repositories = [contract.container_repository_name(args.use_case.name)]
    if args.drift_baseline == "open":
        repositories.append(contract.MONITORING_IMAGE_REPOSITORY)
    return [
        allow(["ecr:GetAuthorizationToken"], "*", sid="LogInToEcr"),
        allow(["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
              [naming.ecr_repository_arn(args.placement.region, args.registry_account_id, repository)
               for repository in repositories], sid="PullUseCaseImages"),
    ]


def pipeline_statements(args: RetrainingArgs, role_name: str) -> list[Statement]:
    scope = naming.sagemaker_scope(args.placement.region, args.placement.account_id)
    group = contract.model_package_group_name(args.use_case.name)
    registry = naming.sagemaker_scope(args.placement.region, args.registry_account_id)
    return [
        allow(["s3:ListBucket", "s3:GetBucketLocation"], [args.bucket_arn, args.dataset_bucket_arn],
              sid="ListBuckets"),
        allow(["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
              [pulumi.Output.concat(args.bucket_arn, "/*")], sid="ReadWriteArtifacts"),
        allow(["s3:GetObject"], [pulumi.Output.concat(args.dataset_bucket_arn, "/*")], sid="ReadDatasets"),
        allow(["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:CreateGrant", "kms:DescribeKey"],
              [args.key_arn], sid="UseArtifactKey"),
        allow(["kms:Decrypt", "kms:DescribeKey"], [args.dataset_key_arn], sid="DecryptDatasets"),
        allow(["sagemaker:CreateProcessingJob", "sagemaker:CreateTrainingJob", "sagemaker:DescribeProcessingJob",
               "sagemaker:DescribeTrainingJob", "sagemaker:StopProcessingJob", "sagemaker:StopTrainingJob",
               "sagemaker:AddTags"],
              [f"{scope}:processing-job/*", f"{scope}:training-job/*"], sid="RunPipelineJobs"),
        allow(["sagemaker:CreateModelPackage"], [f"{registry}:model-package/{group}/*",
                                                 f"{registry}:model-package-group/{group}"],
              {"StringEquals": {"sagemaker:ModelApprovalStatus": "PendingManualApproval"}},
              sid="RegisterOnlyPendingApproval"),
        allow(["sagemaker:DescribeModelPackageGroup", "sagemaker:DescribeModelPackage"],
              [f"{registry}:model-package-group/{group}", f"{registry}:model-package/{group}/*"],
              sid="ReadOwnRegistry"),
        allow(["iam:PassRole"], [naming.role_arn(args.placement.partition, args.placement.account_id, role_name)],
              {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}, sid="PassOwnRoleToJobs"),
        *image_pull_statements(args),
        allow(NETWORK_INTERFACE_ACTIONS, "*", sid="RunJobsInTheVpc"),
        allow(["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
              [naming.log_group_arn(args.placement.region, args.placement.account_id, "/aws/sagemaker/*")],
              sid="WriteJobLogs"),
        allow(["cloudwatch:PutMetricData"], "*", {"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
              sid="PublishJobMetrics"),
    ]
