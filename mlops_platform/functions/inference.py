"""Real-time inference behind an API Gateway HTTP API (payload format 2.0), route ``POST /invocations``.

The request body goes to the SageMaker endpoint ``ENDPOINT_NAME`` unchanged and the model's answer comes back
unchanged, after these checks (each failure answers with a small JSON body ``{"error", "requestId"}``):
- ``Content-Type`` (header names in any case; parameters such as ``; charset=utf-8`` ignored) must be one of
  ``ALLOWED_CONTENT_TYPES`` (default ``text/csv,application/json``), else 415. ``Accept``, when given, must
  allow one of them too, else 406; when absent (or ``*/*``) the model is asked for the request's content type.
- A body must be present and non-empty (400); base64 bodies (``isBase64Encoded``) must decode (400); the
  decoded body may have at most ``MAX_PAYLOAD_BYTES`` (default 5 MiB; SageMaker's InvokeEndpoint takes at most
  6 MiB and Lambda's synchronous payload, envelope included, 6 MB) else 413; JSON bodies must parse (400).

SageMaker errors map to: a missing endpoint (ValidationError "Endpoint ... not found": the platform has not
deployed a model yet, not the caller's fault) 503 "no model is serving yet" with an error log; any other
ValidationError 400; ModelError 422 when the container answered 4xx, else 502;
ThrottlingException 429; ServiceUnavailable and ModelNotReadyException 503; anything else 500. Callers never
see exception text, botocore internals or stack traces; the logs (one JSON object per line on stdout) carry
the request id, outcome, error code, sizes and latency, never the payloads. A model answer too large for
Lambda's 6 MB synchronous response (``MAX_RESPONSE_BYTES``, after base64 and the JSON envelope) is a 502 with
an error log, never a failed invocation.

This module imports only the standard library, boto3 and `environment` (packaged beside it, see
`components/function.py`).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3  # type: ignore[import-untyped]
from botocore.config import Config
from botocore.exceptions import ClientError

from mlops_platform.functions import environment
from mlops_platform.functions.environment import ConfigurationError

RuntimeClient = Any
"""A boto3 ``sagemaker-runtime`` client (the project installs no boto3 type stubs)."""

DEFAULT_MAX_PAYLOAD_BYTES = 5 * 1024 * 1024
SAGEMAKER_MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
"""InvokeEndpoint's request body limit (botocore's service model: 6291456 bytes)."""
LAMBDA_MAX_RESPONSE_BYTES = 6 * 1024 * 1024
"""Lambda's synchronous invocation response limit (6 MB), which the serialized JSON response must fit in."""
RESPONSE_ENVELOPE_ALLOWANCE_BYTES = 16 * 1024
"""Room for the status, headers and JSON quoting around the body."""
DEFAULT_ALLOWED_CONTENT_TYPES = ("text/csv", "application/json")
CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=25, retries={"mode": "standard", "max_attempts": 2})
"""Answer within API Gateway's 30-second integration timeout, one retry on throttling or transient errors."""


_PUBLIC_MESSAGES = {
    400: "the model endpoint rejected the request",
    422: "the model could not process the input",
    429: "too many requests; retry later",
    500: "internal error",
    502: "the model failed to process the request",
    503: "the model is not available right now; retry later",
}
NO_MODEL_MESSAGE = "no model is serving yet; retry later"
TOO_LARGE_MESSAGE = "the model's answer is too large to return"
_ENDPOINT_NOT_FOUND = re.compile(r"endpoint .* not found", re.IGNORECASE | re.DOTALL)


class RequestError(Exception):
    """The caller's request is unacceptable: answer `status` with `message` (safe to show the caller)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# --- configuration ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    endpoint_name: str
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
    allowed_content_types: tuple[str, ...] = DEFAULT_ALLOWED_CONTENT_TYPES

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            endpoint_name=environment.sagemaker_name(env, "ENDPOINT_NAME", "endpoint"),
            max_payload_bytes=_payload_limit(env, "MAX_PAYLOAD_BYTES"),
            allowed_content_types=_content_types(env, "ALLOWED_CONTENT_TYPES"),
        )


def _payload_limit(env: Mapping[str, str], name: str) -> int:
    value = environment.given(env, name)
    if not value:
        return DEFAULT_MAX_PAYLOAD_BYTES
    if not environment.UNSIGNED.fullmatch(value) or not 1 <= int(value) <= SAGEMAKER_MAX_PAYLOAD_BYTES:
        raise environment.invalid(name, value,
                                  f"must be a whole number of bytes from 1 to {SAGEMAKER_MAX_PAYLOAD_BYTES}")
    return int(value)


def _content_types(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    value = environment.given(env, name)
    if not value:
        return DEFAULT_ALLOWED_CONTENT_TYPES
    types = tuple(part.strip().lower() for part in value.split(",") if part.strip())
    if not types or not all(environment.MEDIA_TYPE.fullmatch(media) for media in types):
        raise environment.invalid(name, value, "must be comma-separated media types, e.g. 'text/csv,application/json'")
    return types


# --- the request ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Invocation:
    content_type: str
    accept: str
    body: bytes


def parse_request(event: object, settings: Settings) -> Invocation:
    """The invocation an HTTP API (payload 2.0) event asks for, or `RequestError` with the status to answer."""
    if not isinstance(event, dict):
        raise RequestError(400, "not an HTTP API request")
    headers = _headers(event.get("headers"))
    content_type = _media_type(headers.get("content-type", ""))
    if content_type not in settings.allowed_content_types:
        raise RequestError(415, f"Content-Type must be one of: {', '.join(settings.allowed_content_types)}")
    accept = _accept(headers.get("accept", ""), content_type, settings.allowed_content_types)
    body = _body(event)
    if len(body) > settings.max_payload_bytes:
        raise RequestError(413, f"the body exceeds {settings.max_payload_bytes} bytes")
    if content_type == "application/json" or content_type.endswith("+json"):
        _require_json(body)
    return Invocation(content_type=content_type, accept=accept, body=body)


def _headers(raw: object) -> dict[str, str]:
    if not isinstance(raw, dict):
        return {}
    return {str(name).lower(): str(value) for name, value in raw.items()}


def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def _accept(header: str, content_type: str, allowed: tuple[str, ...]) -> str:
    """The first allowed media type the Accept header admits (q-values are not weighed)."""
    if not header.strip():
        return content_type
    for part in header.split(","):
        media = _media_type(part)
        if media in allowed:
            return media
        if media == "*/*":
            return content_type
        if media.endswith("/*"):
            family = [candidate for candidate in (content_type, *allowed) if candidate.startswith(media[:-1])]
            if family:
                return family[0]
    raise RequestError(406, f"Accept must admit one of: {', '.join(allowed)}")


def _body(event: Mapping[str, Any]) -> bytes:
    raw = event.get("body")
    if raw is None or raw == "":
        raise RequestError(400, "the request body is empty")
    if not isinstance(raw, str):
        raise RequestError(400, "the request body is not text")
    if event.get("isBase64Encoded") is True:
        try:
            body = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise RequestError(400, "the request body is not valid base64") from None
    else:
        try:
            body = raw.encode("utf-8")
        except UnicodeEncodeError:
            raise RequestError(400, "the request body is not valid UTF-8 text") from None
    if not body:
        raise RequestError(400, "the request body is empty")
    return body


def _require_json(body: bytes) -> None:
    try:
        json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise RequestError(400, "the request body is not valid JSON") from None


# --- responses and errors ---------------------------------------------------------------------------------


def _response(status: int, body: str, content_type: str, request_id: str | None,
              is_base64: bool = False) -> dict[str, Any]:
    headers = {"Content-Type": content_type}
    if request_id:
        headers["X-Request-Id"] = request_id
    return {"statusCode": status, "headers": headers, "body": body, "isBase64Encoded": is_base64}


def _error_response(status: int, message: str, request_id: str | None) -> dict[str, Any]:
    return _response(status, json.dumps({"error": message, "requestId": request_id}), "application/json", request_id)


def _model_response(payload: bytes, content_type: str, request_id: str | None) -> dict[str, Any]:
    try:
        return _response(200, payload.decode("utf-8"), content_type, request_id)
    except UnicodeDecodeError:
        return _response(200, base64.b64encode(payload).decode("ascii"), content_type, request_id, is_base64=True)


def response_bytes(response: Mapping[str, Any]) -> int:
    """The size of the response as Lambda serializes it (JSON, non-ASCII escaped as the runtime does)."""
    return len(json.dumps(response).encode("utf-8"))


def fits_lambda_response(response: Mapping[str, Any]) -> bool:
    return response_bytes(response) + RESPONSE_ENVELOPE_ALLOWANCE_BYTES <= LAMBDA_MAX_RESPONSE_BYTES


def is_endpoint_missing(err: Any) -> bool:
    """InvokeEndpoint on an endpoint that does not exist: a validation error naming the endpoint as not found."""
    details = err.response.get("Error", {})
    code, message = str(details.get("Code", "")), str(details.get("Message", ""))
    return code in {"ValidationError", "ValidationException"} and _ENDPOINT_NOT_FOUND.search(message) is not None


def error_status(err: Any) -> int:
    """The HTTP status answering a SageMaker runtime `ClientError`."""
    code = str(err.response.get("Error", {}).get("Code", ""))
    if code == "ValidationError":
        return 400
    if code == "ModelError":
        original = _original_status(err.response)
        return 422 if original is not None and 400 <= original < 500 else 502
    if code in {"ThrottlingException", "Throttling", "TooManyRequestsException"}:
        return 429
    if code in {"ServiceUnavailable", "ModelNotReadyException"}:
        return 503
    return 500


def _original_status(response: Mapping[str, Any]) -> int | None:
    """The status code the model container answered (a modeled field of ModelError)."""
    value = response.get("OriginalStatusCode", response.get("Error", {}).get("OriginalStatusCode"))
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


# --- logging ----------------------------------------------------------------------------------------------


@dataclass
class _Log:
    """One JSON object per line on stdout, every line carrying the request's context fields."""

    context: dict[str, Any] = field(default_factory=dict)

    def write(self, level: str, message: str, **fields: Any) -> None:
        record = {"level": level, "message": message, **self.context, **fields}
        print(json.dumps({key: value for key, value in record.items() if value is not None}, default=str),
              flush=True)


def _request_id(event: object, context: Any) -> str | None:
    request_context = event.get("requestContext") if isinstance(event, dict) else None
    value = request_context.get("requestId") if isinstance(request_context, dict) else None
    if isinstance(value, str) and value:
        return value
    fallback = getattr(context, "aws_request_id", None)
    return fallback if isinstance(fallback, str) else None


@functools.cache
def _default_client() -> RuntimeClient:
    return boto3.client("sagemaker-runtime", config=CLIENT_CONFIG)


# --- entry point ------------------------------------------------------------------------------------------


def handler(event: Any, context: Any, runtime: RuntimeClient | None = None) -> dict[str, Any]:
    """Lambda entry point. ``runtime`` lets tests inject a client; Lambda passes only event and context."""
    request_id = _request_id(event, context)
    log = _Log({"function": "inference", "requestId": request_id,
                "lambdaRequestId": getattr(context, "aws_request_id", None)})
    try:
        settings = Settings.from_env()
    except ConfigurationError as err:
        log.write("ERROR", "misconfigured", error=str(err), status=500)
        return _error_response(500, _PUBLIC_MESSAGES[500], request_id)
    log.context["endpointName"] = settings.endpoint_name
    try:
        invocation = parse_request(event, settings)
    except RequestError as err:
        log.write("WARNING", "request refused", status=err.status, reason=err.message)
        return _error_response(err.status, err.message, request_id)
    return _invoke(runtime if runtime is not None else _default_client(), settings, invocation, request_id, log)


def _invoke(runtime: RuntimeClient, settings: Settings, invocation: Invocation, request_id: str | None,
            log: _Log) -> dict[str, Any]:
    started = time.monotonic()
    sizes = {"contentType": invocation.content_type, "requestBytes": len(invocation.body)}
    try:
        answer = runtime.invoke_endpoint(EndpointName=settings.endpoint_name, ContentType=invocation.content_type,
                                         Accept=invocation.accept, Body=invocation.body)
        payload = answer["Body"].read()
    except ClientError as err:
        if is_endpoint_missing(err):
            log.write("ERROR", "no endpoint to invoke: no model is serving yet", status=503,
                      errorCode=err.response.get("Error", {}).get("Code"), latencyMs=_elapsed_ms(started), **sizes)
            return _error_response(503, NO_MODEL_MESSAGE, request_id)
        status = error_status(err)
        log.write("ERROR" if status >= 500 else "WARNING", "invocation failed", status=status,
                  errorCode=err.response.get("Error", {}).get("Code"),
                  originalStatusCode=_original_status(err.response),
                  latencyMs=_elapsed_ms(started), **sizes)
        return _error_response(status, _PUBLIC_MESSAGES[status], request_id)
    except Exception as err:  # anything else (network, timeouts, bugs): a 500 without internals
        log.write("ERROR", "invocation failed", status=500, errorType=type(err).__name__,
                  latencyMs=_elapsed_ms(started), **sizes)
        return _error_response(500, _PUBLIC_MESSAGES[500], request_id)
    content_type = str(answer.get("ContentType") or invocation.accept)
    response = _model_response(payload, content_type, request_id)
    if not fits_lambda_response(response):
        log.write("ERROR", "model answer too large for a Lambda response", status=502, responseBytes=len(payload),
                  serializedBytes=response_bytes(response), limitBytes=LAMBDA_MAX_RESPONSE_BYTES,
                  latencyMs=_elapsed_ms(started), variant=answer.get("InvokedProductionVariant"), **sizes)
        return _error_response(502, TOO_LARGE_MESSAGE, request_id)
    log.write("INFO", "invocation succeeded", status=200, latencyMs=_elapsed_ms(started),
              responseBytes=len(payload), variant=answer.get("InvokedProductionVariant"), **sizes)
    return response


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
