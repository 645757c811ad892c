"""Queued messages as they are sent: each outbox row rendered when its turn comes, in its
reader's language, with the session or announcement as it is then.

The words and buttons come from the feature that owns the row's text key (its
``@feature.renders`` renderer, through the router); this module loads what they talk about.
An announcement is rendered once per language while it goes out, and never again once it was
cancelled; the values WhatsApp's templates are filled from are gathered here too.
"""

from __future__ import annotations

from dataclasses import replace

from bot.core.context import Env
from bot.core.messages import Picture, Reply, reply_from_text
from bot.core.router import Router
from bot.domain import broadcasts, people, pictures, registrations, sessions
from bot.domain.outbox import REPLY, Due
from bot.domain.sessions import Session
from bot.support.dates import when

BROADCAST = "broadcast"  # the text key of announcements
CACHED_BROADCASTS = 64  # only the few announcements being sent at a time matter


class OutboxRenderer:
    def __init__(self, env: Env, router: Router) -> None:
        self.env, self.router = env, router
        # announcements as sent, per (broadcast, language); None once it was cancelled
        self._broadcasts: dict[tuple[int, str], Reply | None] = {}

    async def render(self, due: Due) -> Reply | None:
        """An outbox row as the message to send now; None: drop it."""
        if due.text_key == REPLY:  # a reply to a message, made when it was queued
            words = due.values.get(REPLY)  # gone: its person erased their data meanwhile
            return reply_from_text(words) if words else None
        if due.broadcast_id is not None:
            return await self._announcement(due.broadcast_id, due.lang)
        session = None
        values = due.values
        if due.session_id is not None:
            session = await sessions.get_session_by_id(self.env.db, due.session_id)
            if session is None:
                return None
            booking = await registrations.latest_booking_code(
                self.env.db, session.id, due.person_id
            )
            values = {"booking": booking, **due.values}
        # about a villager, for the staff group: in the office's language
        lang = due.lang if due.to_person else self.env.settings.default_language
        return self.router.render(self.env, due.text_key, lang, values, session)

    async def _announcement(self, broadcast_id: int, lang: str) -> Reply | None:
        key = (broadcast_id, lang)
        if key not in self._broadcasts:
            broadcast = await broadcasts.get_broadcast(self.env.db, broadcast_id)
            if broadcast is None or broadcast.status == "cancelled":
                return None
            if len(self._broadcasts) > CACHED_BROADCASTS:
                self._broadcasts = {k: v for k, v in self._broadcasts.items() if v is None}
            reply = self.preview(
                broadcast.text.get(lang) or broadcast.text["id"], broadcast.office, lang
            )
            if broadcast.picture_id is not None:
                reply = replace(reply, picture=await self._picture(broadcast.picture_id))
            self._broadcasts[key] = reply
        return self._broadcasts[key]

    async def _picture(self, picture_id: int) -> Picture | None:
        """What the channels need to send it; its bytes they ask for once (App.picture)."""
        found = await pictures.get(self.env.db, picture_id)
        if found is None:
            return None
        return Picture(found.id, found.media_type, f"pengumuman-{found.id}.{found.extension}")

    def preview(self, text: str, office: str, lang: str) -> Reply:
        """An announcement exactly as villagers get it."""
        values = {"text": text, "office": office}
        reply = self.router.render(self.env, BROADCAST, lang, values)
        assert reply is not None
        return reply

    async def forget_cancelled(self) -> None:
        """A broadcast cancelled (maybe from the command line) while its messages are being
        sent: the ones already taken from the queue are not sent either."""
        cached = {broadcast_id for broadcast_id, _ in self._broadcasts}
        if not cached:
            return
        cancelled = await broadcasts.cancelled_among(self.env.db, cached)
        for key in [k for k in self._broadcasts if k[0] in cancelled]:
            self._broadcasts[key] = None

    async def template_values(self, due: Due) -> dict[str, str]:
        """The values a template's parameters are taken from (WhatsApp, outside the 24-hour
        window): the session's title, time and place, the announcement's text and office."""
        db = self.env.db
        values = {"name": "", **due.values}
        if due.session_id is not None:
            session = await sessions.get_session_by_id(db, due.session_id)
            if session is not None:
                values.update(self._session_values(session, due.lang))
                values["booking"] = await registrations.latest_booking_code(
                    db, session.id, due.person_id
                )
        if due.broadcast_id is not None:
            broadcast = await broadcasts.get_broadcast(db, due.broadcast_id)
            if broadcast is not None:
                values["text"] = broadcast.text.get(due.lang) or broadcast.text["id"]
                values["office"] = self.env.texts.office_values.get(f"{broadcast.office}.name", "")
        name = await people.name_of(db, due.person_id)
        if name is not None:
            values["name"] = name
        return values

    def _session_values(self, session: Session, lang: str) -> dict[str, str]:
        return {
            "title": session.title.get(lang, session.title["id"]),
            "when": when(session.starts_at, session.ends_at, self.env.settings.timezone, lang),
            "place": session.place,
            "village": session.village,
        }
