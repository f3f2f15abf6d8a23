"""Drift → retraining for one use case: an EventBridge rule on the ops account's default bus that hands the drift
check's "retrain" events to the retraining pipeline (a SageMaker pipeline target, with a role that may start that
pipeline and nothing else), retrying and parking what it cannot deliver in a dead-letter queue.

The rule only delivers: the check (the monitoring image) decides whether an event asks for retraining — past the
use case's threshold, with no retraining in flight and the cooldown over — and says so in `detail.retrain`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_platform import contract, events
from mlops_platform.components.iam import PlatformRole, PlatformRoleArgs, allow, eventbridge_delivers_to, service_trust
from mlops_platform.components.retraining_starter import RetrainingStarter
from mlops_platform.config import UseCase
from mlops_platform.placement import Placement

DLQ_RETENTION_SECONDS = 14 * 24 * 3600
MAXIMUM_RETRY_ATTEMPTS = 24
MAXIMUM_EVENT_AGE_SECONDS = 6 * 3600
"""A retraining started more than six hours after the drift it answers would only compete with the next check."""


@dataclass(frozen=True)
class RetrainOnDriftArgs:
    placement: Placement
    """The ops tier, where the check puts its events and the retraining pipeline runs."""
    use_case: UseCase
    retraining_pipeline_arn: pulumi.Input[str]
    starter: RetrainingStarter | None = None
    """With the use case's own image, the function that starts the pipeline with the recorded image: the rule
    invokes it instead of starting the pipeline itself."""


class RetrainOnDrift(pulumi.ComponentResource):
    rule_arn: pulumi.Output[str]
    dead_letter_queue_arn: pulumi.Output[str]

    def __init__(self, name: str, args: RetrainOnDriftArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:monitoring:RetrainOnDrift", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        use_case = args.use_case.name
        pipeline = contract.pipeline_name(use_case)
        dlq = aws.sqs.Queue(name, name=contract.retrain_on_drift_dead_letter_queue_name(use_case),
                            sqs_managed_sse_enabled=True, message_retention_seconds=DLQ_RETENTION_SECONDS, opts=child)
        rule = aws.cloudwatch.EventRule(
            name, name=contract.retrain_on_drift_rule_name(use_case),
            description=f"The drift check found {use_case} drifted and asks for retraining",
            event_pattern=json.dumps(events.drift_retrain_pattern(use_case)), opts=child)
        target: pulumi.Input[str] = args.retraining_pipeline_arn
        role_arn: pulumi.Input[str] | None = None
        if args.starter is None:
            role_arn = PlatformRole(f"{name}-role", PlatformRoleArgs(
                role_name=contract.role_name(args.placement.tier, f"{use_case}-retrain-on-drift"),
                description=f"Lets EventBridge start {pipeline} when the drift check asks for it",
                trust_policy=service_trust("events.amazonaws.com", args.placement.account_id),
                statements=[allow(["sagemaker:StartPipelineExecution"], [args.retraining_pipeline_arn],
                                  sid="StartTheRetrainingPipeline")]), child).arn
        else:
            target = args.starter.function_arn
            aws.lambda_.Permission(name, action="lambda:InvokeFunction", function=args.starter.function_name,
                                   principal="events.amazonaws.com", source_arn=rule.arn, opts=child)
        aws.cloudwatch.EventTarget(
            name, rule=rule.name, arn=target, role_arn=role_arn,
            retry_policy={"maximum_retry_attempts": MAXIMUM_RETRY_ATTEMPTS,
                          "maximum_event_age_in_seconds": MAXIMUM_EVENT_AGE_SECONDS},
            dead_letter_config={"arn": dlq.arn}, opts=child)
        aws.sqs.QueuePolicy(name, queue_url=dlq.url, policy=eventbridge_delivers_to(
            "EventBridgeParksUndeliverableDriftEvents", dlq.arn, rule.arn), opts=child)
        self.rule_arn = rule.arn
        self.dead_letter_queue_arn = dlq.arn
        self.register_outputs({"ruleArn": rule.arn})
