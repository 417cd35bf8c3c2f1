from __future__ import annotations

import io
import logging

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.test import override_settings

from greenroom.conftest import World
from greenroom.core import actions, vault
from greenroom.core.logging import RedactSecretsFilter
from greenroom.core.models import AuditEvent, Secret

TOKEN = "EAAB-live-token-9f8e7d6c5b4a3210"


def test_a_secret_is_stored_encrypted_and_revealed_intact(world: World) -> None:
    secret = actions.do_store_secret(
        world.acme, name="meta:app", value=TOKEN, acting_user=world.alice
    )
    raw = bytes(Secret.objects.get(pk=secret.pk).ciphertext)
    assert TOKEN.encode() not in raw
    assert vault.reveal(Secret.objects.get(pk=secret.pk)) == TOKEN
    assert secret.hint == "…3210"


def test_the_audit_row_says_a_secret_changed_but_not_what_it_is(world: World) -> None:
    actions.do_store_secret(world.acme, name="meta:app", value=TOKEN, acting_user=world.alice)
    event = AuditEvent.objects.filter(action="secret.stored").latest("id")
    assert TOKEN not in str(event.after) and TOKEN not in str(event.before)
    assert event.after["name"] == "meta:app"


def test_rotation_moves_every_secret_to_the_new_key(world: World, settings) -> None:
    old_key = settings.VAULT_KEYS[0]
    secret = actions.do_set_channel_credentials(
        world.coffee_x, token=TOKEN, acting_user=world.alice
    )
    new_key = Fernet.generate_key().decode()
    settings.VAULT_KEYS = [new_key, old_key]
    out = io.StringIO()
    call_command("vault", "rotate", stdout=out)
    assert "Re-encrypted" in out.getvalue()
    settings.VAULT_KEYS = [new_key]  # the old key is gone now
    assert secret.credentials is not None
    assert vault.reveal(Secret.objects.get(pk=secret.credentials.pk)) == TOKEN
    assert AuditEvent.objects.filter(action="vault.rotated").exists()


def test_dropping_a_key_before_rotating_gives_a_clear_error(world: World, settings) -> None:
    secret = actions.do_store_secret(world.acme, name="x:app", value=TOKEN, acting_user=world.alice)
    settings.VAULT_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(vault.VaultError, match="was a vault key removed"):
        vault.reveal(Secret.objects.get(pk=secret.pk))
    with pytest.raises(CommandError):
        call_command("vault", "rotate", stdout=io.StringIO())


@override_settings(VAULT_KEYS=["not-a-key"])
def test_a_malformed_key_is_reported_as_such(db: None) -> None:
    with pytest.raises(vault.VaultError, match="not a valid Fernet key"):
        vault.seal("whatever-secret-value")


def test_log_lines_never_carry_a_revealed_token(world: World, caplog) -> None:
    secret = actions.do_store_secret(world.acme, name="x:app", value=TOKEN, acting_user=world.alice)
    vault.reveal(secret)
    logger = logging.getLogger("greenroom.test")
    handler_filter = RedactSecretsFilter()
    caplog.handler.addFilter(handler_filter)
    try:
        logger.warning("calling the network with %s", TOKEN)
        try:
            raise RuntimeError(f"401 for token {TOKEN}")
        except RuntimeError:
            logger.exception("network call failed")
    finally:
        caplog.handler.removeFilter(handler_filter)
    assert TOKEN not in caplog.text
    assert "[redacted]" in caplog.text
