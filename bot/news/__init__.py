"""News adapters (Yahoo Finance through yfinance, RSS/Atom feeds, the synthesis model) and the
desk that serves their headlines to cards; `bot.news.build.build_news` wires them from settings.

Nothing is imported here: a command that shows no news loads no news adapter.
"""
