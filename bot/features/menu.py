"""The main menu and the ways back to it: /start (the welcome), /menu, /bantuan, the
contact details of both offices, and the language."""

from __future__ import annotations

from typing import Literal

from bot.config import LANGUAGES
from bot.core.actions import Action, MainMenu
from bot.core.context import Ctx, Outcome, outcome
from bot.core.feature import Feature
from bot.core.messages import Reply
from bot.domain import people

feature = Feature(
    "menu",
    texts=(
        "welcome", "menu", "help", "contact", "button_contact", "button_language",
        "language_prompt", "language_set", "button_language_id", "button_language_en",
    ),
    borrows=("staff_help",),  # /bantuan from staff lists their commands too
)  # fmt: skip


class Contact(Action, prefix="contact", label="button_contact"):
    pass


class ChooseLanguage(Action, prefix="language", label="button_language"):
    pass


class SetLanguage(Action, prefix="lang"):
    lang: Literal["id", "en"]  # config.LANGUAGES


feature.menu_entry(Contact, order=50)
feature.menu_entry(ChooseLanguage, order=70)


@feature.command("start")
async def welcome(ctx: Ctx, argument: str) -> Outcome:
    text = ctx.t("welcome", name=ctx.person.display_name)
    return outcome("welcome", Reply(text, ctx.menu()))


@feature.command("menu")
async def menu_command(ctx: Ctx, argument: str) -> Outcome:
    return ctx.notice("menu")


@feature.action(MainMenu)
async def menu(ctx: Ctx, action: MainMenu) -> Outcome:
    return ctx.notice("menu")


@feature.command("bantuan", "help")
async def help_text(ctx: Ctx, argument: str) -> Outcome:
    """The villager's help; staff get their own commands under it."""
    if not ctx.is_staff:
        return ctx.notice("help")
    text = f"{ctx.t('help')}\n\n{ctx.t('staff_help')}"
    return outcome("help", Reply(text, ctx.menu()))


@feature.action(Contact)
async def contact(ctx: Ctx, action: Contact) -> Outcome:
    return outcome("contact", Reply(ctx.t("contact"), (ctx.back(),)))


@feature.command("bahasa", "language")
async def language_command(ctx: Ctx, argument: str) -> Outcome:
    return language_prompt(ctx)


@feature.action(ChooseLanguage)
async def choose_language(ctx: Ctx, action: ChooseLanguage) -> Outcome:
    return language_prompt(ctx)


def language_prompt(ctx: Ctx) -> Outcome:
    buttons = tuple(ctx.row(f"button_language_{lang}", SetLanguage(lang)) for lang in LANGUAGES)
    return outcome("language_prompt", Reply(ctx.t("language_prompt"), buttons))


@feature.action(SetLanguage)
async def set_language(ctx: Ctx, action: SetLanguage) -> Outcome:
    await people.set_language(ctx.db, ctx.person.id, action.lang)
    ctx.switch_language(action.lang)
    reply = Reply(ctx.t("language_set"), ctx.menu())
    return outcome(f"language_set:{action.lang}", reply)
