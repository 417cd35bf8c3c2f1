from __future__ import annotations

from celery import shared_task

from greenroom.core.models import Channel
from greenroom.networks.connections import polling


@shared_task(name="greenroom.networks.connections.tasks.poll_inboxes", ignore_result=True)
def poll_inboxes() -> int:
    """Beat: queue an inbox poll for every connected channel of a polled network."""
    ids = list(polling.channels_to_poll().values_list("pk", flat=True))
    for channel_id in ids:
        poll_channel_inbox.delay(channel_id)
    return len(ids)


@shared_task(name="greenroom.networks.connections.tasks.poll_channel_inbox", ignore_result=True)
def poll_channel_inbox(channel_id: int) -> None:
    channel = Channel.objects.filter(pk=channel_id).first()
    if channel is not None:
        polling.poll_channel(channel)
