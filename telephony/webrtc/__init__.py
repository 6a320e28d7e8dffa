"""The browser leg: "Talk to this agent" on an agent's page, a WebRTC call through aiortc in the web process."""
