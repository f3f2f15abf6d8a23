"""Where a use case builds its own image: the function every automatic retraining start goes through
(`functions/start_retraining.py`), which passes the image the use case's image pipeline recorded last as the
pipeline's TrainingImage parameter, and the recorder role that alone writes that record.

The schedule and the drift rule invoke the function asynchronously; what it fails on (no image recorded yet,
throttling) is retried by Lambda, then parked in its dead-letter queue. The recorder role lives in the ops tier
beside the record and trusts the cicd account's root pinned to the use case's image build role by
`aws:PrincipalArn`, so it deploys before or after that role exists.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_platform import contract, naming
from mlops_platform.components.function import PlatformFunction, PlatformFunctionArgs
from mlops_platform.components.iam import PlatformRole, PlatformRoleArgs, allow, trust
from mlops_platform.config import UseCase
from mlops_platform.placement import Placement

DLQ_RETENTION_SECONDS = 14 * 24 * 3600


@dataclass(frozen=True)
class RetrainingStarterArgs:
    placement: Placement
    """The ops tier: the pipeline, the record and the starter live there."""
    use_case: UseCase
    pipeline_arn: pulumi.Input[str]
    build_account_id: str
    """The cicd tier's account, whose image build role writes the record."""


class RetrainingStarter(pulumi.ComponentResource):
    function_arn: pulumi.Output[str]
    function_name: pulumi.Output[str]

    def __init__(self, name: str, args: RetrainingStarterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:pipelines:RetrainingStarter", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        use_case, placement = args.use_case.name, args.placement
        parameter = record_parameter_arn(placement, use_case)
        pipeline = contract.pipeline_name(use_case)
        dlq = aws.sqs.Queue(f"{name}-dlq", name=contract.retraining_starter_dead_letter_queue_name(use_case),
                            sqs_managed_sse_enabled=True, message_retention_seconds=DLQ_RETENTION_SECONDS, opts=child)
        function = PlatformFunction(name, PlatformFunctionArgs(
            function_name=contract.retraining_starter_function_name(use_case), module="start_retraining",
            description=f"Starts {pipeline} with the newest recorded {use_case} image", placement=placement,
            role_name=contract.retraining_starter_role_name(use_case),
            statements=[allow(["sagemaker:StartPipelineExecution"], [args.pipeline_arn], sid="StartOnePipeline"),
                        allow(["ssm:GetParameter"], [parameter], sid="ReadTheImageRecord")],
            environment={"PIPELINE_NAME": pipeline, "IMAGE_PARAMETER": contract.image_record_parameter(use_case),
                         "PIPELINE_PARAMETER": contract.TRAINING_IMAGE_PARAMETER},
            dead_letter_queue_arn=dlq.arn), child)
        build_role = contract.role_arn(placement.partition, args.build_account_id,
                                       contract.image_build_role_name(use_case))
        PlatformRole(f"{name}-recorder", PlatformRoleArgs(
            role_name=contract.image_recorder_role_name(use_case),
            description=f"The {use_case} image build records the image it pushed; nothing else",
            trust_policy=trust({"AWS": naming.account_root_arn(placement.partition, args.build_account_id)},
                               condition={"ArnEquals": {"aws:PrincipalArn": build_role}}),
            statements=[allow(["ssm:PutParameter"], [parameter], sid="RecordTheImage")]), child)
        self.function_arn = function.arn
        self.function_name = function.name
        self.register_outputs({"functionArn": function.arn})


def record_parameter_arn(placement: Placement, use_case: str) -> str:
    return naming.ssm_parameter_arn(placement.region, placement.account_id, contract.image_record_parameter(use_case))
