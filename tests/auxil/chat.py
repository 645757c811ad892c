"""Talking to the core with neutral messages, as a channel would."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.core.messages import Incoming, Kind, Reply


def incoming(
    kind: Kind,
    text: str = "",
    user: str = "42",
    *,
    channel: str = "test",
    name: str = "",
    lang: str | None = None,
    **extra,
) -> Incoming:
    name = extra.pop("display_name", name)
    lang = extra.pop("language_hint", lang)
    return Incoming(channel, user, kind, text, display_name=name, language_hint=lang, **extra)


async def say(app, kind: Kind, text: str = "", user: str = "42", **options) -> list[Reply]:
    """The replies to one message; the bot must always answer, with no empty text and no
    unfilled placeholder."""
    replies = await app.handle(incoming(kind, text, user, **options))
    assert replies, "the bot must always answer"
    for reply in replies:
        assert reply.text.strip(), "no empty replies"
        assert "{" not in reply.text, f"unfilled placeholder in {reply.text!r}"
    return replies


STAFF = "555"  # the staff member's user id in tests, on every channel


async def person_row(app, user: str = "42"):
    """What the database holds of one person (by their user id)."""
    return await app.db.fetchone(
        "SELECT subscribed, village, active, flow FROM people WHERE channel_user_id = ?", (user,)
    )


Say = Callable[..., Awaitable[list[Reply]]]


def talker(user: str = "42", **defaults) -> Say:
    """``say`` with this test module's defaults (channel, name, language hint, user)."""

    async def talk(app, kind: Kind, text: str = "", user: str = user, **options) -> list[Reply]:
        return await say(app, kind, text, user, **{**defaults, **options})

    return talk


def actions(reply: Reply) -> list[str]:
    """The packed actions of a reply's buttons, in order."""
    return [button.action for button in reply.flat_buttons()]
