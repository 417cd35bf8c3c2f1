from __future__ import annotations

from greenroom.networks.sandbox.testing import sandbox  # noqa: F401
