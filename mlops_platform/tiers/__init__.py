"""One module per tier; `BUILDERS` maps a tier to the function that builds it.

A tier not listed here (org) has no capabilities of its own yet: its stack still gets its provider and
tier component, so the account is wired and tagged before the tier's first resource arrives.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from mlops_platform.tiers import artifact, cicd, data, dev, ops, serving
from mlops_platform.tiers.context import TierContext

BUILDERS: Mapping[str, Callable[[TierContext], None]] = {
    "data": data.build,
    "artifact": artifact.build,
    "cicd": cicd.build,
    "ops": ops.build,
    "dev": dev.build,
    "staging": serving.build,
    "prod": serving.build,
}
