"""What every X test shares."""

from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def forget_attempts() -> None:
    # Attempt records live in the shared cache; channel ids repeat between tests.
    cache.clear()
