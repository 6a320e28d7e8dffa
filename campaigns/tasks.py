"""Celery tasks of the campaigns app: each calls campaigns/dispatch.py."""

from __future__ import annotations

from celery import shared_task

from campaigns import dispatch


@shared_task(name="campaigns.dispatch_tick", acks_late=True, ignore_result=True)
def dispatch_tick() -> int:
    return dispatch.dispatch_tick()


@shared_task(name="campaigns.dispatch", acks_late=True, ignore_result=True)
def dispatch_campaign(campaign_id: int) -> int:
    return dispatch.campaign_dispatch(campaign_id=campaign_id).started
