"""Real-time serving of one use case: the role the model runs as and, once a version is approved, the model, its
endpoint with autoscaling and canary deployments guarded by rollback alarms.

The version served is the tier's recorded state (`contract.served_model_parameter`), written by the deploy path,
never a value in config: a new account deploys the serving stack before any model exists (no endpoint; the API
answers 503), and every `pulumi up` builds the version the endpoint serves, so editing canary settings or the
instance type can never roll production back. Model and endpoint config are named by the provider (unique), so a
change that replaces them creates the new pair before the old one is deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_platform import contract, naming
from mlops_platform.components.iam import PlatformRole, PlatformRoleArgs, Statement, allow, service_trust
from mlops_platform.config import UseCase
from mlops_platform.functions.deploy_on_approval import blue_green_update_policy
from mlops_platform.placement import Placement

VARIANT = "AllTraffic"
INVOCATIONS_PER_INSTANCE_TARGET = 100.0
LATENCY_P99_MICROSECONDS = 1_000_000.0
ERRORS_PER_MINUTE = 5.0


@dataclass(frozen=True)
class ServingEndpointArgs:
    placement: Placement
    use_case: UseCase
    """Its instance type and count, autoscaling bounds and canary settings."""
    model_package_arn: str | None
    """The versioned package the endpoint serves; None before the first approval (no endpoint)."""
    kms_key_arn: pulumi.Input[str]
    model_bucket_arn: pulumi.Input[str]
    artifact_key_arn: pulumi.Input[str]
    data_capture_uri: pulumi.Input[str] | None = None


class ServingEndpoint(pulumi.ComponentResource):
    placement: Placement
    use_case: UseCase
    endpoint_name: str
    endpoint_arn: str
    """Known before the endpoint exists: the inference API and the deployer are granted it from the start."""
    model_role_arn: pulumi.Output[str]
    rollback_alarm_names: list[str]
    kms_key_arn: pulumi.Input[str]
    data_capture_uri: pulumi.Input[str] | None
    endpoint: aws.sagemaker.Endpoint | None
    """None until a version is approved."""

    def __init__(self, name: str, args: ServingEndpointArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:serving:ServingEndpoint", name, None, opts)
        place, use_case = args.placement, args.use_case.name
        endpoint_name = contract.endpoint_name(use_case, place.tier)
        role = PlatformRole(f"{name}-model", PlatformRoleArgs(
            role_name=contract.model_role_name(use_case, place.tier),
            description=f"The {use_case} model at serving time: reads its artifacts, writes its logs",
            trust_policy=service_trust("sagemaker.amazonaws.com", place.account_id),
            statements=model_statements(args, endpoint_name)), pulumi.ResourceOptions(parent=self))
        self.placement, self.use_case = place, args.use_case
        self.endpoint_name = endpoint_name
        self.endpoint_arn = contract.endpoint_arn(place.region, place.account_id, use_case, place.tier)
        self.model_role_arn = role.arn
        self.rollback_alarm_names = list(contract.rollback_alarm_names(endpoint_name))
        self.kms_key_arn, self.data_capture_uri = args.kms_key_arn, args.data_capture_uri
        self.endpoint = None
        if args.model_package_arn is not None:
            self.endpoint = self._endpoint(name, args, args.model_package_arn, role.arn)
        self.register_outputs({"endpointName": endpoint_name, "modelPackageArn": args.model_package_arn})

    def _endpoint(self, name: str, args: ServingEndpointArgs, model_package_arn: str,
                  role_arn: pulumi.Output[str]) -> aws.sagemaker.Endpoint:
        child = pulumi.ResourceOptions(parent=self)
        model = aws.sagemaker.Model(name, execution_role_arn=role_arn, enable_network_isolation=True,
                                    primary_container={"model_package_name": model_package_arn}, opts=child)
        config = aws.sagemaker.EndpointConfiguration(
            name,
            kms_key_arn=args.kms_key_arn,
            production_variants=[{"variant_name": VARIANT, "model_name": model.name,
                                  "instance_type": args.use_case.instance_type,
                                  "initial_instance_count": args.use_case.min_instances}],
            data_capture_config=_data_capture(args),
            opts=child)
        alarms = self._rollback_alarms(name)
        endpoint = aws.sagemaker.Endpoint(
            name,
            name=self.endpoint_name,
            endpoint_config_name=config.name,
            deployment_config={
                "blue_green_update_policy": blue_green_policy_args(args.use_case.canary_percent,
                                                                   args.use_case.canary_wait_seconds),
                "auto_rollback_configuration": {"alarms": [{"alarm_name": alarm.name} for alarm in alarms]},
            },
            opts=child)
        self._autoscaling(name, endpoint, args)
        return endpoint

    def _rollback_alarms(self, name: str) -> list[aws.cloudwatch.MetricAlarm]:
        errors_name, latency_name = self.rollback_alarm_names
        return [
            self._alarm(f"{name}-5xx-errors", errors_name, "Invocation5XXErrors",
                        ERRORS_PER_MINUTE, "model errors", statistic="Sum"),
            self._alarm(f"{name}-model-latency-p99", latency_name, "ModelLatency",
                        LATENCY_P99_MICROSECONDS, "p99 model latency", extended_statistic="p99"),
        ]

    def _alarm(self, resource_name: str, alarm_name: str, metric: str, threshold: float,
               what: str, statistic: str | None = None,
               extended_statistic: str | None = None) -> aws.cloudwatch.MetricAlarm:
        """Two of three one-minute periods at or over the threshold: the endpoint is unhealthy."""
        endpoint_name = self.endpoint_name
        return aws.cloudwatch.MetricAlarm(
            resource_name, name=alarm_name, namespace="AWS/SageMaker", metric_name=metric,
            dimensions={"EndpointName": endpoint_name, "VariantName": VARIANT}, statistic=statistic,
            extended_statistic=extended_statistic, period=60, evaluation_periods=3, datapoints_to_alarm=2,
            threshold=threshold, comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="notBreaching",
            alarm_description=f"{endpoint_name}: {what}; rolls back a canary deployment",
            opts=pulumi.ResourceOptions(parent=self))

    def _autoscaling(self, name: str, endpoint: aws.sagemaker.Endpoint, args: ServingEndpointArgs) -> None:
        target = aws.appautoscaling.Target(
            name, service_namespace="sagemaker", scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            resource_id=pulumi.Output.concat("endpoint/", endpoint.name, f"/variant/{VARIANT}"),
            min_capacity=args.use_case.min_instances, max_capacity=args.use_case.max_instances,
            opts=pulumi.ResourceOptions(parent=self))
        aws.appautoscaling.Policy(
            name, policy_type="TargetTrackingScaling", service_namespace=target.service_namespace,
            scalable_dimension=target.scalable_dimension, resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration={
                "target_value": INVOCATIONS_PER_INSTANCE_TARGET,
                "predefined_metric_specification": {
                    "predefined_metric_type": "SageMakerVariantInvocationsPerInstance"},
                "scale_in_cooldown": 300,
                "scale_out_cooldown": 60,
            },
            opts=pulumi.ResourceOptions(parent=self))


def blue_green_policy_args(canary_percent: int, canary_wait_seconds: int
                           ) -> aws.sagemaker.EndpointDeploymentConfigBlueGreenUpdatePolicyArgsDict:
    """The deployer's `blue_green_update_policy`, in Pulumi's shape: one policy, whoever updates the endpoint."""
    policy = blue_green_update_policy(canary_percent, canary_wait_seconds)
    routing = policy["TrafficRoutingConfiguration"]
    return {
        "traffic_routing_configuration": {
            "type": routing["Type"],
            "canary_size": {"type": routing["CanarySize"]["Type"], "value": routing["CanarySize"]["Value"]},
            "wait_interval_in_seconds": routing["WaitIntervalInSeconds"],
        },
        "termination_wait_in_seconds": policy["TerminationWaitInSeconds"],
        "maximum_execution_timeout_in_seconds": policy["MaximumExecutionTimeoutInSeconds"],
    }


def _data_capture(args: ServingEndpointArgs) -> aws.sagemaker.EndpointConfigurationDataCaptureConfigArgsDict | None:
    if args.data_capture_uri is None:
        return None
    return {"enable_capture": True, "initial_sampling_percentage": 100, "destination_s3_uri": args.data_capture_uri,
            "kms_key_id": args.kms_key_arn,
            "capture_options": [{"capture_mode": "Input"}, {"capture_mode": "Output"}]}


def model_statements(args: ServingEndpointArgs, endpoint_name: str) -> Sequence[Statement]:
    return [
        allow(["s3:GetObject"], [pulumi.Output.concat(args.model_bucket_arn, "/*")], sid="ReadModelArtifacts"),
        allow(["kms:Decrypt"], [args.artifact_key_arn], sid="DecryptModelArtifacts"),
        allow(["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
              [naming.ecr_repository_arn(args.placement.region, naming.ANY,
                                         contract.container_repository_name(args.use_case.name))],
              sid="PullUseCaseImages"),
        allow(["ecr:GetAuthorizationToken"], "*", sid="LogInToEcr"),
        allow(["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
              [naming.log_group_arn(args.placement.region, args.placement.account_id,
                                    f"/aws/sagemaker/Endpoints/{endpoint_name}:*")],
              sid="WriteEndpointLogs"),
        allow(["cloudwatch:PutMetricData"], "*", {"StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/Endpoints"}},
              sid="PublishEndpointMetrics"),
        *_capture_statements(args),
    ]


def _capture_statements(args: ServingEndpointArgs) -> list[Statement]:
    """Data capture writes requests and responses as the model's role, encrypted with the tier's key."""
    if args.data_capture_uri is None:
        return []
    objects = pulumi.Output.from_input(args.data_capture_uri).apply(
        lambda uri: naming.objects_arn(args.placement.partition, uri.removeprefix("s3://").rstrip("/")))
    return [
        allow(["s3:PutObject"], [objects], sid="WriteCapturedData"),
        allow(["kms:Encrypt", "kms:GenerateDataKey"], [args.kms_key_arn], sid="EncryptCapturedData"),
    ]
