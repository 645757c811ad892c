"""Tests for the stand-in Bot API server, driven through a real python-telegram-bot ``Bot``."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, EndPointNotFound, Forbidden, RetryAfter
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

try:
    from tests.auxil.fake_bot_api import FakeBotApi, html_visible_text
except ImportError:  # tests/ itself is on sys.path (rootdir-less pytest invocation)
    from auxil.fake_bot_api import FakeBotApi, html_visible_text  # type: ignore[no-redef]

TOKEN = "123:ABC"
USER = 4242


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    with FakeBotApi() as server:
        yield server


def make_bot(fake: FakeBotApi) -> Bot:
    return Bot(token=TOKEN, base_url=fake.base_url, base_file_url=fake.base_file_url)


def post_form(fake: FakeBotApi, method: str, **params: object) -> tuple[int, dict]:
    """A raw form POST, bypassing PTB (for requests PTB would never build)."""
    data = urllib.parse.urlencode(params).encode()
    request = urllib.request.Request(fake.base_url + TOKEN + "/" + method, data=data)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def keyboard(callback_data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("Pilih", callback_data=callback_data)]])


# ----------------------------------------------------------------------------- basics


@pytest.mark.asyncio
async def test_get_me_and_token_are_recorded(fake: FakeBotApi) -> None:
    async with make_bot(fake) as bot:
        me = await bot.get_me()
    assert (me.id, me.is_bot, me.first_name, me.username) == (
        123,
        True,
        "Desabot",
        "desabot_test_bot",
    )
    assert fake.tokens_seen == {TOKEN}
    method, params = fake.calls[0]
    assert (method, params, fake.calls[0].status) == ("getMe", {}, 200)


@pytest.mark.asyncio
async def test_send_message_returns_a_real_message_and_is_recorded(fake: FakeBotApi) -> None:
    async with make_bot(fake) as bot:
        first = await bot.send_message(USER, "Halo", reply_markup=keyboard("menu"))
        second = await bot.send_message(USER, "Lagi")
    assert second.message_id > first.message_id
    assert (first.chat.id, first.chat.type, first.text) == (USER, "private", "Halo")
    assert first.reply_markup == keyboard("menu")
    assert first.date.year >= 2024
    records = fake.sent(USER)
    assert [r["text"] for r in records] == ["Halo", "Lagi"]
    assert records[0]["reply_markup"] == {
        "inline_keyboard": [[{"text": "Pilih", "callback_data": "menu"}]]
    }
    assert records[0]["message_id"] == first.message_id
    assert fake.sent(999) == []
    assert fake.errors == []


@pytest.mark.asyncio
async def test_valid_html_is_rendered_without_tags(fake: FakeBotApi) -> None:
    async with make_bot(fake) as bot:
        message = await bot.send_message(USER, "<b>x</b> &amp;", parse_mode="HTML")
    assert message.text == "x &"
    assert message.entities[0].type == "bold"
    record = fake.last_sent(USER)
    assert (record["text"], record["visible_text"]) == ("<b>x</b> &amp;", "x &")
    assert record["parse_mode"] == "HTML"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("a < b", 'unsupported start tag ""'),
        ("AT&T", "does not start an html entity"),
        ("<p>paragraf</p>", 'unsupported start tag "p"'),
        ("<b>tidak ditutup", "can't find end tag"),
        ("<b><i>x</b></i>", "unmatched end tag at byte offset 7"),
        ("x</b>", "unexpected end tag"),
        ('<span class="other">x</span>', 'must have class "tg-spoiler"'),
    ],
)
async def test_bad_html_is_rejected(fake: FakeBotApi, text: str, reason: str) -> None:
    async with make_bot(fake) as bot:
        with pytest.raises(BadRequest) as caught:
            await bot.send_message(USER, text, parse_mode="HTML")
    # PTB strips "Bad Request: " and lower-cases the rest of the description.
    assert "can't parse entities" in caught.value.message.lower()
    assert reason in caught.value.message.lower()
    assert fake.errors[-1].status == 400
    assert fake.sent() == []


@pytest.mark.asyncio
async def test_stray_ampersand_can_be_allowed_like_telegram_does(fake: FakeBotApi) -> None:
    fake.strict_ampersand = False
    async with make_bot(fake) as bot:
        message = await bot.send_message(USER, "<b>AT&T</b> Q&A", parse_mode="HTML")
    assert message.text == "AT&T Q&A"


@pytest.mark.asyncio
async def test_markdown_is_refused_by_the_stand_in(fake: FakeBotApi) -> None:
    async with make_bot(fake) as bot:
        with pytest.raises(BadRequest, match=r"(?i)unsupported in the stand-in"):
            await bot.send_message(USER, "*x*", parse_mode="MarkdownV2")


# ----------------------------------------------------------------------------- lengths


@pytest.mark.asyncio
async def test_text_length_limit_counts_visible_utf16_units(fake: FakeBotApi) -> None:
    async with make_bot(fake) as bot:
        await bot.send_message(USER, "x" * 4096)
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(USER, "x" * 4097)
        # tags and entities do not count, only what is visible
        await bot.send_message(USER, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
        await bot.send_message(USER, "&amp;" * 4096, parse_mode="HTML")
        with pytest.raises(BadRequest, match=r"(?i)too long"):
            await bot.send_message(USER, "<i>" + "&lt;" * 4097 + "</i>", parse_mode="HTML")
        # an emoji outside the BMP is two UTF-16 code units
        await bot.send_message(USER, "😀" * 2048)
        with pytest.raises(BadRequest, match=r"(?i)too long"):
            await bot.send_message(USER, "😀" * 2049)
    assert len(fake.sent(USER)) == 4


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("text", "parse_mode", "reason"),
    [
        ("", None, "message text is empty"),
        ("   \n  ", None, "text must be non-empty"),
        ("<b> </b>\n", "HTML", "text must be non-empty"),
    ],
)
async def test_empty_text_is_rejected(
    fake: FakeBotApi, text: str, parse_mode: str | None, reason: str
) -> None:
    async with make_bot(fake) as bot:
        with pytest.raises(BadRequest) as caught:
            await bot.send_message(USER, text, parse_mode=parse_mode)
    assert caught.value.message.lower() == reason


# ----------------------------------------------------------------------------- reply markup


@pytest.mark.asyncio
async def test_callback_data_limit_is_64_utf8_bytes(fake: FakeBotApi) -> None:
    async with make_bot(fake) as bot:
        await bot.send_message(USER, "ok", reply_markup=keyboard("x" * 64))
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            await bot.send_message(USER, "too long", reply_markup=keyboard("x" * 65))
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            await bot.send_message(USER, "33 x 'é' is 66 bytes", reply_markup=keyboard("é" * 33))
    assert [r["text"] for r in fake.sent()] == ["ok"]


@pytest.mark.asyncio
async def test_other_reply_markup_rules(fake: FakeBotApi) -> None:
    many = [[InlineKeyboardButton(str(i), callback_data=str(i))] for i in range(101)]
    async with make_bot(fake) as bot:
        reply_keyboard = ReplyKeyboardMarkup([[KeyboardButton("Ya"), "Tidak"]])
        message = await bot.send_message(USER, "pilih", reply_markup=reply_keyboard)
        assert message.reply_markup is None  # Telegram echoes inline keyboards only
        with pytest.raises(BadRequest, match=r"(?i)text buttons are unallowed"):
            await bot.send_message(USER, "x", reply_markup=InlineKeyboardMarkup([[{"text": "a"}]]))
        with pytest.raises(BadRequest, match=r"(?i)reply_markup_too_long"):
            await bot.send_message(USER, "x", reply_markup=InlineKeyboardMarkup(many))
        with pytest.raises(BadRequest, match=r"(?i)wrong http url"):
            bad_url = InlineKeyboardMarkup([[InlineKeyboardButton("web", url="not-a-url")]])
            await bot.send_message(USER, "x", reply_markup=bad_url)
    status, answer = post_form(fake, "sendMessage", chat_id=USER, text="x", reply_markup="{oops")
    assert status == 400
    assert answer["description"] == "Bad Request: can't parse reply keyboard markup JSON object"


# ----------------------------------------------------------------------------- chats, floods


@pytest.mark.asyncio
async def test_blocked_chat_answers_forbidden(fake: FakeBotApi) -> None:
    fake.blocked.add(USER)
    async with make_bot(fake) as bot:
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(USER, "halo")
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await bot.send_message("@nobody", "halo")
        fake.require_known_chat = True
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await bot.send_message(USER + 1, "halo")
        fake.push_text(USER + 1, "/start")  # a chat becomes known once it writes to the bot
        await bot.send_message(USER + 1, "halo")
    assert [call.status for call in fake.errors] == [403, 400, 400]


# PTB 22 warns about the int form of RetryAfter.retry_after as soon as it builds the exception
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
@pytest.mark.asyncio
async def test_fail_next_with_429_raises_retry_after(fake: FakeBotApi) -> None:
    fake.fail_next_with_429(2, retry_after=1)
    async with make_bot(fake) as bot:
        await bot.send_chat_action(USER, "typing")  # chat actions are not counted
        for _ in range(2):
            with pytest.raises(RetryAfter) as caught:
                await bot.send_message(USER, "halo")
            retry_after = caught.value.retry_after
            seconds = (
                retry_after.total_seconds()
                if isinstance(retry_after, dtm.timedelta)
                else retry_after
            )
            assert seconds == 1
        await bot.send_message(USER, "halo")
    assert [call.status for call in fake.calls_to("sendMessage")] == [429, 429, 200]
    assert fake.errors[0].description == "Too Many Requests: retry after 1"


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
@pytest.mark.asyncio
async def test_sliding_window_rate_limits(fake: FakeBotApi) -> None:
    fake.max_sends_per_second = 2
    async with make_bot(fake) as bot:
        await bot.send_message(USER, "1")
        await bot.send_message(USER + 1, "2")
        with pytest.raises(RetryAfter):
            await bot.send_message(USER, "3")
        fake.max_sends_per_second = None
        fake.per_chat_limit = 1
        await bot.send_message(USER + 2, "4")
        with pytest.raises(RetryAfter):
            await bot.send_message(USER + 2, "5")


# ----------------------------------------------------------------------------- updates


@pytest.mark.asyncio
async def test_get_updates_delivers_pushed_updates_and_honours_offset(fake: FakeBotApi) -> None:
    async with make_bot(fake) as bot:
        sent = await bot.send_message(USER, "Mau apa?", reply_markup=keyboard("menu:1"))
        fake.push_text(USER, "/start desa", first_name="Siti", username="siti")
        fake.push_callback(USER, "menu:1")
        fake.push_sticker(USER, emoji="🙏")
        assert fake.pending_updates() == 3

        updates = await bot.get_updates(timeout=0)
        assert [type(u) for u in updates] == [Update] * 3
        assert updates[0].update_id < updates[1].update_id < updates[2].update_id
        text, callback, sticker = updates
        assert text.message.text == "/start desa"
        assert text.message.entities[0].type == "bot_command"
        assert text.message.entities[0].length == len("/start")
        assert text.effective_user.first_name == "Siti"
        assert text.effective_user.language_code == "id"
        assert text.effective_chat.id == USER
        assert callback.callback_query.data == "menu:1"
        assert callback.callback_query.message.message_id == sent.message_id
        assert callback.callback_query.from_user.id == USER
        assert sticker.message.sticker.emoji == "🙏"

        # without a higher offset nothing is confirmed ...
        assert len(await bot.get_updates(timeout=0)) == 3
        # ... with one, older updates are dropped
        remaining = await bot.get_updates(offset=callback.update_id, timeout=0)
        assert [u.update_id for u in remaining] == [callback.update_id, sticker.update_id]
        assert await bot.get_updates(offset=sticker.update_id + 1, timeout=0) == ()
        assert fake.pending_updates() == 0

        assert await callback.callback_query.answer("Oke")
        with pytest.raises(BadRequest, match=r"(?i)query is too old"):
            await callback.callback_query.answer()
    assert fake.callback_answers[0]["text"] == "Oke"


@pytest.mark.asyncio
async def test_other_pushed_message_kinds_de_json(fake: FakeBotApi) -> None:
    fake.push_photo(USER, caption="foto")
    fake.push_voice(USER)
    fake.push_location(USER)
    fake.push_document(USER, file_name="ktp.pdf", content=b"%PDF")
    fake.push_contact(USER)
    fake.push_update(
        {"message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}}}
    )
    async with make_bot(fake) as bot:
        photo, voice, location, document, contact, raw = await bot.get_updates()
        assert photo.message.photo[-1].width == 800 and photo.message.caption == "foto"
        assert voice.message.voice.file_id == voice.message.voice.file_id.strip()
        assert voice.message.voice.mime_type == "audio/ogg"
        assert location.message.location.latitude == pytest.approx(-0.8917)
        assert document.message.document.file_name == "ktp.pdf"
        assert contact.message.contact.user_id == USER
        assert raw.update_id > contact.update_id
        file = await bot.get_file(document.message.document.file_id)
        assert bytes(await file.download_as_bytearray()) == b"%PDF"


@pytest.mark.asyncio
async def test_long_poll_returns_early_when_an_update_arrives(fake: FakeBotApi) -> None:
    fake.long_poll_cap = 0.3
    async with make_bot(fake) as bot:
        started = time.monotonic()
        assert await bot.get_updates(timeout=5) == ()
        assert 0.25 <= time.monotonic() - started < 1.0  # capped, not 5 s

        fake.long_poll_cap = 1.0
        poll = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        fake.push_text(USER, "halo")
        updates = await poll
        assert time.monotonic() - started < 0.5
        assert updates[0].message.text == "halo"


# ----------------------------------------------------------------------------- other methods


@pytest.mark.asyncio
async def test_set_my_commands_is_stored_per_language_and_scope(fake: FakeBotApi) -> None:
    async with make_bot(fake) as bot:
        await bot.set_my_commands([BotCommand("start", "Mulai")])
        await bot.set_my_commands(
            [BotCommand("start", "Mulai"), BotCommand("bantuan", "Bantuan")], language_code="id"
        )
        commands = await bot.get_my_commands(language_code="id")
        assert [c.command for c in commands] == ["start", "bantuan"]
        with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
            await bot.set_my_commands([BotCommand("Start Now", "x")])
    assert fake.my_commands("id")[1] == {"command": "bantuan", "description": "Bantuan"}
    assert [c["command"] for c in fake.my_commands()] == ["start"]
    assert fake.my_commands("en") == []


@pytest.mark.asyncio
async def test_send_document_records_the_upload(fake: FakeBotApi) -> None:
    async with make_bot(fake) as bot:
        message = await bot.send_document(
            USER,
            document=b"isi laporan",
            filename="laporan-é.txt",
            caption="<b>Laporan</b>",
            parse_mode="HTML",
        )
    assert message.document.file_name == "laporan-é.txt"
    assert message.caption == "Laporan"
    record = fake.last_sent(USER)
    assert record["document"] == {
        "filename": "laporan-é.txt",
        "content": b"isi laporan",
        "mime_type": "text/plain",
    }
    assert record["caption"] == "<b>Laporan</b>"
    assert fake.calls_to("sendDocument")[0].params["document"].content == b"isi laporan"


@pytest.mark.asyncio
async def test_edits_and_deletes(fake: FakeBotApi) -> None:
    async with make_bot(fake) as bot:
        message = await bot.send_message(USER, "Langkah 1", reply_markup=keyboard("next"))
        edited = await message.edit_text("<b>Langkah 2</b>", parse_mode="HTML")
        assert edited.text == "Langkah 2"
        assert edited.reply_markup is None  # editing without markup removes the keyboard
        with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
            await message.edit_text("<b>Langkah 2</b>", parse_mode="HTML")
        await bot.edit_message_reply_markup(USER, message.message_id, reply_markup=keyboard("x"))
        with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
            await bot.edit_message_text("x", chat_id=USER, message_id=999)
        assert await bot.delete_message(USER, message.message_id)
        with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
            await bot.delete_message(USER, message.message_id)
    methods = [r["method"] for r in fake.sent(USER)]
    assert methods == ["sendMessage", "editMessageText", "editMessageReplyMarkup"]
    assert fake.sent(USER)[-1]["text"] == "<b>Langkah 2</b>"


@pytest.mark.asyncio
async def test_webhook_methods_and_unknown_endpoints(fake: FakeBotApi) -> None:
    async with make_bot(fake) as bot:
        assert await bot.set_webhook("https://example.org/hook")
        assert (await bot.get_webhook_info()).url == "https://example.org/hook"
        assert await bot.delete_webhook(drop_pending_updates=True)
        assert (await bot.get_webhook_info()).url == ""
        with pytest.raises(EndPointNotFound):
            await bot.do_api_request("launchRocket", api_kwargs={"chat_id": USER})
    assert post_form(fake, "sendDice", chat_id=USER) == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )


@pytest.mark.asyncio
async def test_a_ptb_application_polls_and_replies(fake: FakeBotApi) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_html(
            "<b>Selamat datang</b>", reply_markup=keyboard("a")
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.callback_query.answer()
        await update.callback_query.edit_message_text("Dipilih: " + update.callback_query.data)

    app = Application.builder().token(TOKEN).base_url(fake.base_url).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0.0)
        fake.push_text(USER, "/start")
        await fake.wait_for(lambda f: len(f.sent(USER)) == 1)
        fake.push_callback(USER, "a")
        await fake.wait_for(lambda f: len(f.sent(USER)) == 2 and f.callback_answers)
        await app.updater.stop()
        await app.stop()
    assert [r["visible_text"] for r in fake.sent(USER)] == ["Selamat datang", "Dipilih: a"]
    assert fake.pending_updates() == 0
    assert fake.internal_errors == []


def test_wait_until_raises_with_a_dump(fake: FakeBotApi) -> None:
    with pytest.raises(AssertionError, match="condition not met") as caught:
        fake.wait_until(lambda f: f.sent(), timeout=0.05)
    assert "FakeBotApi:" in str(caught.value)


# ----------------------------------------------------------------------------- html_visible_text


@pytest.mark.parametrize(
    ("html", "visible"),
    [
        ("<b>x</b> &amp;", "x &"),
        ("&lt;tag&gt; &quot;q&quot; &#65;&#x42; &#128512;", '<tag> "q" AB 😀'),
        ("<B>caps</B> and <i>it</>", "caps and it"),
        ('<a href="https://example.org/?a=1&b=2">link</a>', "link"),
        ('<pre><code class="language-python">print(1)</code></pre>', "print(1)"),
        ("<blockquote expandable>kutipan</blockquote>", "kutipan"),
        ('<span class="tg-spoiler">rahasia</span><tg-spoiler>!</tg-spoiler>', "rahasia!"),
        ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍"),
        ("  \n<b> halo </b>\n\n", "halo"),
        ("a > b", "a > b"),
    ],
)
def test_html_visible_text(html: str, visible: str) -> None:
    assert html_visible_text(html) == visible


@pytest.mark.parametrize(
    "html",
    ["a < b", "Q&A", "<b>x", "<b>x</i>", "<p>x</p>", "<span>x</span>", '<a href="x>y', "<b"],
)
def test_html_visible_text_rejects_bad_html(html: str) -> None:
    with pytest.raises(ValueError):
        html_visible_text(html)


async def test_send_photo_checks_the_picture_and_takes_its_file_id_after(fake: FakeBotApi) -> None:
    from telegram import InputFile

    from auxil.pictures import picture

    async with Bot(TOKEN, base_url=fake.base_url) as bot:
        poster = picture("JPEG", (2000, 1000))
        sent = await bot.send_photo(USER, InputFile(poster, filename="a.jpg"), caption="Hai")
        sizes = [(p.width, p.height) for p in sent.photo]
        assert sizes == [(90, 45), (320, 160), (800, 400), (1280, 640)]
        again = await bot.send_photo(USER, sent.photo[0].file_id, caption="x" * 1024)
        assert again.caption == "x" * 1024
        assert [m["photo"]["by_file_id"] for m in fake.sent(USER)] == [False, True]
        refusals = [
            (b"not a picture", "IMAGE_PROCESS_FAILED"),
            (picture("PNG", (2100, 100)), "PHOTO_INVALID_DIMENSIONS"),
            ("AgACAgUnknownFileId", "wrong file identifier"),
        ]
        for photo, reason in refusals:
            upload = InputFile(photo, filename="b.png") if isinstance(photo, bytes) else photo
            with pytest.raises(BadRequest, match=f"(?i){reason}"):
                await bot.send_photo(USER, upload)
        with pytest.raises(BadRequest, match="caption is too long"):
            await bot.send_photo(USER, sent.photo[0].file_id, caption="x" * 1025)
