"""The console adapter: one local channel, commands from a prompt or stdin, and the
sink that prints each delivery.
"""
