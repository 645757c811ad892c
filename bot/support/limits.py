"""Limits every chat platform the bot serves shares."""

MAX_TEXT = 4096  # characters of one message's text: Telegram's and WhatsApp's limit
