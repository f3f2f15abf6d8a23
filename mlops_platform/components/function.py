"""A Lambda function from one handler module of `mlops_platform/functions/`, with its own least-privilege role
and log group. Handlers use the standard library, boto3 and the shared `functions/environment.py` only: the
archive holds those files at their package paths (`archive_files`), so the handler imports as it does in tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_aws as aws

from mlops_platform import naming
from mlops_platform.components.iam import PlatformRole, PlatformRoleArgs, Statement, allow, service_trust
from mlops_platform.placement import Placement

PACKAGE_DIR = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = PACKAGE_DIR / "functions"
SHARED_MODULES = ("environment",)
"""Modules of `mlops_platform/functions/` packaged beside every handler."""
RUNTIME = "python3.12"
LOG_RETENTION_DAYS = 365


def archive_files(module: str) -> dict[str, Path]:
    """The deployment package of the handler `module`: archive path → source file."""
    handler = FUNCTIONS_DIR / f"{module}.py"
    if not handler.is_file():
        raise FileNotFoundError(f"no handler module {handler}")
    sources = [PACKAGE_DIR / "__init__.py", FUNCTIONS_DIR / "__init__.py",
               *(FUNCTIONS_DIR / f"{shared}.py" for shared in SHARED_MODULES), handler]
    return {source.relative_to(PACKAGE_DIR.parent).as_posix(): source for source in sources}


def handler_entry_point(module: str) -> str:
    return f"{PACKAGE_DIR.name}.{FUNCTIONS_DIR.name}.{module}.handler"


@dataclass(frozen=True)
class PlatformFunctionArgs:
    function_name: str
    module: str
    """File name (without .py) of the handler module in mlops_platform/functions; its `handler` is the entry."""
    description: str
    placement: Placement
    role_name: str
    statements: Sequence[Statement] = field(default_factory=list)
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    timeout_seconds: int = 30
    memory_mb: int = 256
    kms_key_arn: pulumi.Input[str] | None = None
    """Encrypts the function's environment variables."""
    log_kms_key_arn: pulumi.Input[str] | None = None
    """Encrypts the function's log group; the key policy must admit CloudWatch Logs (`cloudwatch_logs_grant`)."""
    dead_letter_queue_arn: pulumi.Input[str] | None = None
    """Where an asynchronously invoked function's failed events are parked (its role may send there)."""


class PlatformFunction(pulumi.ComponentResource):
    arn: pulumi.Output[str]
    name: pulumi.Output[str]
    invoke_arn: pulumi.Output[str]

    def __init__(self, name: str, args: PlatformFunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:compute:PlatformFunction", name, None, opts)
        files = archive_files(args.module)
        log_group_name = f"/aws/lambda/{args.function_name}"
        logs = aws.cloudwatch.LogGroup(name, name=log_group_name, retention_in_days=LOG_RETENTION_DAYS,
                                       kms_key_id=args.log_kms_key_arn, opts=pulumi.ResourceOptions(parent=self))
        log_group_arn = naming.log_group_arn(args.placement.region, args.placement.account_id, log_group_name)
        statements = [
            allow(["logs:CreateLogStream", "logs:PutLogEvents"], [f"{log_group_arn}:*"], sid="WriteOwnLogs"),
            allow(["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "*", sid="WriteTraces"),
            *args.statements,
        ]
        if args.dead_letter_queue_arn is not None:
            statements.append(allow(["sqs:SendMessage"], [args.dead_letter_queue_arn], sid="ParkFailedEvents"))
        role = PlatformRole(name, PlatformRoleArgs(
            role_name=args.role_name, description=args.description,
            trust_policy=service_trust("lambda.amazonaws.com", args.placement.account_id), statements=statements),
            pulumi.ResourceOptions(parent=self))
        function = aws.lambda_.Function(
            name,
            name=args.function_name,
            description=args.description,
            runtime=RUNTIME,
            architectures=["arm64"],
            handler=handler_entry_point(args.module),
            code=pulumi.AssetArchive({path: pulumi.FileAsset(str(source)) for path, source in files.items()}),
            role=role.arn,
            timeout=args.timeout_seconds,
            memory_size=args.memory_mb,
            kms_key_arn=args.kms_key_arn,
            environment={"variables": dict(args.environment)} if args.environment else None,
            logging_config={"log_format": "JSON", "log_group": logs.name},
            tracing_config={"mode": "Active"},
            dead_letter_config=({"target_arn": args.dead_letter_queue_arn}
                                if args.dead_letter_queue_arn is not None else None),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logs]),
        )
        self.arn = function.arn
        self.name = function.name
        self.invoke_arn = function.invoke_arn
        self.register_outputs({"arn": function.arn})
