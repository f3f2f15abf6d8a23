"""Starting a promotion on approval: an EventBridge rule on the cicd account's default bus matches a version of
the use case's group turning Approved (in large, forwarded from the registry's account) and invokes a small
Lambda (`functions/start_promotion.py`) that starts the pipeline with the package ARN as its variable —
CodePipeline takes no variables from an EventBridge target. Events the function fails on (after Lambda's own
retries) and events EventBridge cannot deliver wait in the dead-letter queue; its alarm announces them on the
pipeline's approval topic."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_platform import contract, events, naming
from mlops_platform.components.function import PlatformFunction, PlatformFunctionArgs
from mlops_platform.components.iam import allow, eventbridge_delivers_to
from mlops_platform.config import UseCase
from mlops_platform.placement import Placement

DLQ_RETENTION_SECONDS = 14 * 24 * 3600


@dataclass(frozen=True)
class PromotionStarterArgs:
    use_case: UseCase
    placement: Placement
    pipeline_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    notices_topic_arn: pulumi.Input[str]


class PromotionStarter(pulumi.ComponentResource):
    rule_arn: pulumi.Output[str]

    def __init__(self, name: str, args: PromotionStarterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:cicd:PromotionStarter", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        use_case, placement = args.use_case.name, args.placement
        pipeline = contract.promotion_pipeline_name(use_case)
        dlq = aws.sqs.Queue(f"{name}-dlq", name=contract.promotion_dead_letter_queue_name(use_case),
                            sqs_managed_sse_enabled=True, message_retention_seconds=DLQ_RETENTION_SECONDS, opts=child)
        function = PlatformFunction(name, PlatformFunctionArgs(
            function_name=contract.promotion_starter_function_name(use_case), module="start_promotion",
            description=f"Starts the {pipeline} pipeline with each approved {use_case} version",
            placement=placement,
            role_name=contract.promotion_starter_role_name(use_case),
            statements=[allow(["codepipeline:StartPipelineExecution"], [args.pipeline_arn],
                              sid="StartOnePipeline")],
            environment={"PIPELINE_NAME": pipeline,
                         "MODEL_PACKAGE_GROUP_NAME": contract.model_package_group_name(use_case),
                         "PIPELINE_VARIABLE": contract.PROMOTION_VARIABLE},
            kms_key_arn=args.kms_key_arn, log_kms_key_arn=args.kms_key_arn, dead_letter_queue_arn=dlq.arn), child)
        rule = aws.cloudwatch.EventRule(
            name, name=contract.promotion_rule_name(use_case),
            description=f"A {use_case} model package version was approved: promote it",
            event_pattern=json.dumps(events.model_package_approved_pattern(
                contract.model_package_group_name(use_case))), opts=child)
        aws.lambda_.Permission(name, action="lambda:InvokeFunction", function=function.name,
                               principal="events.amazonaws.com", source_arn=rule.arn, opts=child)
        aws.cloudwatch.EventTarget(
            name, rule=rule.name, arn=function.arn,
            retry_policy={"maximum_retry_attempts": 185, "maximum_event_age_in_seconds": 86400},
            dead_letter_config={"arn": dlq.arn}, opts=child)
        aws.sqs.QueuePolicy(name, queue_url=dlq.url, policy=eventbridge_delivers_to(
            "EventBridgeParksUndeliverableApprovals", dlq.arn, rule.arn), opts=child)
        aws.cloudwatch.MetricAlarm(
            f"{name}-dlq", name=f"{pipeline}-not-started", namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible", dimensions={"QueueName": dlq.name},
            statistic="Maximum", period=60, evaluation_periods=1, threshold=0,
            comparison_operator="GreaterThanThreshold", treat_missing_data="notBreaching",
            alarm_description=f"An approved {use_case} version did not start {pipeline}; see the dead-letter queue",
            alarm_actions=[args.notices_topic_arn], opts=child)
        self.rule_arn = rule.arn
        self.register_outputs({"ruleArn": rule.arn})


def rule_arn(placement: Placement, use_case: str) -> str:
    return naming.event_rule_arn(placement.region, placement.account_id, contract.promotion_rule_name(use_case))
