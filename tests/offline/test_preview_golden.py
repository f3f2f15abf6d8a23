"""The `preview --json --serving` document of every shipped size is exactly the one recorded in tests/golden/.

The golden files were written from the program before the naming module took over every ARN (issue 11: behaviour
unchanged). Only what the preview itself leaves unordered is normalised (the order in which the mock engine
registers resources, lists their dependencies, reads other stacks and finds workloads), policy documents are
compared in one canonical spelling, and the checkout's folder in file assets' paths is written `<checkout>`;
nothing is removed from the comparison. The typed IAM documents (`mlops_platform/iam_policy.py`) spell a few
documents differently from the dict builders they replaced (the Sid first, a single action as a list, an action
list sorted): IAM reads them alike, and the canonical comparison proves no effect, principal, action, resource
or condition changed.

Regenerate after an intended change with `python3 -m uv run --locked python -m tests.offline.test_preview_golden`.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlops_platform import iam_policy
from mlops_platform.offline.preview import Preview, run_preview
from mlops_platform.offline.report import preview_document
from mlops_platform.offline.stack_config import load_project_config

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parents[1] / "golden"
SIZES = ("small", "medium", "large")


def golden_path(size: str) -> Path:
    return GOLDEN / f"preview-{size}-serving.json"


def canonical_policies(value: Any) -> Any:
    """`value` with every IAM policy document (a JSON string with a Statement list) in its canonical spelling
    (`iam_policy.canonical`): how a builder spells a document — key order, one string or a one-item list,
    action order — is not behaviour; every effect, principal, action, resource and condition is still compared."""
    if isinstance(value, dict):
        return {key: canonical_policies(item) for key, item in value.items()}
    if isinstance(value, list):
        return [canonical_policies(item) for item in value]
    if isinstance(value, str) and value.startswith("{") and '"Statement"' in value:
        try:
            return {"canonicalPolicy": iam_policy.canonical(value)}
        except iam_policy.DocumentError:
            return value
    return value


def normalised(document: dict[str, Any]) -> dict[str, Any]:
    """The document with the capture's registration order taken out: resources by URN; dependency, stack
    reference and network path lists sorted; policy documents in their canonical spelling."""
    copy: dict[str, Any] = canonical_policies(json.loads(json.dumps(document)))
    if copy["networkPaths"] is not None:
        copy["networkPaths"]["paths"].sort(key=lambda path: json.dumps(path, sort_keys=True))
    for stack in copy["stacks"]:
        stack["stackReferences"].sort()
        stack["resources"].sort(key=lambda resource: resource["urn"])
        for resource in stack["resources"]:
            resource["dependencies"].sort()
            for dependencies in resource["propertyDependencies"].values():
                dependencies.sort()
    return copy


CHECKOUT = "<checkout>"
"""Stands for the folder the repository is checked out in (file assets name their absolute path)."""


def rendered(document: dict[str, Any]) -> str:
    return json.dumps(normalised(document), indent=1, sort_keys=True).replace(str(ROOT), CHECKOUT) + "\n"


@pytest.mark.parametrize("size", SIZES)
def test_preview_document_is_unchanged(size: str, shipped_preview: Callable[..., Preview]) -> None:
    actual = rendered(preview_document(shipped_preview(size, serving=True)))
    expected = golden_path(size).read_text()
    difference = "".join(list(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                                   golden_path(size).name, "preview"))[:60])
    assert actual == expected, f"preview --size {size} --json --serving differs:\n{difference}"


def test_normalisation_keeps_every_resource_and_field(shipped_preview: Callable[..., Preview]) -> None:
    document = preview_document(shipped_preview("small", serving=True))
    assert json.loads(rendered(document)) == json.loads(json.dumps(normalised(document)).replace(str(ROOT), CHECKOUT))
    assert sorted(r["urn"] for s in normalised(document)["stacks"] for r in s["resources"]) == \
        sorted(r["urn"] for s in document["stacks"] for r in s["resources"])


def write_golden_files() -> None:
    GOLDEN.mkdir(exist_ok=True)
    for size in SIZES:
        document = preview_document(run_preview(load_project_config(ROOT, size), serving=True))
        golden_path(size).write_text(rendered(document))


if __name__ == "__main__":
    write_golden_files()
