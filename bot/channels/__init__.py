"""Channels: thin adapters between a chat platform and the conversation core."""
