"""Celery finds each app's tasks in its `tasks` module: here, those of every provider sub-package (each
one's own `tasks.py`, imported so that its tasks register; telephony/registry.py finds them)."""

import importlib

from telephony.registry import provider_packages

for _package in provider_packages():
    if importlib.util.find_spec(f"telephony.{_package}.tasks") is not None:
        importlib.import_module(f"telephony.{_package}.tasks")
