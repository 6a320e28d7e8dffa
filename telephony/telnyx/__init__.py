"""Telnyx: Call Control v2 (dial, answer, hang up through the official `telnyx` package), its Ed25519-signed
webhook `POST /v1/telnyx/webhook` (inbound calls answered with a media stream to the number's agent, every
status event into the lifecycle) and its bidirectional media stream `WS /v1/media/telnyx`. docs/providers.md
has its status table."""
