"""API Gateway guardrails: every route or method demands authorization, and every stage keeps access logs."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import PolicyResource, Severity

from guardrails.framework import Rule, StackView, Subject, identities, refers_to

HTTP_API = "aws:apigatewayv2/api:Api"
ROUTE = "aws:apigatewayv2/route:Route"
STAGE_V2 = "aws:apigatewayv2/stage:Stage"
REST_METHOD = "aws:apigateway/method:Method"
STAGE_V1 = "aws:apigateway/stage:Stage"
WEBSOCKET_CONNECT = "$connect"

Messages = Iterator[str]


def check_route_authorized(stack: StackView, resource: PolicyResource) -> Messages:
    if resource.resource_type == HTTP_API:
        if resource.props.get("target"):
            yield ("quick create (target) adds a $default route that needs no authorization: define routes with an "
                   "authorization type instead")
        return
    if resource.resource_type == REST_METHOD:
        if resource.props.get("authorization") in (None, "", "NONE") and resource.props.get("httpMethod") != "OPTIONS":
            yield (f"method {resource.props.get('httpMethod')} needs no authorization: use AWS_IAM, "
                   "COGNITO_USER_POOLS or CUSTOM")
        return
    if resource.props.get("authorizationType") not in (None, "", "NONE"):
        return
    route_key = resource.props.get("routeKey")
    api = next((a for a in stack.of_type(HTTP_API) if refers_to(resource, "apiId", a, identities(a, "id"))), None)
    if api is not None and api.props.get("protocolType") == "WEBSOCKET" and route_key != WEBSOCKET_CONNECT:
        return  # a WebSocket API authorizes the connection ($connect), not each message route
    yield f"route {route_key!r} needs no authorization: set authorizationType AWS_IAM, JWT or CUSTOM"


def check_access_logging(subject: Subject) -> Messages:
    if subject.type == HTTP_API:
        if subject.props.get("target"):
            yield "quick create (target) adds a $default stage without access logs: define the stage with them"
        return
    settings = subject.props.get("accessLogSettings") or {}
    if not settings.get("destinationArn") or not settings.get("format"):
        yield "the stage keeps no access logs: set accessLogSettings with a destinationArn and a format"


RULES: tuple[Rule, ...] = (
    Rule("apigateway-routes-authorized", "Every API Gateway route and method requires authorization",
         Severity.HIGH, "Set authorization_type AWS_IAM (or JWT / CUSTOM with an authorizer) on every route; "
         "REST methods other than CORS preflight (OPTIONS) need an authorization too.", "APIGateway.8",
         frozenset({ROUTE, HTTP_API, REST_METHOD}), stack_check=check_route_authorized),
    Rule("apigateway-access-logging", "API Gateway stages keep access logs", Severity.MEDIUM,
         "Set access_log_settings with a CloudWatch log group's ARN and a JSON format.", "APIGateway.9",
         frozenset({STAGE_V2, STAGE_V1, HTTP_API}), check=check_access_logging),
)
