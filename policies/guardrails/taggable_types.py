"""Which pulumi-aws resource types accept `tags`, as a table read at pack start (importing pulumi-aws to ask it
would cost the policy pack's process seconds while the stacks are captured).

`python -m guardrails.taggable_types` (from `policies/`) regenerates `taggable_types.json` from the installed
pulumi-aws, reading its resource modules as text: a resource's type token is the first argument of its
`super().__init__` call, and it takes tags when its `_internal_init` has a `tags` parameter. A test holds the table
to the installed pulumi-aws.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from importlib.util import find_spec
from pathlib import Path

TABLE = Path(__file__).resolve().parent / "taggable_types.json"
_TOKEN = re.compile(r"super\(\w+, __self__\)\.__init__\(\s*'(aws:[^']+)'")
_INTERNAL_INIT = re.compile(r"def _internal_init\(__self__,(.*?)__props__=None\):", re.S)
_TAGS_PARAMETER = re.compile(r"^\s+tags: ", re.M)


def scan_pulumi_aws() -> dict[str, object]:
    """Every resource type token of the installed pulumi-aws → whether it takes tags, with the version read."""
    spec = find_spec("pulumi_aws")
    if spec is None or spec.origin is None:
        raise RuntimeError("pulumi-aws is not installed")
    package = Path(spec.origin).parent
    types: dict[str, bool] = {}
    for path in sorted(package.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        token = _TOKEN.search(text)
        init = _INTERNAL_INIT.search(text)
        if token is not None and init is not None:
            types[token.group(1)] = bool(_TAGS_PARAMETER.search(init.group(1)))
    from importlib.metadata import version

    return {"pulumiAws": version("pulumi-aws"), "taggable": sorted(t for t, tags in types.items() if tags),
            "untaggable": sorted(t for t, tags in types.items() if not tags)}


@functools.cache
def _table() -> tuple[frozenset[str], frozenset[str]]:
    loaded = json.loads(TABLE.read_text(encoding="utf-8"))
    return frozenset(loaded["taggable"]), frozenset(loaded["untaggable"])


def taggable(type_token: str) -> bool | None:
    """Whether a pulumi-aws resource type accepts `tags`; False for other packages' types, None for an AWS type
    the table (this pulumi-aws) does not know."""
    if not type_token.startswith("aws:"):
        return False
    tagged, untagged = _table()
    if type_token in tagged:
        return True
    return False if type_token in untagged else None


if __name__ == "__main__":
    TABLE.write_text(json.dumps(scan_pulumi_aws(), indent=0) + "\n", encoding="utf-8")
    sys.stdout.write(f"wrote {TABLE}\n")
