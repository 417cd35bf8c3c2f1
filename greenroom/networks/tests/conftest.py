"""Fixtures for the networks tests."""

from greenroom.networks.sandbox.testing import sandbox  # noqa: F401
