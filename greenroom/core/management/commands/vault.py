from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from greenroom.core.actions import do_rotate_vault
from greenroom.core.vault import VaultError


class Command(BaseCommand):
    help = (
        "Vault tools. `greenroom vault rotate` re-encrypts every secret with the first key in "
        "GREENROOM_VAULT_KEYS; `greenroom vault newkey` prints a fresh key."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        sub.add_parser("rotate", help="Re-encrypt every secret with the newest key.")
        sub.add_parser(
            "newkey", help="Print a new Fernet key to put first in GREENROOM_VAULT_KEYS."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "newkey":
            from cryptography.fernet import Fernet

            self.stdout.write(Fernet.generate_key().decode())
            return
        try:
            count = do_rotate_vault(acting_user=None)
        except VaultError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-encrypted {count} secrets with the newest key. Older keys can now be removed."
            )
        )
