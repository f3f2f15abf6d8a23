"""The inference Lambda behind an HTTP API (payload format 2.0) against SageMaker Runtime emulated by moto 5.2.5.

Model answers are queued through moto's documented endpoint-results API (an HTTP POST to
``/moto-api/static/sagemaker/endpoint-results``, intercepted in-process while `mock_aws` is active). Service
errors, and the exact InvokeEndpoint parameters, come from botocore's `Stubber` on the same kind of client:
requests are validated against botocore's service model, error fields against the error shapes.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
import requests
from botocore.exceptions import EndpointConnectionError
from botocore.response import StreamingBody
from botocore.stub import Stubber
from moto import mock_aws

from mlops_platform.functions import inference
from mlops_platform.functions.environment import ConfigurationError
from mlops_platform.functions.inference import Settings, handler

REGION = "eu-west-1"
ACCOUNT = "123456789012"
ENDPOINT = "churn-model-prod"
REQUEST_ID = "Kx1QmiEtliAEMUA="
CONTEXT = SimpleNamespace(aws_request_id="2b7a1e35-5c0f-4a8e-9f0d-7d3e6c1b9a24")
INTERNAL = "Received server error (500) from primary with message \"Traceback (most recent call last): secret-42\""


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("ENDPOINT_NAME", ENDPOINT)
    monkeypatch.delenv("MAX_PAYLOAD_BYTES", raising=False)
    monkeypatch.delenv("ALLOWED_CONTENT_TYPES", raising=False)
    with mock_aws():
        yield boto3.client("sagemaker-runtime", region_name=REGION)


def queue_model_answers(*answers: tuple[str, str]) -> None:
    """Queue (body, content type) answers in moto's SageMaker Runtime, in order."""
    results = [{"Body": body, "ContentType": content_type, "InvokedProductionVariant": "AllTraffic",
                "CustomAttributes": ""} for body, content_type in answers]
    response = requests.post("http://motoapi.amazonaws.com/moto-api/static/sagemaker/endpoint-results",
                             json={"account_id": ACCOUNT, "region": REGION, "results": results}, timeout=5)
    assert response.status_code == 201


def http_event(body: str | None, headers: dict[str, str] | None = None, is_base64: bool = False) -> dict[str, Any]:
    """An HTTP API payload format 2.0 event for POST /invocations."""
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "POST /invocations",
        "rawPath": "/invocations",
        "rawQueryString": "",
        "headers": {"content-type": "text/csv", "host": "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
                    "user-agent": "curl/8.5.0", "x-forwarded-proto": "https"} if headers is None else headers,
        "requestContext": {
            "accountId": ACCOUNT, "apiId": "a1b2c3d4e5", "domainName": "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
            "domainPrefix": "a1b2c3d4e5",
            "http": {"method": "POST", "path": "/invocations", "protocol": "HTTP/1.1", "sourceIp": "198.51.100.7",
                     "userAgent": "curl/8.5.0"},
            "requestId": REQUEST_ID, "routeKey": "POST /invocations", "stage": "$default",
            "time": "02/Mar/2026:10:05:11 +0000", "timeEpoch": 1772445911000,
        },
        "isBase64Encoded": is_base64,
    }
    if body is not None:
        event["body"] = body
    return event


def error_body(response: dict[str, Any]) -> dict[str, Any]:
    assert response["headers"]["Content-Type"] == "application/json"
    body: dict[str, Any] = json.loads(response["body"])
    assert set(body) == {"error", "requestId"} and body["requestId"] == REQUEST_ID
    return body


def log_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def stubbed_answer(payload: bytes, content_type: str) -> dict[str, Any]:
    return {"Body": StreamingBody(io.BytesIO(payload), len(payload)), "ContentType": content_type,
            "InvokedProductionVariant": "AllTraffic"}


# --- answers ----------------------------------------------------------------------------------------------


def test_csv_request_returns_the_model_answer(runtime: Any, capsys: pytest.CaptureFixture[str]) -> None:
    queue_model_answers(("0.87\n", "text/csv"))

    response = handler(http_event("42,1,0,3.5\n"), CONTEXT, runtime)

    assert response == {"statusCode": 200, "headers": {"Content-Type": "text/csv", "X-Request-Id": REQUEST_ID},
                        "body": "0.87\n", "isBase64Encoded": False}
    last = log_lines(capsys)[-1]
    assert (last["status"], last["requestId"], last["endpointName"]) == (200, REQUEST_ID, ENDPOINT)
    assert (last["requestBytes"], last["responseBytes"]) == (11, 5)
    assert "42,1,0,3.5" not in json.dumps(last)


def test_json_request_with_charset_and_mixed_case_header_returns_the_model_answer(runtime: Any) -> None:
    queue_model_answers(('{"predictions": [0.13]}', "application/json"))
    event = http_event('{"instances": [[42, 1, 0, 3.5]]}',
                       headers={"Content-Type": "Application/JSON; charset=utf-8", "ACCEPT": "application/json"})

    response = handler(event, CONTEXT, runtime)

    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/json"
    assert json.loads(response["body"]) == {"predictions": [0.13]}


def test_base64_body_is_decoded_before_invoking(runtime: Any) -> None:
    event = http_event(base64.b64encode(b"42,1,0,3.5\n").decode(), is_base64=True)

    with Stubber(runtime) as stub:
        stub.add_response("invoke_endpoint", stubbed_answer(b"0.87\n", "text/csv"), {
            "EndpointName": ENDPOINT, "ContentType": "text/csv", "Accept": "text/csv", "Body": b"42,1,0,3.5\n"})
        response = handler(event, CONTEXT, runtime)
        stub.assert_no_pending_responses()

    assert (response["statusCode"], response["body"]) == (200, "0.87\n")


@pytest.mark.parametrize(("accept", "asked"), [
    (None, "text/csv"),
    ("*/*", "text/csv"),
    ("application/json", "application/json"),
    ("text/html, application/json;q=0.9", "application/json"),
    ("application/*", "application/json"),
])
def test_accept_header_chooses_what_the_model_is_asked_for(runtime: Any, accept: str | None, asked: str) -> None:
    headers = {"content-type": "text/csv", **({"accept": accept} if accept is not None else {})}

    with Stubber(runtime) as stub:
        stub.add_response("invoke_endpoint", stubbed_answer(b"0.87", asked), {
            "EndpointName": ENDPOINT, "ContentType": "text/csv", "Accept": asked, "Body": b"1,2"})
        response = handler(http_event("1,2", headers=headers), CONTEXT, runtime)
        stub.assert_no_pending_responses()

    assert response["headers"]["Content-Type"] == asked


def test_binary_model_answer_is_returned_base64_encoded(runtime: Any) -> None:
    payload = b"\x89PNG\r\n\x1a\n\x00\xff"

    with Stubber(runtime) as stub:
        stub.add_response("invoke_endpoint", stubbed_answer(payload, "application/x-npy"))
        response = handler(http_event("1,2"), CONTEXT, runtime)

    assert response["isBase64Encoded"] is True
    assert base64.b64decode(response["body"]) == payload


# --- refused requests -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("event", "status", "message"), [
    (http_event("hello", headers={"content-type": "text/plain"}), 415, "Content-Type must be one of"),
    (http_event("1,2", headers={}), 415, "Content-Type must be one of"),
    (http_event("1,2", headers={"content-type": "text/csv", "accept": "text/html"}), 406, "Accept must admit"),
    (http_event(""), 400, "the request body is empty"),
    (http_event(None), 400, "the request body is empty"),
    (http_event("", is_base64=True), 400, "the request body is empty"),
    (http_event("not base64!", is_base64=True), 400, "not valid base64"),
    (http_event('{"instances": [1,', headers={"content-type": "application/json"}), 400, "not valid JSON"),
    (http_event(base64.b64encode(b"\xff\xfe{}").decode(), headers={"content-type": "application/json"},
                is_base64=True), 400, "not valid JSON"),
    ("not an event", 400, "not an HTTP API request"),
])
def test_invalid_requests_are_refused_before_invoking(runtime: Any, event: object, status: int, message: str) -> None:
    with Stubber(runtime):  # nothing queued: an invocation would raise
        response = handler(event, CONTEXT, runtime)

    assert response["statusCode"] == status
    assert message in json.loads(response["body"])["error"]


def test_body_over_the_limit_is_refused_with_413(runtime: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_PAYLOAD_BYTES", "16")
    queue_model_answers(("0.5", "text/csv"))

    with Stubber(runtime):
        too_big = handler(http_event(base64.b64encode(b"1" * 17).decode(), is_base64=True), CONTEXT, runtime)
    at_limit = handler(http_event("1" * 16), CONTEXT, runtime)

    assert too_big["statusCode"] == 413
    assert error_body(too_big)["error"] == "the body exceeds 16 bytes"
    assert at_limit["statusCode"] == 200


def test_default_limit_is_5_mib(runtime: Any) -> None:
    with Stubber(runtime):
        response = handler(http_event("1" * (5 * 1024 * 1024 + 1)), CONTEXT, runtime)

    assert response["statusCode"] == 413


# --- SageMaker errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "http_status", "modeled", "status"), [
    ("ValidationError", 400, None, 400),
    ("ModelError", 424, {"OriginalStatusCode": 500, "OriginalMessage": INTERNAL,
                         "LogStreamArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/Endpoints/x"}, 502),
    ("ModelError", 424, {"OriginalStatusCode": 503, "OriginalMessage": INTERNAL}, 502),
    ("ModelError", 424, {"OriginalStatusCode": 400, "OriginalMessage": INTERNAL}, 422),
    ("ModelError", 424, {"OriginalStatusCode": 415, "OriginalMessage": INTERNAL}, 422),
    ("ThrottlingException", 400, None, 429),
    ("ServiceUnavailable", 503, None, 503),
    ("ModelNotReadyException", 429, None, 503),
    ("InternalFailure", 500, None, 500),
    ("InternalDependencyException", 530, None, 500),
])
def test_sagemaker_errors_map_to_http_statuses_without_internals(
        runtime: Any, capsys: pytest.CaptureFixture[str], code: str, http_status: int,
        modeled: dict[str, Any] | None, status: int) -> None:
    with Stubber(runtime) as stub:
        stub.add_client_error("invoke_endpoint", code, INTERNAL, http_status, modeled_fields=modeled)
        response = handler(http_event("42,1,0,3.5"), CONTEXT, runtime)
        stub.assert_no_pending_responses()

    assert response["statusCode"] == status
    body = error_body(response)
    assert body["error"] == inference._PUBLIC_MESSAGES[status]
    for leak in ("Traceback", "secret-42", code, "botocore", "ClientError", "InvokeEndpoint"):
        assert leak not in response["body"]
    last = log_lines(capsys)[-1]
    assert (last["status"], last["errorCode"], last["requestId"]) == (status, code, REQUEST_ID)
    assert "secret-42" not in json.dumps(last)


def test_connection_failure_is_a_500_without_internals(runtime: Any) -> None:
    def refuse(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url=f"https://runtime.sagemaker.{REGION}.amazonaws.com/secret-42")

    runtime.meta.events.register("before-call.sagemaker-runtime.InvokeEndpoint", refuse)
    response = handler(http_event("42,1,0,3.5"), CONTEXT, runtime)

    assert response["statusCode"] == 500
    assert error_body(response)["error"] == "internal error"
    assert "secret-42" not in response["body"] and "Traceback" not in response["body"]


def test_missing_endpoint_is_a_503_no_model_yet_and_an_error_log(runtime: Any,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    message = f"Endpoint {ENDPOINT} of account {ACCOUNT} not found."
    with Stubber(runtime) as stub:
        stub.add_client_error("invoke_endpoint", "ValidationError", message, 400)
        response = handler(http_event("42,1,0,3.5"), CONTEXT, runtime)
        stub.assert_no_pending_responses()

    assert response["statusCode"] == 503
    assert error_body(response)["error"] == "no model is serving yet; retry later"
    assert ACCOUNT not in response["body"]
    last = log_lines(capsys)[-1]
    assert (last["level"], last["status"], last["errorCode"]) == ("ERROR", 503, "ValidationError")


def test_a_caller_validation_error_is_still_a_400(runtime: Any) -> None:
    with Stubber(runtime) as stub:
        stub.add_client_error("invoke_endpoint", "ValidationError", "1 validation error detected: Body", 400)
        response = handler(http_event("42,1,0,3.5"), CONTEXT, runtime)

    assert response["statusCode"] == 400


@pytest.mark.parametrize(("payload", "content_type"), [
    (b"x" * (inference.LAMBDA_MAX_RESPONSE_BYTES - 1024), "text/csv"),  # under 6 MB raw, over it with the envelope
    (b"\xff" * (5 * 1024 * 1024), "application/x-npy"),  # 5 MiB binary: base64 makes it 6.7 MB
    ('"\u00e9"'.encode() * (1024 * 1024), "application/json"),  # escaped to \\u00e9 in the JSON response
])
def test_an_answer_too_large_for_lambda_is_a_502_and_an_error_log(
        runtime: Any, capsys: pytest.CaptureFixture[str], payload: bytes, content_type: str) -> None:
    with Stubber(runtime) as stub:
        stub.add_response("invoke_endpoint", stubbed_answer(payload, content_type))
        response = handler(http_event("42,1,0,3.5"), CONTEXT, runtime)

    assert response["statusCode"] == 502
    assert error_body(response)["error"] == "the model's answer is too large to return"
    assert len(json.dumps(response)) < 1024
    last = log_lines(capsys)[-1]
    assert (last["level"], last["status"], last["responseBytes"]) == ("ERROR", 502, len(payload))


def test_a_large_answer_that_fits_is_returned(runtime: Any) -> None:
    payload = b"0.5," * (1024 * 1024)  # 4 MiB
    with Stubber(runtime) as stub:
        stub.add_response("invoke_endpoint", stubbed_answer(payload, "text/csv"))
        response = handler(http_event("42,1,0,3.5"), CONTEXT, runtime)

    assert (response["statusCode"], len(response["body"])) == (200, len(payload))
    assert inference.response_bytes(response) < inference.LAMBDA_MAX_RESPONSE_BYTES


# --- configuration and packaging --------------------------------------------------------------------------


def test_missing_endpoint_name_is_a_500_and_logged_by_name(runtime: Any, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("ENDPOINT_NAME")

    with Stubber(runtime):
        response = handler(http_event("1,2"), CONTEXT, runtime)

    assert response["statusCode"] == 500
    assert error_body(response)["error"] == "internal error"
    assert "ENDPOINT_NAME" not in response["body"]
    assert log_lines(capsys)[-1]["error"] == "missing environment variable ENDPOINT_NAME"


@pytest.mark.parametrize(("name", "value", "rule"), [
    ("MAX_PAYLOAD_BYTES", "0", "from 1 to 6291456"),
    ("MAX_PAYLOAD_BYTES", "6291457", "from 1 to 6291456"),
    ("MAX_PAYLOAD_BYTES", "5MB", "from 1 to 6291456"),
    ("ALLOWED_CONTENT_TYPES", "csv", "comma-separated media types"),
    ("ALLOWED_CONTENT_TYPES", " , ", "comma-separated media types"),
    ("ENDPOINT_NAME", "churn_model", "a SageMaker endpoint name"),
])
def test_invalid_environment_variable_is_named(name: str, value: str, rule: str) -> None:
    with pytest.raises(ConfigurationError, match=f"invalid environment variable {name}=") as raised:
        Settings.from_env({"ENDPOINT_NAME": ENDPOINT, name: value})

    assert rule in str(raised.value)


def test_settings_defaults_and_overrides() -> None:
    assert Settings.from_env({"ENDPOINT_NAME": ENDPOINT}) == Settings(ENDPOINT, 5 * 1024 * 1024,
                                                                      ("text/csv", "application/json"))
    custom = Settings.from_env({"ENDPOINT_NAME": ENDPOINT, "MAX_PAYLOAD_BYTES": "1024",
                                "ALLOWED_CONTENT_TYPES": "Application/JSON, application/x-npy"})
    assert (custom.max_payload_bytes, custom.allowed_content_types) == (1024, ("application/json", "application/x-npy"))


def test_default_payload_limit_is_below_the_service_model_limit() -> None:
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker-runtime")
    body_limit = model.operation_model("InvokeEndpoint").input_shape.members["Body"].metadata["max"]

    assert body_limit == inference.SAGEMAKER_MAX_PAYLOAD_BYTES
    assert body_limit > inference.DEFAULT_MAX_PAYLOAD_BYTES
