"""A shipped preview with one stack captured again after a test changed how that stack is built: the proofs judged
over it as a full preview would judge them, for the cost of one stack's capture instead of the size's."""

from __future__ import annotations

from pathlib import Path

from mlops_platform.offline import access_matrix
from mlops_platform.offline.capture import CapturedStack
from mlops_platform.offline.preview import Preview
from mlops_platform.offline.reachability import Reachability, prove
from mlops_platform.offline.size_capture import capture_one
from mlops_platform.offline.stack_config import load_project_config

ROOT = Path(__file__).resolve().parent.parent


def stacks_with_one_rebuilt(shipped: Preview, stack: str) -> list[CapturedStack]:
    """`shipped`'s stacks with `stack` captured again as the code now builds it. The stacks before it are its
    inputs, unchanged; the stacks after it read only its outputs, so these must be the shipped ones (asserted),
    and the rest is what a full preview of the changed code would capture. Take `shipped` before changing the
    code: a session fixture computed afterwards would capture the change too."""
    names = [preview.name for preview in shipped.stacks]
    position = names.index(stack)
    before = [preview.captured for preview in shipped.stacks[:position]]
    shipped_stack = shipped.stacks[position]
    rebuilt = capture_one(load_project_config(ROOT, shipped.size.value), shipped_stack.config, before,
                          serving=shipped.serving)
    assert rebuilt.outputs == shipped_stack.captured.outputs, \
        f"the change reaches {stack}'s outputs, which later stacks read: preview the whole size instead"
    return [*before, rebuilt, *(preview.captured for preview in shipped.stacks[position + 1:])]


def proof_with_one_rebuilt(shipped: Preview, stack: str) -> Reachability:
    """The separation proof (and the access matrix it reads) over `stacks_with_one_rebuilt(shipped, stack)`."""
    stacks = stacks_with_one_rebuilt(shipped, stack)
    config = shipped.stacks[0].config
    return prove(config, stacks, access_matrix.check(config, stacks))
