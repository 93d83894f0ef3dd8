"""Platform-neutral core: market data, rules, shocks, views, cards, i18n."""
