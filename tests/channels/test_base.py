"""What channels share: one chat's messages in order, others meanwhile, a waiter that gives
up leaves nothing behind, and idle chats are forgotten."""

from __future__ import annotations

import asyncio

import pytest

from bot.channels.base import ChatOrder


async def test_one_chat_in_order_while_other_chats_go_ahead():
    order, done = ChatOrder(limit=2), []
    release = asyncio.Event()

    async def handle(chat: str, n: int) -> None:
        async with order.turn(chat):
            if (chat, n) == ("a", 0):
                await release.wait()  # the first message of chat a takes long
            done.append((chat, n))

    tasks = [asyncio.create_task(handle("a", n)) for n in range(3)]
    tasks.append(asyncio.create_task(handle("b", 0)))
    await asyncio.sleep(0.05)
    assert done == [("b", 0)]  # chat b was not held up by chat a
    release.set()
    await asyncio.gather(*tasks)
    assert [n for chat, n in done if chat == "a"] == [0, 1, 2]
    assert not order._locks and not order._waiting  # idle chats forgotten


@pytest.mark.parametrize("where", ["on the chat's lock", "on a slot"])
async def test_a_cancelled_waiter_leaves_no_lock_or_slot_behind(where):
    order = ChatOrder(limit=1)
    hold = asyncio.Event()

    async def first() -> None:
        async with order.turn("a"):
            await hold.wait()

    running = asyncio.create_task(first())
    await asyncio.sleep(0.01)
    chat = "a" if where == "on the chat's lock" else "b"  # b waits for the one slot
    waiter = asyncio.create_task(_enter(order, chat))
    await asyncio.sleep(0.01)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    hold.set()
    await running
    async with order.turn("a"), asyncio.timeout(1):  # nothing is still taken
        pass
    assert not order._locks and not order._waiting


async def _enter(order: ChatOrder, chat: str) -> None:
    async with order.turn(chat):
        raise AssertionError("should have waited")
