"""One module per tier; `BUILDERS` maps a tier to the function that builds it.

Every tier has a builder; each stack builds the tiers it hosts, in deploy order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from mlops_platform.tiers import artifact, cicd, data, dev, ops, org, serving
from mlops_platform.tiers.context import TierContext

BUILDERS: Mapping[str, Callable[[TierContext], None]] = {
    "org": org.build,
    "data": data.build,
    "artifact": artifact.build,
    "cicd": cicd.build,
    "ops": ops.build,
    "dev": dev.build,
    "staging": serving.build,
    "prod": serving.build,
}
