"""The drift check of one use case, in the ops tier: a SageMaker Pipeline whose one processing step runs the
platform's monitoring image over the traffic replicated from every serving tier, its role, and the EventBridge
Scheduler schedule that starts it (`use_case.drift_schedule`).

The check resolves the version serving from the registry and reads that version's baseline from the artifact
bucket; it writes its report into the ops capture bucket's `reports/` prefix (beside the traffic it judged,
under the ops key: nothing of the check leaves the ops account), puts a metric per feature and the drift flag
into CloudWatch and one event on the account's default bus. Whether that event asks for retraining (threshold,
single flight, cooldown) is the check's decision; `RetrainOnDrift` only delivers it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_platform import contract, monitoring_image, naming
from mlops_platform.components.iam import PlatformRole, PlatformRoleArgs, Statement, allow, service_trust
from mlops_platform.components.retraining import NETWORK_INTERFACE_ACTIONS, PipelineSchedule, schedule_pipeline
from mlops_platform.config import UseCase
from mlops_platform.pipelines.drift_check import DriftCheckSpec, drift_definition
from mlops_platform.placement import Placement


@dataclass(frozen=True)
class DriftMonitorArgs:
    placement: Placement
    """The ops tier."""
    use_case: UseCase
    capture_bucket_name: pulumi.Input[str]
    capture_bucket_arn: pulumi.Input[str]
    key_arn: pulumi.Input[str]
    """The ops tier's key: replicated captures, the job's volume and its reports."""
    artifact_bucket_arn: pulumi.Input[str]
    """Where the retraining pipeline wrote each version's baseline."""
    artifact_key_arn: pulumi.Input[str]
    registry_account_id: str
    retraining_pipeline_arn: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_ids: Sequence[pulumi.Input[str]]
    ground_truth_key_arn: pulumi.Input[str] | None = None
    """The data tier's key, under which the data lake keeps what it governs: decrypts the ground-truth records the
    live bias check joins (`useCases[].fairness.groundTruth`)."""


class DriftMonitor(pulumi.ComponentResource):
    pipeline_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: DriftMonitorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:monitoring:DriftMonitor", name, None, opts)
        use_case, placement = args.use_case, args.placement
        pipeline_name = contract.drift_pipeline_name(use_case.name)
        role = PlatformRole(f"{name}-execution", PlatformRoleArgs(
            role_name=contract.drift_check_role_name(use_case.name),
            description=f"Runs the {pipeline_name} pipeline's check of captured {use_case.name} traffic",
            trust_policy=service_trust("sagemaker.amazonaws.com", placement.account_id),
            statements=drift_check_statements(args)), pulumi.ResourceOptions(parent=self))
        image = monitoring_image.image_uri(placement.region, args.registry_account_id)
        definition = pulumi.Output.all(role.arn, args.capture_bucket_name, args.key_arn, list(args.subnet_ids),
                                       list(args.security_group_ids)).apply(
            lambda values: drift_definition(DriftCheckSpec(
                use_case=use_case, placement=placement, registry_account_id=args.registry_account_id,
                role_arn=values[0], image_uri=image, capture_uri=f"s3://{values[1]}/{use_case.name}/",
                reports_uri=f"s3://{values[1]}/{contract.drift_reports_prefix(use_case.name)}",
                kms_key_arn=values[2], subnet_ids=tuple(values[3]), security_group_ids=tuple(values[4]))))
        pipeline = aws.sagemaker.Pipeline(
            name, pipeline_name=pipeline_name, pipeline_display_name=pipeline_name, role_arn=role.arn,
            pipeline_description=f"Checks the captured {use_case.name} traffic for drift against the baseline of "
                                 "the version serving", pipeline_definition=definition,
            opts=pulumi.ResourceOptions(parent=self))
        schedule_pipeline(name, PipelineSchedule(
            placement, pipeline_name, pipeline.arn, use_case.drift_schedule,
            contract.drift_schedule_role_name(use_case.name), "scheduled drift check"), self)
        self.pipeline_arn = pipeline.arn
        self.role_arn = role.arn
        self.register_outputs({"pipelineArn": pipeline.arn})


def drift_check_statements(args: DriftMonitorArgs) -> list[Statement]:
    placement, use_case = args.placement, args.use_case
    region, account = placement.region, placement.account_id
    scope = naming.sagemaker_scope(region, account)
    registry = naming.sagemaker_scope(region, args.registry_account_id)
    group = contract.model_package_group_name(use_case.name)
    role_arn = naming.role_arn(placement.partition, account, contract.drift_check_role_name(use_case.name))
    return [
        allow(["s3:ListBucket", "s3:GetBucketLocation"], [args.capture_bucket_arn], sid="ListCaptureBucket"),
        allow(["s3:GetObject"], [pulumi.Output.concat(args.capture_bucket_arn, f"/{use_case.name}/*")],
              sid="ReadReplicatedCapture"),
        allow(["s3:PutObject", "s3:AbortMultipartUpload"],
              [pulumi.Output.concat(args.capture_bucket_arn, f"/{contract.drift_reports_prefix(use_case.name)}*")],
              sid="WriteDriftReports"),
        allow(["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey", "kms:CreateGrant"],
              [args.key_arn], sid="UseOpsKey"),
        allow(["s3:GetObject"], [pulumi.Output.concat(args.artifact_bucket_arn, f"/{use_case.name}/*")],
              sid="ReadBaselines"),
        allow(["kms:Decrypt", "kms:DescribeKey"], [args.artifact_key_arn], sid="DecryptBaselines"),
        allow(["sagemaker:DescribeModelPackage"], [f"{registry}:model-package/{group}/*"],
              sid="DescribeRegisteredVersions"),
        allow(["sagemaker:ListModelPackages"], "*", sid="FindTheServedVersion"),
        allow(["sagemaker:ListPipelineExecutions"], [args.retraining_pipeline_arn], sid="SeeRetrainingInFlight"),
        allow(["sagemaker:CreateProcessingJob", "sagemaker:DescribeProcessingJob", "sagemaker:StopProcessingJob",
               "sagemaker:AddTags"], [f"{scope}:processing-job/*"], sid="RunTheCheckJob"),
        allow(["iam:PassRole"], [role_arn], {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
              sid="PassOwnRoleToTheJob"),
        allow(["cloudwatch:PutMetricData"], "*", {"StringEquals": {"cloudwatch:namespace": [
            contract.DRIFT_METRIC_NAMESPACE]}}, sid="PublishDriftMetrics"),
        allow(["events:PutEvents"], [naming.event_bus_arn(region, account)],
              # events:source is multivalued (one per entry of the request): every entry must be the check's.
              {"ForAllValues:StringEquals": {"events:source": [contract.DRIFT_EVENT_SOURCE]},
               "Null": {"events:source": "false"}}, sid="AnnounceDrift"),
        *ground_truth_statements(args),
        allow(["ecr:GetAuthorizationToken"], "*", sid="LogInToEcr"),
        allow(["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
              [naming.ecr_repository_arn(region, args.registry_account_id, contract.MONITORING_IMAGE_REPOSITORY)],
              sid="PullMonitoringImage"),
        allow(NETWORK_INTERFACE_ACTIONS, "*", sid="RunJobsInTheVpc"),
        allow(["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
              [naming.log_group_arn(region, account, "/aws/sagemaker/*")], sid="WriteJobLogs"),
    ]


def ground_truth_statements(args: DriftMonitorArgs) -> list[Statement]:
    """The live bias check (`features.clarify`) reads the ground-truth records under its use case's prefix, and
    nothing else of that bucket; the bucket's owner (the data lake) admits the check's role on its side."""
    fairness = args.use_case.fairness
    if fairness is None or fairness.ground_truth is None:
        return []
    bucket, _, prefix = fairness.ground_truth.removeprefix("s3://").rstrip("/").partition("/")
    partition = args.placement.partition
    listed = {"StringLike": {"s3:prefix": [f"{prefix}/*" if prefix else "*"]}}
    statements = [
        allow(["s3:ListBucket"], [naming.bucket_arn(partition, bucket)], listed, sid="ListGroundTruth"),
        allow(["s3:GetObject"], [naming.objects_arn(partition, f"{bucket}/{prefix}" if prefix else bucket)],
              sid="ReadGroundTruth"),
    ]
    if args.ground_truth_key_arn is not None:
        statements.append(allow(["kms:Decrypt", "kms:DescribeKey"], [args.ground_truth_key_arn],
                                sid="DecryptGroundTruth"))
    return statements
