"""The use-case image build's last step: once the scan gate passed, record the image's URI where the retraining
starter reads it — the SSM parameter RECORD_PARAMETER in the ops tier's account, written as the recorder role
(RECORDER_ROLE_ARN) the build assumes, the only principal that may write it.

Inputs (environment): RECORDER_ROLE_ARN, RECORD_PARAMETER, AWS_REGION; the image URI as the one argument.
The build pipeline runs one build at a time (its Build stage admits one execution), so the last write is the
newest image.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import boto3  # type: ignore[import-untyped]

SESSION_NAME = "image-record"
ClientFactory = Callable[..., Any]


def record(image_uri: str, role_arn: str, parameter: str, region: str, client: ClientFactory = boto3.client) -> int:
    """Write `image_uri` into `parameter` as `role_arn`; the parameter's new version."""
    credentials = client("sts", region_name=region).assume_role(
        RoleArn=role_arn, RoleSessionName=SESSION_NAME)["Credentials"]
    ssm = client("ssm", region_name=region, aws_access_key_id=credentials["AccessKeyId"],
                 aws_secret_access_key=credentials["SecretAccessKey"], aws_session_token=credentials["SessionToken"])
    version = ssm.put_parameter(Name=parameter, Value=image_uri, Type="String", Overwrite=True,
                                Description="The newest scanned image of this use case (its image pipeline)")
    return int(version["Version"])


def main(argv: Sequence[str] | None = None, client: ClientFactory = boto3.client) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if len(arguments) != 1 or not arguments[0]:
        print("usage: python -m mlops_platform.promotion.image_record <image uri>", file=sys.stderr)
        return 2
    env = os.environ
    missing = [name for name in ("RECORDER_ROLE_ARN", "RECORD_PARAMETER", "AWS_REGION") if not env.get(name)]
    if missing:
        print(f"image_record: missing environment variables {', '.join(missing)}", file=sys.stderr)
        return 2
    version = record(arguments[0], env["RECORDER_ROLE_ARN"], env["RECORD_PARAMETER"], env["AWS_REGION"], client)
    print(f"recorded {arguments[0]} in {env['RECORD_PARAMETER']} (version {version})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
