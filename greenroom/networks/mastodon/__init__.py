"""Mastodon (any server): connector, OAuth connect, tests against mastodon-mock and the docs."""
