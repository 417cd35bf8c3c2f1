"""Bluesky (AT Protocol): connector, app-password connect, tests against a real PDS."""
