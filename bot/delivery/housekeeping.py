"""What the delivery worker does between batches: release due announcements into the outbox,
hold them during quiet hours, close finished ones (telling their sender), forget cancelled
ones, forward officer questions held back by the hourly limit, and the daily retention job
(which also forgets the keys of updates handled long ago and pictures never sent)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.core.context import Env
from bot.delivery.render import OutboxRenderer
from bot.domain import broadcasts, conversations, inbox, intake, pictures, privacy

UNSENT_PICTURES_KEPT = timedelta(days=1)  # uploaded for a preview, never sent


async def housekeeping(env: Env, renderer: OutboxRenderer, now: datetime) -> None:
    settings = env.settings
    await broadcasts.release_due(env.db, now, settings.quiet, settings.reachable_channels)
    await broadcasts.hold_for_quiet_hours(env.db, now, settings.quiet)
    await broadcasts.finish_done(env.db, now)
    await renderer.forget_cancelled()
    await inbox.forward_held(env.db, settings.staff_group)
    if await privacy.run_retention_if_due(env.db, now, settings.retention_days):
        await intake.forget_handled(env.db, now)
        await pictures.delete_unsent(env.db, now - UNSENT_PICTURES_KEPT)
        await conversations.forget_old(env.db, now)
