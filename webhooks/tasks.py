"""Celery tasks of outbound webhooks: one attempt of one delivery, and the sweep that sends whatever is due."""

from celery import shared_task

from webhooks import delivery


@shared_task(name="webhooks.deliver", acks_late=True)
def deliver(delivery_id: int) -> None:
    delivery.delivery_attempt(delivery_id=delivery_id)


@shared_task(name="webhooks.deliver_sweep", acks_late=True)
def deliver_sweep() -> int:
    return delivery.deliveries_due_sweep()
