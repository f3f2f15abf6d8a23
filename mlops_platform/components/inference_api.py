"""An HTTP API in front of one endpoint: `POST /invocations`, IAM-authorized, throttled and access-logged,
served by the inference Lambda (content-type and size checks, model errors mapped to HTTP statuses)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_platform import contract
from mlops_platform.components.function import LOG_RETENTION_DAYS, PlatformFunction, PlatformFunctionArgs
from mlops_platform.components.iam import allow
from mlops_platform.components.serving import ServingEndpoint

ROUTE = "POST /invocations"
ACCESS_LOG_FORMAT = json.dumps({
    "requestId": "$context.requestId", "ip": "$context.identity.sourceIp", "caller": "$context.identity.caller",
    "user": "$context.identity.user", "requestTime": "$context.requestTime", "routeKey": "$context.routeKey",
    "status": "$context.status", "protocol": "$context.protocol", "responseLength": "$context.responseLength",
    "integrationError": "$context.integrationErrorMessage",
})


@dataclass(frozen=True)
class InferenceApiArgs:
    endpoint: ServingEndpoint
    """The endpoint served: its name, ARN, placement and use case."""
    kms_key_arn: pulumi.Input[str]
    """Encrypts the function's environment and both log groups; the key policy admits CloudWatch Logs."""
    throttling_rate: float = 50.0
    throttling_burst: int = 100


class InferenceApi(pulumi.ComponentResource):
    url: pulumi.Output[str]

    def __init__(self, name: str, args: InferenceApiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:serving:InferenceApi", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        endpoint, use_case = args.endpoint, args.endpoint.use_case.name
        function_name = contract.inference_function_name(endpoint.endpoint_name)
        handler = PlatformFunction(name, PlatformFunctionArgs(
            function_name=function_name, module="inference",
            description=f"Validates requests and invokes the {use_case} endpoint",
            placement=endpoint.placement,
            role_name=contract.inference_role_name(use_case, endpoint.placement.tier),
            statements=[allow(["sagemaker:InvokeEndpoint"], [endpoint.endpoint_arn], sid="InvokeOneEndpoint")],
            environment={"ENDPOINT_NAME": endpoint.endpoint_name}, kms_key_arn=args.kms_key_arn,
            log_kms_key_arn=args.kms_key_arn), child)
        api = aws.apigatewayv2.Api(name, name=function_name, protocol_type="HTTP",
                                   description=f"Real-time inference for {use_case}", opts=child)
        integration = aws.apigatewayv2.Integration(
            name, api_id=api.id, integration_type="AWS_PROXY", integration_uri=handler.invoke_arn,
            integration_method="POST", payload_format_version="2.0", timeout_milliseconds=29000, opts=child)
        aws.apigatewayv2.Route(name, api_id=api.id, route_key=ROUTE, authorization_type="AWS_IAM",
                               target=pulumi.Output.concat("integrations/", integration.id), opts=child)
        access_logs = aws.cloudwatch.LogGroup(f"{name}-access", name=f"/aws/apigateway/{function_name}",
                                              retention_in_days=LOG_RETENTION_DAYS, kms_key_id=args.kms_key_arn,
                                              opts=child)
        stage = aws.apigatewayv2.Stage(
            name, api_id=api.id, name="$default", auto_deploy=True,
            access_log_settings={"destination_arn": access_logs.arn, "format": ACCESS_LOG_FORMAT},
            default_route_settings={"throttling_rate_limit": args.throttling_rate,
                                    "throttling_burst_limit": args.throttling_burst,
                                    "detailed_metrics_enabled": True},
            opts=child)
        aws.lambda_.Permission(name, action="lambda:InvokeFunction", function=handler.name,
                               principal="apigateway.amazonaws.com",
                               source_arn=pulumi.Output.concat(api.execution_arn, "/*/*/invocations"), opts=child)
        self.url = pulumi.Output.concat(stage.invoke_url, "invocations")
        self.register_outputs({"url": self.url})
