"""The policy tests' shared harness (`policy_harness`): the pack over its analyzer, started once per
configuration and ended with the session in every xdist worker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.policies import policy_harness


@pytest.fixture(scope="session", autouse=True)
def policy_packs_closed() -> Iterator[None]:
    yield
    policy_harness.close_all()
