"""The Slack adapter: Bolt app and modes, slash commands, events, Block Kit, sink,
attempt log and installation stores.
"""
