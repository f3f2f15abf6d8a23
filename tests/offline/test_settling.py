"""The capture's linear wait for a program's outputs: every output settled, failures raised, Pulumi's own wait
restored afterwards."""

from __future__ import annotations

import inspect

import pulumi
import pytest
from pulumi.runtime import stack as pulumi_stack

from mlops_platform.offline import settling
from mlops_platform.offline.capture import CaptureError, capture_stack


def chained_program(seen: list[tuple[int, int]], chains: int, length: int) -> None:
    """Outputs that each create the next one while being settled: none may be left pending."""
    def step(chain: int, link: int) -> int:
        seen.append((chain, link))
        if link + 1 < length:
            pulumi.Output.from_input(link + 1).apply(lambda next_link: step(chain, next_link))
        return link

    for chain in range(chains):
        pulumi.Output.from_input(0).apply(lambda link, chain=chain: step(chain, link))  # type: ignore[misc]


def run(program: object) -> None:
    capture_stack(program, stack="dev", config={}, stack_outputs={},  # type: ignore[arg-type]
                  default_region="eu-west-1")


def test_outputs_created_while_settling_are_all_settled() -> None:
    seen: list[tuple[int, int]] = []
    run(lambda: chained_program(seen, chains=3, length=40))
    assert sorted(seen) == [(chain, link) for chain in range(3) for link in range(40)]


def test_a_failing_output_fails_the_capture_with_its_own_message() -> None:
    def fails(_: int) -> int:
        raise ValueError("the bucket name is not valid")

    def program() -> None:
        pulumi.Output.from_input(1).apply(fails)
        pulumi.Output.from_input(2).apply(lambda v: v)

    with pytest.raises(CaptureError, match="the bucket name is not valid"):
        run(program)


def test_after_a_failed_capture_pulumis_own_wait_is_back_and_the_next_capture_starts_clean() -> None:
    shipped = pulumi_stack.wait_for_rpcs
    with pytest.raises(CaptureError):
        run(lambda: [pulumi.Output.from_input(n).apply(lambda v: 1 / (v - 1)) for n in range(3)])
    assert pulumi_stack.wait_for_rpcs is shipped
    seen: list[tuple[int, int]] = []
    run(lambda: chained_program(seen, chains=1, length=3))
    assert seen == [(0, 0), (0, 1), (0, 2)]


def test_settle_takes_the_arguments_of_the_wait_it_replaces() -> None:
    """Pinned pulumi: if its `wait_for_rpcs` changes shape, the swap must be revisited."""
    def parameters(function: object) -> list[tuple[str, object]]:
        return [(p.name, p.default) for p in inspect.signature(function).parameters.values()]  # type: ignore[arg-type]

    assert parameters(settling.settle) == parameters(pulumi_stack.wait_for_rpcs)
