"""desabot: a chat assistant for safe labour migration in Central Sulawesi."""

__version__ = "0.1.0"
