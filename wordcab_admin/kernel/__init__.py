"""The kernel: what every app may use and that names no app (the lowest layer; docs/architecture.md).

Domain errors, the API's error shape, pagination and validation, roles, public ids, API keys, environment
parsing, public URLs, audio codecs, the audit seam, and `fastpath/` (the framework workarounds the
benchmarks need)."""
