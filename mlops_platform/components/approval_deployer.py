"""Deploy on approval (small size): whenever a model package of the use case's group is Approved or Rejected, a
Lambda moves the endpoint to the newest approved version by canary (`functions/deploy_on_approval.py`), and
whenever the endpoint enters InService it records the version served in the tier's SSM state, which the serving
stack's next `pulumi up` reads (`contract.served_model_parameter`).

EventBridge puts both kinds of event on the `approvals` queue (and parks what it cannot deliver in the dead-letter
queue). The Lambda takes one message at a time; when it fails for now — an endpoint still busy with a canary,
say — the message returns after the visibility timeout and is retried for hours before the queue's redrive moves
it to the dead-letter queue; a permanent failure is parked there at once. The dead-letter queue alarms as soon as
it holds a message, and the notices topic carries the alarm and the function's own notices (a version awaiting
`pulumi up`, a rolled-back canary, a failure and its reason). Nothing is dropped: a parked event can be redriven
once the cause is fixed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_platform import contract, events, naming
from mlops_platform.components.function import PlatformFunction, PlatformFunctionArgs
from mlops_platform.components.iam import Statement, allow, eventbridge_delivers_to
from mlops_platform.components.serving import ServingEndpoint

RETRY_AFTER_SECONDS = 900
"""A failed approval returns to the queue after 15 minutes (and the function's timeout is far below that)."""
MAX_DELIVERIES = 16
"""Four hours of retries, longer than a canary deployment keeps an endpoint busy, before the DLQ."""
APPROVALS_RETENTION_SECONDS = 4 * 24 * 3600
"""An approval waits on the queue at most four days (SQS's default), far longer than its four hours of retries."""
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
"""SQS's maximum, longer than the source queue's: a message's age counts from its first enqueue, so a dead-letter
queue retaining no longer than its source would drop redriven approvals at once."""


@dataclass(frozen=True)
class ApprovalDeployerArgs:
    endpoint: ServingEndpoint
    """The endpoint kept on the newest approved version: its name, model role, rollback alarms, canary settings,
    key and data capture, as its first version was deployed."""
    registry_account_id: str
    stack_name: str
    """The serving stack, named in the notice that asks for its `pulumi up`."""


class ApprovalDeployer(pulumi.ComponentResource):
    dead_letter_queue_url: pulumi.Output[str]
    notices_topic_arn: pulumi.Output[str]
    """Where the deployer's failures are announced (the dead-letter alarm); subscribe the on-call to it."""

    def __init__(self, name: str, args: ApprovalDeployerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:serving:ApprovalDeployer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        endpoint = args.endpoint
        endpoint_name, use_case, tier = endpoint.endpoint_name, endpoint.use_case, endpoint.placement.tier
        group = contract.model_package_group_name(use_case.name)
        topic = aws.sns.Topic(f"{name}-notices", name=contract.deploy_notices_topic_name(endpoint_name),
                              kms_master_key_id=endpoint.kms_key_arn, opts=child)
        dlq = aws.sqs.Queue(f"{name}-dlq", name=contract.deploy_dead_letter_queue_name(endpoint_name),
                            sqs_managed_sse_enabled=True, message_retention_seconds=DLQ_RETENTION_SECONDS, opts=child)
        approvals = aws.sqs.Queue(
            name, name=contract.deploy_events_queue_name(endpoint_name), sqs_managed_sse_enabled=True,
            visibility_timeout_seconds=RETRY_AFTER_SECONDS, message_retention_seconds=APPROVALS_RETENTION_SECONDS,
            redrive_policy=dlq.arn.apply(lambda arn: json.dumps(
                {"deadLetterTargetArn": arn, "maxReceiveCount": MAX_DELIVERIES})),
            opts=child)
        parameter = contract.served_model_parameter(tier, use_case.name)
        function = PlatformFunction(name, PlatformFunctionArgs(
            function_name=contract.deployer_function_name(endpoint_name), module="deploy_on_approval",
            description=f"Deploys newly approved {use_case.name} models to {endpoint_name} as a canary",
            placement=endpoint.placement,
            role_name=contract.deployer_role_name(use_case.name, tier),
            statements=deployer_statements(args, endpoint_name, group, DeployerQueues(approvals.arn, dlq.arn),
                                           topic.arn),
            environment={
                "ENDPOINT_NAME": endpoint_name,
                "MODEL_PACKAGE_GROUP_NAME": group,
                "MODEL_EXECUTION_ROLE_ARN": endpoint.model_role_arn,
                "INSTANCE_TYPE": use_case.instance_type,
                "INITIAL_INSTANCE_COUNT": str(use_case.min_instances),
                "CANARY_PERCENT": str(use_case.canary_percent),
                "CANARY_WAIT_SECONDS": str(use_case.canary_wait_seconds),
                "ROLLBACK_ALARM_NAMES": ",".join(endpoint.rollback_alarm_names),
                "KMS_KEY_ARN": endpoint.kms_key_arn,
                "SERVED_MODEL_PARAMETER": parameter,
                "NOTICES_TOPIC_ARN": topic.arn,
                "DEAD_LETTER_QUEUE_URL": dlq.url,
                "STACK_NAME": args.stack_name,
                **({"DATA_CAPTURE_S3_URI": endpoint.data_capture_uri} if endpoint.data_capture_uri is not None
                   else {}),
            },
            timeout_seconds=60, kms_key_arn=endpoint.kms_key_arn, log_kms_key_arn=endpoint.kms_key_arn), child)
        rules = []
        for suffix, description, pattern in (
                ("model-decided", f"A {group} model package was approved or rejected",
                 events.model_package_decided_pattern(group)),
                ("in-service", f"{endpoint_name} entered InService",
                 events.endpoint_in_service_pattern(endpoint_name))):
            rule = aws.cloudwatch.EventRule(
                f"{name}-{suffix}", name=contract.deploy_event_rule_name(endpoint_name, suffix),
                description=description, event_pattern=json.dumps(pattern), opts=child)
            aws.cloudwatch.EventTarget(
                f"{name}-{suffix}", rule=rule.name, arn=approvals.arn,
                retry_policy={"maximum_retry_attempts": 185, "maximum_event_age_in_seconds": 86400},
                dead_letter_config={"arn": dlq.arn}, opts=child)
            rules.append(rule)
        for queue, sid in ((approvals, "EventBridgeQueuesDeploymentEvents"),
                           (dlq, "EventBridgeParksUndeliverableEvents")):
            aws.sqs.QueuePolicy(f"{name}-{sid}", queue_url=queue.url, opts=child,
                                policy=eventbridge_delivers_to(sid, queue.arn, [rule.arn for rule in rules]))
        aws.lambda_.EventSourceMapping(name, event_source_arn=approvals.arn, function_name=function.arn,
                                       batch_size=1, enabled=True, opts=child)
        aws.cloudwatch.MetricAlarm(
            f"{name}-dlq", name=contract.deploy_failed_alarm_name(endpoint_name), namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible", dimensions={"QueueName": dlq.name},
            statistic="Maximum", period=60, evaluation_periods=1, threshold=0,
            comparison_operator="GreaterThanThreshold", treat_missing_data="notBreaching",
            alarm_description=f"A {group} deployment event could not be handled; see the dead-letter queue",
            alarm_actions=[topic.arn], opts=child)
        self.dead_letter_queue_url = dlq.url
        self.notices_topic_arn = topic.arn
        self.register_outputs({"deadLetterQueueUrl": dlq.url})


@dataclass(frozen=True)
class DeployerQueues:
    approvals_arn: pulumi.Input[str]
    dead_letter_arn: pulumi.Input[str]


def deployer_statements(args: ApprovalDeployerArgs, endpoint_name: str, group: str, queues: DeployerQueues,
                        notices_topic_arn: pulumi.Input[str]) -> list[Statement]:
    place, key_arn = args.endpoint.placement, args.endpoint.kms_key_arn
    scope = naming.sagemaker_scope(place.region, place.account_id)
    registry = naming.sagemaker_scope(place.region, args.registry_account_id)
    parameter = contract.served_model_parameter(place.tier, args.endpoint.use_case.name)
    return [
        allow(["sagemaker:DescribeModelPackage"], [f"{registry}:model-package/{group}/*"], sid="ReadPackages"),
        allow(["sagemaker:ListModelPackages"], "*", sid="ListPackages"),
        # `pulumi up` lets the provider name the models and configs it creates: any of them may be the one served.
        allow(["sagemaker:DescribeModel", "sagemaker:DescribeEndpointConfig"],
              [f"{scope}:model/*", f"{scope}:endpoint-config/*"], sid="ReadServedVersions"),
        allow(["sagemaker:DescribeEndpoint", "sagemaker:DescribeEndpointConfig", "sagemaker:DescribeModel",
               "sagemaker:CreateModel", "sagemaker:CreateEndpointConfig", "sagemaker:UpdateEndpoint",
               "sagemaker:AddTags", "sagemaker:ListTags"],
              [f"{scope}:endpoint/{endpoint_name}", f"{scope}:endpoint-config/{endpoint_name}-*",
               f"{scope}:model/{endpoint_name}-*"], sid="DeployToOneEndpoint"),
        allow(["iam:PassRole"], [args.endpoint.model_role_arn],
              {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}, sid="PassModelRole"),
        allow(["kms:CreateGrant", "kms:DescribeKey"], [key_arn], sid="EncryptEndpointStorage"),
        allow(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"],
              [queues.approvals_arn], sid="ConsumeDeploymentEvents"),
        allow(["sqs:SendMessage"], [queues.dead_letter_arn], sid="ParkPermanentFailures"),
        allow(["ssm:GetParameter", "ssm:PutParameter"],
              [naming.ssm_parameter_arn(place.region, place.account_id, parameter)], sid="RecordServedVersion"),
        allow(["sns:Publish"], [notices_topic_arn], sid="PublishNotices"),
        allow(["kms:GenerateDataKey", "kms:Decrypt"], [key_arn], sid="EncryptNotices"),
    ]
