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
from mlops_platform.components.retraining_starter import RetrainingStarter, RetrainingStarterArgs
from mlops_platform.config import FeatureGroup, UseCase
from mlops_platform.pipelines.definitions import retraining_definition
from mlops_platform.pipelines.spec import FeatureGroupInput, RetrainingPipelineArgs, pipeline_step_scripts
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
    build_account_id: str
    """The cicd tier's account, whose image build records the use case's image (with `use_case.image`)."""
    feature_groups: Sequence[FeatureGroup] = ()
    """The use case's feature groups, read by the pipeline's read-features step from their offline stores."""
    feature_store_bucket_name: pulumi.Input[str] = ""
    """The artifact tier's feature store bucket, where `feature_groups` keep their offline stores."""
    training_queries: TrainingQueries | None = None
    """Where the use case trains on data lake tables (large): the preprocess step reads them by Athena queries."""


class RetrainingPipeline(pulumi.ComponentResource):
    pipeline_arn: pulumi.Output[str]
    manual_trigger: str
    starter: RetrainingStarter | None
    """With the use case's own image, the function every automatic start goes through."""

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
            for file_name, path in pipeline_step_scripts(bool(args.feature_groups)).items()
        ]
        queries = args.training_queries
        definition = pulumi.Output.all(role.arn, args.bucket_name, args.key_arn, list(args.subnet_ids),
                                       list(args.security_group_ids), args.dataset_bucket_name,
                                       args.feature_store_bucket_name,
                                       queries.results_bucket_name if queries else "",
                                       queries.results_key_arn if queries else "").apply(
            lambda values: retraining_definition(RetrainingPipelineArgs(
                use_case=args.use_case.name, region=args.placement.region, role_arn=values[0],
                artifact_bucket=values[1],
                code_prefix=f"s3://{values[1]}/{code_prefix}",
                model_package_group_name=registry_group_reference(args),
                kms_key_arn=values[2], subnet_ids=tuple(values[3]), security_group_ids=tuple(values[4]),
                metric_threshold=args.use_case.metric_threshold, drift_baseline=args.drift_baseline,
                monitoring_image_uri=drift_engine_image(args), bias_arguments=bias_arguments(args.use_case),
                input_data_url=f"s3://{values[5]}/{args.use_case.name}/input/",
                feature_groups=feature_group_inputs(args.feature_groups, values[6]),
                training_queries=queries.inputs(args.use_case.name, values[7], values[8]) if queries else ())))
        pipeline = aws.sagemaker.Pipeline(
            name, pipeline_name=pipeline_name, pipeline_display_name=pipeline_name, role_arn=role.arn,
            pipeline_description=f"Retrains, evaluates and registers the {args.use_case.name} model",
            pipeline_definition=definition, opts=pulumi.ResourceOptions(parent=self, depends_on=scripts))
        self.starter = RetrainingStarter(f"{name}-starter", RetrainingStarterArgs(
            placement=args.placement, use_case=args.use_case, pipeline_arn=pipeline.arn,
            build_account_id=args.build_account_id), child) if args.use_case.image is not None else None
        schedule_pipeline(name, PipelineSchedule(
            args.placement, pipeline_name, pipeline.arn, args.use_case.schedule,
            contract.retraining_schedule_role_name(args.use_case.name), "scheduled retraining",
            starter_arn=self.starter.function_arn if self.starter else None), self)
        self.pipeline_arn = pipeline.arn
        self.manual_trigger = manual_trigger(args.placement, args.use_case)
        self.register_outputs({"pipelineArn": pipeline.arn})


def manual_trigger(placement: Placement, use_case: UseCase) -> str:
    """The command that starts a run by hand; with the use case's own image, the image recorded last."""
    pipeline, region = contract.pipeline_name(use_case.name), placement.region
    command = f"aws sagemaker start-pipeline-execution --pipeline-name {pipeline} --region {region}"
    if use_case.image is None:
        return command
    record = (f"aws ssm get-parameter --name {contract.image_record_parameter(use_case.name)} "
              f"--query Parameter.Value --output text --region {region}")
    return f'{command} --pipeline-parameters Name={contract.TRAINING_IMAGE_PARAMETER},Value="$({record})"'


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
    starter_arn: pulumi.Input[str] | None = None
    """A function that starts the pipeline (`RetrainingStarter`), invoked instead of starting it directly."""


def schedule_pipeline(name: str, schedule: PipelineSchedule, parent: pulumi.Resource) -> aws.scheduler.Schedule:
    if schedule.starter_arn is None:
        may = allow(["sagemaker:StartPipelineExecution"], [schedule.pipeline_arn], sid="StartOnePipeline")
    else:
        may = allow(["lambda:InvokeFunction"], [schedule.starter_arn], sid="InvokeThePipelinesStarter")
    role = PlatformRole(f"{name}-schedule", PlatformRoleArgs(
        role_name=schedule.role_name, description=f"Lets EventBridge Scheduler start {schedule.pipeline_name}",
        trust_policy=service_trust("scheduler.amazonaws.com", schedule.placement.account_id),
        statements=[may]), pulumi.ResourceOptions(parent=parent))
    target: aws.scheduler.ScheduleTargetArgsDict = {
        "arn": start_pipeline_target(schedule.placement.region), "role_arn": role.arn,
        "input": json.dumps({"PipelineName": schedule.pipeline_name, "PipelineExecutionDescription": schedule.what}),
        "retry_policy": {"maximum_retry_attempts": 3, "maximum_event_age_in_seconds": 3600}}
    if schedule.starter_arn is not None:
        # The schedule's execution id is the starter's request token: a retried delivery is one execution.
        target["arn"] = schedule.starter_arn
        target["input"] = json.dumps({"reason": schedule.what, "id": "<aws.scheduler.execution-id>"})
    return aws.scheduler.Schedule(
        name, name=f"{schedule.pipeline_name}-schedule", schedule_expression=schedule.expression,
        flexible_time_window={"mode": "OFF"}, target=target, opts=pulumi.ResourceOptions(parent=parent))


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
        # A hand-started run of a use case with its own image passes the recorded image (`manual_trigger`).
        allow(["ssm:GetParameter"], [naming.ssm_parameter_arn(region, account_id, contract.image_record_parameter(u))
                                     for u in use_cases], sid="ReadTheRecordedImages"),
    ]


def feature_group_inputs(groups: Sequence[FeatureGroup], bucket_name: str) -> tuple[FeatureGroupInput, ...]:
    return tuple(FeatureGroupInput(
        name=group.name, record_identifier=group.record_identifier, event_time=group.event_time,
        offline_store_uri=f"s3://{bucket_name}/{contract.feature_group_offline_prefix(group.use_case, group.name)}/")
        for group in groups)


def registry_group_reference(args: RetrainingArgs) -> str:
    """The model package group the pipeline registers into (its ARN where the registry is in another account)."""
    place = args.placement
    return contract.model_package_group_reference(place.region, place.account_id, args.registry_account_id,
                                                  args.use_case.name)


def bias_arguments(use_case: UseCase) -> tuple[str, ...] | None:
    """The bias step's `bias-baseline` arguments where the use case defines fairness (`features.clarify`)."""
    return None if use_case.fairness is None else tuple(monitoring_image.bias_baseline_arguments(use_case.fairness))


def runs_monitoring_image(args: RetrainingArgs) -> bool:
    """The open engine's drift baseline step or the bias step (`features.clarify`) runs in the monitoring image."""
    return args.drift_baseline == "open" or args.use_case.fairness is not None


def drift_engine_image(args: RetrainingArgs) -> str | None:
    """The monitoring image the open engine's baseline and bias steps run, in the registry account's ECR."""
    if not runs_monitoring_image(args):
        return None
    return monitoring_image.image_uri(args.placement.region, args.registry_account_id)


def image_pull_statements(args: RetrainingArgs) -> list[Statement]:
    repositories = [contract.container_repository_name(args.use_case.name)]
    if runs_monitoring_image(args):
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
    # A use case training on data lake tables reads them through Lake Formation only: no dataset around it.
    datasets = [] if args.training_queries is not None else [args.dataset_bucket_arn]
    return [
        allow(["s3:ListBucket", "s3:GetBucketLocation"], [args.bucket_arn, *datasets], sid="ListBuckets"),
        allow(["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
              [pulumi.Output.concat(args.bucket_arn, "/*")], sid="ReadWriteArtifacts"),
        *[allow(["s3:GetObject"], [pulumi.Output.concat(bucket, "/*")], sid="ReadDatasets") for bucket in datasets],
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
