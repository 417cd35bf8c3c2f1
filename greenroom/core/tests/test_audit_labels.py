"""Every audit action any app records has words on the audit page, in English and Korean."""

from __future__ import annotations

import importlib
import pkgutil

from django.apps import apps
from django.db import models
from django.utils import translation

import greenroom
from greenroom.core.templatetags.greenroom import action_label


def _action_codes() -> set[str]:
    # Import every app's actions so each action enum is defined, then collect their codes.
    for config in apps.get_app_configs():
        if not config.name.startswith("greenroom."):
            continue
        for name in ("actions", "audit_labels"):
            try:
                importlib.import_module(f"{config.name}.{name}")
            except ModuleNotFoundError as error:
                if error.name != f"{config.name}.{name}":
                    raise
    for module in pkgutil.walk_packages(greenroom.__path__, "greenroom."):
        if module.name.endswith(".actions") and ".tests" not in module.name:
            importlib.import_module(module.name)
    enums = [
        cls
        for cls in _subclasses(models.TextChoices)
        if cls.__module__.startswith("greenroom.") and cls.__name__.endswith("Action")
    ]
    assert len(enums) >= 5, enums
    return {str(code) for cls in enums for code in cls.values}


def _subclasses(cls: type[models.TextChoices]) -> list[type[models.TextChoices]]:
    found: list[type[models.TextChoices]] = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def test_every_audit_action_has_words() -> None:
    codes = _action_codes()
    assert "post.approved" in codes and "inbox.closed" in codes
    unnamed = sorted(code for code in codes if action_label(code) == code)
    assert unnamed == []


def test_labels_are_translated_to_korean() -> None:
    codes = _action_codes()
    with translation.override("ko"):
        untranslated = sorted(code for code in codes if action_label(code).isascii())
    assert untranslated == []
