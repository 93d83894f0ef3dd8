"""The Discord adapter: runtime, slash commands, lifecycle, pacer, embeds, sink.

Modules here import discord.py with absolute imports (`import discord`), which is the
library, never this package (`bot.chat.discord`).
"""
