"""Logging set-up: one line per event, secrets redacted from every record.

httpx logs each request URL at INFO, and Bot API URLs contain the token: its logger is kept at
WARNING, and a filter on the handler replaces any secret that still slips into a message.
At DEBUG the libraries would log what villagers wrote, their names and numbers (the updates
python-telegram-bot receives, the requests it sends, the SQL parameters aiosqlite runs): they
are held at INFO whatever the level, so DEBUG shows the bot's own events only. Phone numbers
and identity numbers (NIK) are masked in every record.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

REDACTED = "[REDACTED]"
# held at WARNING: one line per request (tornado.general notes each malformed one at INFO)
NOISY_LOGGERS = ("httpx", "httpcore", "apscheduler", "tornado.access", "tornado.general")
# their DEBUG records carry message texts, names and numbers
TALKATIVE_LOGGERS = ("telegram", "aiosqlite", "tornado", "asyncio")
# An Indonesian identity number (16 digits, maybe written in groups, with spaces, dots,
# dashes, slashes or underscores between them, up to three in a row): never kept, never logged
NIK = re.compile(r"(?<!\d)(?:\d[\s.\-\u2013\u2014/_]{0,3}){15}\d(?!\d)")
NIK_MASK = "[NIK]"


def without_nik(text: str) -> str:
    return NIK.sub(NIK_MASK, text)


# Phone numbers as villagers give them: +62 812..., 62812..., 0812-3456-7890, (0812) 3456/7890,
# HP081234567890, Malaysian 012-345 6789, any number written with a "+". They never reach
# the log, nor does the token. Not after "=" (chat=..., score=...): those are ids and figures.
_SEP = r"[\s./()\-\u2013\u2014]{0,3}"
PHONE = re.compile(
    r"(?<![\d=])(?:"
    rf"(?:\+?\(?62\)?|\(?0){_SEP}8(?:{_SEP}\d){{7,11}}"  # Indonesian mobile
    rf"|\(?0\d(?:{_SEP}\d){{7,11}}"  # other numbers written with a leading 0
    rf"|\+{_SEP}\d(?:{_SEP}\d){{8,14}}"  # international
    r")(?!\d)"
)
PHONE_MASK = "[phone]"


class RedactSecrets(logging.Filter):
    """Takes the bot token, the webhook secret and phone numbers out of every log record,
    tracebacks included."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def _clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return PHONE.sub(PHONE_MASK, without_nik(text))

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self._clean(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            cleaned = self._clean(text)
            if cleaned != text:
                record.exc_info, record.exc_text = None, cleaned
        return True


def setup_logging(level: str, secrets: Iterable[str] = (), stream=None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s level=%(levelname)s logger=%(name)s %(message)s")
    )
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in TALKATIVE_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.INFO, root.level))
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    return handler
