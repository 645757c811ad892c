"""Channels: thin adapters between a chat platform and the core (bot/channels/base.py)."""
