"""Waiting for a captured program's outputs in time linear in their number.

After a program returns, Pulumi's `wait_for_rpcs` waits for every pending output with
`asyncio.wait(pending, return_when=FIRST_COMPLETED)`, re-arming a callback on each of the pending outputs
after every single completion: quadratic in the outputs of a stack (on a large preview with 20 use cases, a
fifth of the capture's CPU). `settle` keeps its contract — drain the queued RPCs, then wait until no output
is pending, re-raising the first failure as soon as it happens — but waits with `FIRST_EXCEPTION`, which
returns once everything is done or anything failed: one pass over the outputs per round instead of one per
output. The capture swaps it in only while a stack runs (`linear_settling`); `pulumi up` never sees it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from pulumi.runtime import stack as pulumi_stack
from pulumi.runtime.settings import SETTINGS, _get_rpc_manager


async def settle(await_all_outstanding_tasks: bool = True) -> None:
    rpc_manager = _get_rpc_manager()
    while True:
        while rpc_manager.rpcs:
            await asyncio.sleep(0)
            await rpc_manager.rpcs.pop()
        if rpc_manager.unhandled_exception is not None:
            raise rpc_manager.unhandled_exception.with_traceback(rpc_manager.exception_traceback)
        if await_all_outstanding_tasks:
            await _settle_outputs()
        if not rpc_manager.rpcs:
            return


async def _settle_outputs() -> None:
    while True:
        with SETTINGS.lock:
            pending = list(SETTINGS.outputs)
            SETTINGS.outputs.clear()
        if not pending:
            return
        done, not_done = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            await task  # re-raises the failure that ended the wait
        with SETTINGS.lock:
            SETTINGS.outputs.update(not_done)


@contextmanager
def linear_settling() -> Iterator[None]:
    """`pulumi.runtime.stack.run_pulumi_func` settles through this module's `settle` while the block runs."""
    shipped = pulumi_stack.wait_for_rpcs
    pulumi_stack.wait_for_rpcs = settle
    try:
        yield
    finally:
        pulumi_stack.wait_for_rpcs = shipped
