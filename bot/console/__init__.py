"""The staff console: the office's web workplace, served by `desabot run` (or `desabot
console` alone) in the bot's own event loop. Server-rendered pages (Starlette, Jinja2), every
asset served by the bot itself, Indonesian first with English switchable.

It calls the same domain functions as the chat and the command line (bot/domain/), so every
path writes the same rows, outbox rows and audit lines; it has no SQL of its own.
"""
