"""What the promotion pipelines' builds run (`buildspecs/`): record a version as a serving tier's desired state
(`record`), and test the staging API before the manual gate (`staging_test`). The Pulumi CLI version both
buildspecs install is `PULUMI_CLI_VERSION`."""

PULUMI_CLI_VERSION = "3.272.0"
"""The Pulumi CLI the promotion and image builds install (the CodeBuild projects pass it as PULUMI_VERSION):
the CLI released with the locked Python SDK (they share version numbers)."""
