"""Where the ML code lives: by default a CodeConnections connection to GitHub, GitLab or Bitbucket (a
connection is created PENDING; an administrator completes the handshake once in the console), or an
AWS CodeCommit repository as a config choice."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_platform.config import CodeRepository as CodeRepositoryConfig


@dataclass(frozen=True)
class CodeRepositoryArgs:
    config: CodeRepositoryConfig
    kms_key_arn: pulumi.Input[str] | None
    """Encrypts a CodeCommit repository; unused for external hosts."""
    protect: bool


class CodeRepository(pulumi.ComponentResource):
    source_location: pulumi.Output[str]
    """The CodeCommit HTTPS clone URL, or the connection ARN a pipeline source uses for an external host."""

    def __init__(self, name: str, args: CodeRepositoryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:versioning:CodeRepository", name, None, opts)
        if args.config.is_codecommit:
            repository = aws.codecommit.Repository(
                name, repository_name=args.config.name, default_branch="main", kms_key_id=args.kms_key_arn,
                description="ML code of the platform's use cases",
                opts=pulumi.ResourceOptions(parent=self, protect=args.protect))
            self.source_location = repository.clone_url_http
        else:
            connection = aws.codeconnections.Connection(
                name, name=f"mlops-{args.config.name}"[:32], provider_type=args.config.provider,
                opts=pulumi.ResourceOptions(parent=self))
            self.source_location = connection.arn
        self.register_outputs({"sourceLocation": self.source_location})
