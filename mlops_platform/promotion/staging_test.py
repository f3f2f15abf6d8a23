"""The promotion pipeline's test step: call the staging inference API of one use case as AWS would have a client
call it (SigV4, service `execute-api`) and hold it to three promises before the manual gate: status 200, a
response of the shape the model serves (one score per request row), each call within the latency budget.

The API is IAM-authorized and lives in the staging account; an HTTP API takes no resource policy, so the step
assumes the staging deploy role with a session policy that leaves it only `execute-api:Invoke` on that API
(`invoke_only_policy`). The URL comes from the staging stack's outputs (`pulumi stack output --json`,
`contract.export_key("staging", "inferenceUrls")`); the request from `buildspecs/requests/<use case>.csv`.

Inputs (environment): USE_CASE, DEPLOY_ROLE_ARN, AWS_REGION, optional LATENCY_BUDGET_MS and CALLS.
Every failed promise ends the build with one line saying which (exit status 1).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3  # type: ignore[import-untyped]
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from mlops_platform import contract, iam_policy, naming
from mlops_platform.iam_policy import allow

DEFAULT_LATENCY_BUDGET_MS = 2000
"""Each call, cold start of the inference function included, answers within this budget."""
DEFAULT_CALLS = 5
SESSION_NAME = "mlops-platform-staging-test"
REQUESTS_DIR = Path("buildspecs/requests")


class StagingTestFailed(AssertionError):
    """A promise the staging API did not keep; the message says which."""


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: str
    latency_ms: float


def invoke_only_policy(api_url: str, region: str, account: str) -> str:
    """A session policy: the assumed deploy role may only invoke this API's route (nothing it deploys)."""
    api_id = (urlsplit(api_url).hostname or "").split(".", 1)[0]
    if not api_id:
        raise StagingTestFailed(f"{api_url!r} names no API host")
    return iam_policy.document_json([
        allow(["execute-api:Invoke"], naming.execute_api_arn(region, account, f"{api_id}/*/POST/invocations"))])


def staging_url(outputs: Mapping[str, Any], use_case: str) -> str:
    urls = outputs.get(contract.export_key("staging", "inferenceUrls")) or {}
    url = urls.get(use_case) if isinstance(urls, Mapping) else None
    if not isinstance(url, str) or not url.startswith("https://"):
        raise StagingTestFailed(f"the staging stack exports no inference URL for {use_case!r}")
    return url


def call(url: str, body: str, credentials: Credentials, region: str, timeout: float = 30.0) -> Answer:
    request = AWSRequest(method="POST", url=url, data=body.encode(),
                         headers={"Content-Type": "text/csv", "Accept": "text/csv"})
    SigV4Auth(credentials, "execute-api", region).add_auth(request)
    prepared = urllib.request.Request(url, data=body.encode(), method="POST", headers=dict(request.headers.items()))
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(prepared, timeout=timeout) as response:
            status, content_type, text = response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        status, content_type, text = error.code, error.headers.get("Content-Type", ""), error.read()
    return Answer(status, content_type, text.decode(errors="replace"), (time.perf_counter() - started) * 1000)


def check(answer: Answer, rows: int, budget_ms: float) -> None:
    if answer.status != 200:
        raise StagingTestFailed(f"status {answer.status}, not 200: {answer.body[:200]}")
    scores = [line for line in answer.body.strip().splitlines() if line.strip()]
    if len(scores) != rows:
        raise StagingTestFailed(f"{len(scores)} scores for {rows} request rows")
    for score in scores:
        try:
            float(score.split(",")[0])
        except ValueError:
            raise StagingTestFailed(f"a score is not a number: {score[:80]!r}") from None
    if answer.latency_ms > budget_ms:
        raise StagingTestFailed(f"answered in {answer.latency_ms:.0f} ms, over the {budget_ms:.0f} ms budget")


def run(url: str, body: str, credentials: Credentials, region: str, calls: int, budget_ms: float) -> list[Answer]:
    rows = len([line for line in body.strip().splitlines() if line.strip()])
    answers = []
    for _ in range(calls):
        answer = call(url, body, credentials, region)
        check(answer, rows, budget_ms)
        answers.append(answer)
    return answers


def assumed_credentials(role_arn: str, session_policy: str, sts: Any = None) -> Credentials:
    issued = (sts or boto3.client("sts")).assume_role(RoleArn=role_arn, RoleSessionName=SESSION_NAME,
                                                      Policy=session_policy)["Credentials"]
    return Credentials(issued["AccessKeyId"], issued["SecretAccessKey"], issued["SessionToken"])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outputs", type=Path, required=True, help="`pulumi stack output --json` of staging")
    arguments = parser.parse_args(argv)
    env = os.environ
    try:
        use_case, role_arn, region = env["USE_CASE"], env["DEPLOY_ROLE_ARN"], env["AWS_REGION"]
        url = staging_url(json.loads(arguments.outputs.read_text()), use_case)
        request_file = REQUESTS_DIR / f"{use_case}.csv"
        if not request_file.is_file():
            raise StagingTestFailed(f"no sample request {request_file}: add one or more rows of {use_case}'s "
                                    "features, as its endpoint takes them (CSV, no header)")
        credentials = assumed_credentials(role_arn, invoke_only_policy(url, region, role_arn.split(":")[4]))
        answers = run(url, request_file.read_text(), credentials, region, int(env.get("CALLS", DEFAULT_CALLS)),
                      float(env.get("LATENCY_BUDGET_MS", DEFAULT_LATENCY_BUDGET_MS)))
    except KeyError as missing:
        print(f"staging test cannot run: environment variable {missing.args[0]} is not set", file=sys.stderr)
        return 1
    except StagingTestFailed as failure:
        print(f"staging test failed: {failure}", file=sys.stderr)
        return 1
    slowest = max(answer.latency_ms for answer in answers)
    print(f"staging {use_case}: {len(answers)} calls answered 200 with scores, slowest {slowest:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
