"""Beat work of compliance (every few minutes, greenroom/celery.py): start quarterly access
reviews that are due, remind reviewers before a deadline, and close campaigns whose deadline
passed (revoking what nobody certified). Each step is safe to run from several workers: starts
lock the schedule row, reminders are unique per reviewer, closing locks the campaign."""

from __future__ import annotations

from greenroom.celery import app
from greenroom.compliance.actions import reviews


@app.task(name="greenroom.compliance.tick")
def tick() -> dict[str, int]:
    started = reviews.start_due_reviews()
    reminded = reviews.remind_due()
    closed = reviews.close_due()
    return {"started": len(started), "reminded": reminded, "closed": len(closed)}
