"""Signals the publishing app sends for others to act on."""

from __future__ import annotations

from django.dispatch import Signal

# The engine has recorded a variant as published. Arguments: `variant_id`, and `variant` when the
# sender has the row loaded (listeners then need no query to decide). It may be sent inside the
# transaction that records the success or after it commits: listeners must be right either way.
# greenroom.publishing.first_comments queues the variant's first comment here.
variant_published = Signal()
