"""Greenroom: the operations room for social media teams."""

from __future__ import annotations

__version__ = "0.1.0"
