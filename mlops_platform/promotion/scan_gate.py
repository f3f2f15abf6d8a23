"""The monitoring image build's last step: wait for ECR's scan of the pushed tag, then fail on any finding at or
above the configured severity (`promotion.imageScanFailSeverity`, the build's FAIL_SEVERITY).

Inputs (environment): REGISTRY_ACCOUNT, REPOSITORY_NAME, FAIL_SEVERITY; the tag as the one argument.
Exit status 1 names the counts that block the image; 0 prints the counts found.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import boto3  # type: ignore[import-untyped]

SEVERITIES: tuple[str, ...] = ("CRITICAL", "HIGH", "MEDIUM", "LOW")
"""ECR basic scanning's severities, most severe first (INFORMATIONAL and UNDEFINED never block)."""


def blocking(counts: Mapping[str, int], fail_severity: str) -> dict[str, int]:
    """The finding counts at or above `fail_severity`."""
    if fail_severity not in SEVERITIES:
        raise ValueError(f"FAIL_SEVERITY {fail_severity!r} is not one of {', '.join(SEVERITIES)}")
    gate = SEVERITIES[: SEVERITIES.index(fail_severity) + 1]
    return {severity: counts[severity] for severity in gate if counts.get(severity, 0) > 0}


def finding_counts(ecr: Any, registry: str, repository: str, tag: str) -> dict[str, int]:
    ecr.get_waiter("image_scan_complete").wait(registryId=registry, repositoryName=repository,
                                               imageId={"imageTag": tag})
    findings = ecr.describe_image_scan_findings(registryId=registry, repositoryName=repository,
                                                imageId={"imageTag": tag})["imageScanFindings"]
    return {str(k): int(v) for k, v in (findings.get("findingSeverityCounts") or {}).items()}


def main(argv: Sequence[str] | None = None, ecr: Any = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if len(arguments) != 1:
        print("usage: python -m mlops_platform.promotion.scan_gate <tag>", file=sys.stderr)
        return 2
    env = os.environ
    counts = finding_counts(ecr or boto3.client("ecr"), env["REGISTRY_ACCOUNT"], env["REPOSITORY_NAME"], arguments[0])
    blocked = blocking(counts, env.get("FAIL_SEVERITY", "HIGH"))
    if blocked:
        print(f"image {arguments[0]} blocked by scan findings at or above {env.get('FAIL_SEVERITY', 'HIGH')}: "
              f"{blocked}", file=sys.stderr)
        return 1
    print(f"image {arguments[0]} scanned: {counts or 'no findings'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
