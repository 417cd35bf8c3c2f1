"""Background work of the media library: making renditions, and re-sending lost ones."""

from __future__ import annotations

# The configured app (not shared_task): the web process that queues a rendition must send it
# through Greenroom's broker settings, not Celery's defaults.
from greenroom.celery import app
from greenroom.media import actions


@app.task(name="greenroom.media.tasks.render", ignore_result=True)
def render(rendition_id: int) -> None:
    """Make one rendition (a no-op if another worker holds it or it is done)."""
    actions.render_rendition(rendition_id)


@app.task(name="greenroom.media.tasks.requeue_stalled", ignore_result=True)
def requeue_stalled() -> int:
    return actions.requeue_stalled()
