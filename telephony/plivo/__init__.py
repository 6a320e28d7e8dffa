"""Plivo: calls placed through Plivo's Voice API (the `plivo` SDK), answered with `<Stream>` XML that bridges
them into the agent over Plivo's bidirectional audio stream, status callbacks mapped to the one lifecycle,
every webhook checked against Plivo's V3 signature (docs/providers.md)."""
