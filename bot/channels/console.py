"""Terminal channel: the same core as Telegram, for staff to try the bot and for demos.

Buttons are shown as numbered choices; typing the number presses the button. Input is read
line by line, so the chat can be scripted through a pipe; it ends cleanly at end of input.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TextIO

from bot.channels.base import Core
from bot.core.messages import Button, Incoming, Kind, Reply

CHANNEL = "console"


def render(reply: Reply) -> tuple[str, list[Button]]:
    """A reply as terminal text with numbered choices, and the buttons in that order."""
    buttons = reply.flat_buttons()
    lines = [
        f"bot> {line}" if i == 0 else f"     {line}"
        for i, line in enumerate(reply.text.split("\n"))
    ]
    lines += [f"     [{number}] {button.label}" for number, button in enumerate(buttons, start=1)]
    if reply.document:  # a file, such as an attendee CSV, is shown in full
        name, content = reply.document
        lines.append(f"     --- {name} ---")
        lines += [f"     {line}" for line in content.decode("utf-8").splitlines()]
    return "\n".join(lines), buttons


def parse_line(line: str, choices: list[Button]) -> tuple[Kind, str]:
    """What a typed line means: a numbered choice, a /command, or text for the FAQ."""
    stripped = line.strip()
    if stripped.isdigit() and 1 <= int(stripped) <= len(choices):
        return Kind.BUTTON, choices[int(stripped) - 1].action
    if stripped.startswith("/") and len(stripped) > 1:
        word, _, rest = stripped[1:].partition(" ")
        return Kind.COMMAND, f"{word.split('@', 1)[0].lower()} {rest.strip()}".strip()
    return Kind.TEXT, line


class ConsoleChannel:
    def __init__(
        self,
        core: Core,
        stdin: TextIO,
        stdout: TextIO,
        user_id: str = "local",
        name: str = "",
        lang: str | None = None,
    ) -> None:
        self.core = core
        self.stdin, self.stdout = stdin, stdout
        self.user_id, self.name, self.lang = user_id, name, lang
        self.choices: list[Button] = []

    async def run(self) -> None:
        await self._exchange(Kind.COMMAND, "start")
        lines = self._lines()
        interactive = self.stdin.isatty()
        while True:
            if interactive:
                self.stdout.write("you> ")
                self.stdout.flush()
            line = await lines.get()
            if line is None:
                break  # end of input
            kind, text = parse_line(line.rstrip("\r\n"), self.choices)
            await self._exchange(kind, text)

    def _lines(self) -> asyncio.Queue[str | None]:
        """Lines from stdin, read by a daemon thread: Ctrl-C never waits for a blocked read."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | None] = asyncio.Queue()

        def read() -> None:
            for line in iter(self.stdin.readline, ""):
                loop.call_soon_threadsafe(queue.put_nowait, line)
            loop.call_soon_threadsafe(queue.put_nowait, None)

        threading.Thread(target=read, name="stdin", daemon=True).start()
        return queue

    async def _exchange(self, kind: Kind, text: str) -> None:
        message = Incoming(
            channel=CHANNEL,
            user_id=self.user_id,
            kind=kind,
            text=text,
            display_name=self.name,
            language_hint=self.lang,
        )
        replies = await self.core.handle(message)
        for reply in replies:
            shown, buttons = render(reply)
            self.stdout.write(shown + "\n\n")
            if buttons:
                self.choices = buttons
        self.stdout.flush()
