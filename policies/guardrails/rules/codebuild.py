"""CodeBuild guardrails: no credentials in plain text; privileged (Docker-in-Docker) mode only for the named image
builds — the monitoring image's (`contract.monitoring_image_build_project_name`) and each use case's
(`contract.image_build_project_name`, exactly the use cases the stack's configuration gives an image where the
pack is handed it) running the platform's image buildspec in the cicd tier, with nothing else risky about them —
or for projects whose inline buildspec builds container images; build output encrypted with a customer-managed KMS
key."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from pulumi_policy import Severity

from guardrails.framework import Rule, Subject, Undecided
from guardrails.platform import platform
from mlops_platform import contract

PROJECT = frozenset({"aws:codebuild/project:Project"})
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL", re.IGNORECASE)
SECRET_VALUE = re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b|-----BEGIN [A-Z ]*PRIVATE KEY-----")
URL_CREDENTIALS = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@\s]+:[^/@\s]+@", re.IGNORECASE)
CONTAINER_BUILD = re.compile(r"\b(docker|podman)\s+(buildx\s+)?build\b|\bdocker\s+push\b|\bbuildah\s+(bud|build)\b")


def check_no_plaintext_secrets(subject: Subject) -> Iterator[str]:
    environment = subject.props.get("environment") or {}
    for variable in environment.get("environmentVariables") or []:
        if (variable.get("type") or "PLAINTEXT") != "PLAINTEXT":
            continue
        name, value = str(variable.get("name") or ""), str(variable.get("value") or "")
        if SECRET_NAME.search(name) or SECRET_VALUE.search(value):
            yield (f"environment variable {name!r} holds a credential in plain text: store it in Secrets Manager "
                   "or Parameter Store (type SECRETS_MANAGER / PARAMETER_STORE)")
    sources = [subject.props.get("source") or {}, *(subject.props.get("secondarySources") or [])]
    for source in sources:
        if isinstance(source, Mapping) and URL_CREDENTIALS.search(str(source.get("location") or "")):
            yield "a source location embeds credentials (user:password@): use a CodeConnections connection"


def check_privileged_mode(subject: Subject) -> Iterator[str]:
    environment = subject.props.get("environment") or {}
    if environment.get("privilegedMode") is not True:
        return
    if subject.props.get("name") == contract.monitoring_image_build_project_name():
        yield from _image_build_exception(subject)
        return
    use_case = contract.image_build_use_case(str(subject.props.get("name") or ""))
    if use_case is not None:
        yield from _use_case_image_build(subject, use_case)
        return
    buildspec = str((subject.props.get("source") or {}).get("buildspec") or "")
    if "\n" not in buildspec and "phases" not in buildspec:
        raise Undecided(f"privileged mode is on and the buildspec ({buildspec or 'buildspec.yml'}) lives in the "
                        "source repository: allowed only if it builds container images")
    if not CONTAINER_BUILD.search(buildspec):
        yield ("privileged mode is on, but the buildspec builds no container image: turn privilegedMode off "
               "(it gives the build root on the Docker daemon)")


def _image_build_exception(subject: Subject, project: str = contract.monitoring_image_build_project_name(),
                           ) -> Iterator[str]:
    """A named image build may run privileged only as a plain build: its source from the pipeline (no webhook
    or public repository to build from), no credentials to pull its build image with, no secondary sources."""
    source = subject.props.get("source") or {}
    if source.get("type") != "CODEPIPELINE":
        yield (f"{project} runs privileged: its source must be its pipeline's artifact (type CODEPIPELINE), "
               f"not {source.get('type')!r}")
    if subject.props.get("secondarySources"):
        yield f"{project} runs privileged: it takes no secondary sources"
    environment = subject.props.get("environment") or {}
    if (environment.get("imagePullCredentialsType") or "CODEBUILD") != "CODEBUILD":
        yield f"{project} runs privileged: its build image must be CodeBuild's own (imagePullCredentialsType CODEBUILD)"
    if environment.get("registryCredential"):
        yield f"{project} runs privileged: it takes no registry credential"


def _use_case_image_build(subject: Subject, use_case: str) -> Iterator[str]:
    """A use case's named image build: only with the platform's image buildspec, in the cicd tier, for a use case
    the configuration gives an image (where the pack knows the use cases), and as a plain build."""
    project = contract.image_build_project_name(use_case)
    buildspec = (subject.props.get("source") or {}).get("buildspec")
    if buildspec != contract.IMAGE_BUILDSPEC:
        yield (f"{project} runs privileged: only with the platform's image buildspec {contract.IMAGE_BUILDSPEC}, "
               f"not {buildspec!r}")
    if subject.placement.tier != "cicd":
        yield f"{project} runs privileged outside the cicd tier ({subject.placement.tier})"
    imaged = platform().imaged_use_cases
    if imaged is not None and use_case not in imaged:
        yield (f"{project} runs privileged, but the configuration gives use case {use_case!r} no image "
               "(useCases[].image): only the listed image builds may")
    yield from _image_build_exception(subject, project)


def check_encrypted(subject: Subject) -> Iterator[str]:
    if not subject.props.get("encryptionKey"):
        yield ("no encryptionKey: build artifacts are encrypted with the AWS-managed key; name a customer-managed "
               "KMS key")


RULES: tuple[Rule, ...] = (
    Rule("codebuild-no-plaintext-secrets", "CodeBuild projects hold no credentials in plain text",
         Severity.CRITICAL, "Reference secrets with environment variables of type SECRETS_MANAGER or "
         "PARAMETER_STORE; connect sources through CodeConnections.", "CodeBuild.1, CodeBuild.2", PROJECT,
         check=check_no_plaintext_secrets),
    Rule("codebuild-privileged-mode", "CodeBuild projects run privileged only to build container images",
         Severity.HIGH, "Set environment.privileged_mode only on the named image builds (the monitoring image's, "
         "and mlops-<use case>-image-build of a use case with useCases[].image running buildspecs/image.yml in "
         "the cicd tier; source from its pipeline, CodeBuild's own build image), or for projects whose inline "
         "buildspec builds images (docker/podman/buildah build).", "CodeBuild.5", PROJECT, check=check_privileged_mode),
    Rule("codebuild-kms-encryption", "CodeBuild projects encrypt their output with a customer-managed KMS key",
         Severity.MEDIUM, "Set encryption_key to a customer-managed KMS key the build's role may use.",
         None, PROJECT, check=check_encrypted),
)
