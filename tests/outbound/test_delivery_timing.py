"""The worker's send timeout outlasts every sink's own worst wait (Discord's 45 s)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.app import delivery_timing
from bot.chat.console.sink import ConsoleSink
from bot.settings import DeliveryTable


@dataclass
class SlowPlatformSink(ConsoleSink):
    send_timeout: float = 45.0


def test_a_sink_that_waits_45_s_inside_a_send_gets_a_longer_timeout_and_lease() -> None:
    sinks = {"console": ConsoleSink(), "discord": SlowPlatformSink(platform="discord")}
    timeout, lease = delivery_timing(sinks, DeliveryTable(timeout_seconds=30, lease_seconds=60))
    assert timeout == 50.0 and lease == 100.0


def test_without_slow_sinks_the_configured_timing_holds() -> None:
    assert delivery_timing({"console": ConsoleSink()}, DeliveryTable()) == (30.0, 60.0)
