"""A channel's alert rules as users name them: a preset, a saved rule's name, or a rule's text
in any spelling (`NVDA.pct<=-8` is `NVDA.pct <= -8`).

A custom rule's subscription id is `custom:` + its canonical text, so one rule is subscribed
once however it was typed; a saved rule keeps its name and text apart from its subscription.
Subscriptions made before saved rules were kept apart (rule id = the name) are still found.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.model import Subscription
from bot.domain.rules.canonical import CUSTOM_PREFIX, canonical_text, custom_rule_id, rule_label
from bot.domain.rules.parser import RuleError, parse_rule
from handlers.base import Invocation


def canonical_or_none(inv: Invocation, text: str | None) -> str | None:
    """The canonical text of a rule, or None when `text` is not one."""
    if not text:
        return None
    try:
        return canonical_text(parse_rule(text, inv.services.core.market.symbols))
    except RuleError:
        return None


@dataclass(frozen=True)
class ChannelRules:
    """A channel's alert subscriptions and saved rules, with each one's canonical text."""

    subscriptions: tuple[Subscription, ...]
    saved: dict[str, str]
    """Saved rules: name → canonical text (as stored when it does not parse any more)."""
    texts: dict[str, str | None]
    """Subscription rule id → the canonical text it reads (presets included)."""

    def get(self, rule_id: str) -> Subscription | None:
        """The subscription with this id."""
        return next((s for s in self.subscriptions if s.rule_id == rule_id), None)

    def reading(self, text: str) -> list[Subscription]:
        """The subscriptions that read this canonical rule text."""
        return [s for s in self.subscriptions if self.texts.get(s.rule_id) == text]

    def saved_subscription(self, name: str) -> Subscription | None:
        """The subscription of a saved rule (under its text, or under its name from before)."""
        text = self.saved.get(name)
        own = self.get(custom_rule_id(text)) if text else None
        if own is None and text:
            own = next(iter(self.reading(text)), None)
        return own or self.get(name)

    def name_of(self, subscription: Subscription) -> str | None:
        """The saved rule's name a subscription belongs to, if any."""
        text = self.texts.get(subscription.rule_id)
        for name, saved in self.saved.items():
            if saved == text or subscription.rule_id == name:
                return name
        if not subscription.rule_id.startswith(CUSTOM_PREFIX) and subscription.expression:
            return subscription.rule_id
        return None

    def label(self, subscription: Subscription) -> str:
        """How users see it: `mine: NVDA.pct <= -10`, `NVDA.pct <= -8` or `deepseek`."""
        return rule_label(subscription.rule_id, subscription.expression, self.name_of(subscription))

    def find(self, inv: Invocation, text: str) -> Subscription | None:
        """The subscription a user names: a preset, a saved rule, a rule id or a rule's text."""
        if text in self.saved:
            return self.saved_subscription(text)
        found = self.get(text)
        if found is not None:
            return found
        canonical = canonical_or_none(inv, text)
        return next(iter(self.reading(canonical)), None) if canonical else None


async def channel_rules(inv: Invocation) -> ChannelRules:
    """The invoking channel's alert subscriptions and saved rules."""
    store = inv.services.store
    subscriptions = tuple(
        s for s in await store.list_subscriptions(inv.channel) if s.kind == "alert"
    )
    saved = {
        name: canonical_or_none(inv, text) or text
        for name, text in (await store.saved_rules(inv.channel)).items()
    }
    presets = inv.services.core.presets
    texts: dict[str, str | None] = {}
    for subscription in subscriptions:
        preset = presets.get(subscription.rule_id)
        if preset is not None and not subscription.expression:
            texts[subscription.rule_id] = canonical_text(preset.tree)
        else:
            texts[subscription.rule_id] = canonical_or_none(inv, subscription.expression)
    return ChannelRules(subscriptions, saved, texts)
