"""`greenroom demo seed|traffic|crisis`: what a person trying Greenroom sees."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from greenroom.conftest import World
from greenroom.core import audit, vault
from greenroom.core.models import (
    Channel,
    ChannelGrant,
    Membership,
    Organization,
    Secret,
    Team,
    User,
)
from greenroom.core.permissions import Role
from greenroom.networks.models import InboundEvent
from greenroom.networks.sandbox import traffic
from greenroom.networks.sandbox.models import SandboxItem, SandboxPost
from greenroom.networks.sandbox.testing import Sandbox, sandbox  # noqa: F401

NETWORKS = {
    "x",
    "instagram",
    "facebook",
    "threads",
    "linkedin",
    "bluesky",
    "mastodon",
    "tiktok",
    "youtube",
}


def run(*args: str) -> str:
    out = StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_seed_creates_the_demo_organisation_once_and_prints_the_logins() -> None:
    output = run("seed")

    org = Organization.objects.get()
    assert sorted(org.brands.values_list("name", flat=True)) == ["Cloud Tea", "Daybreak Coffee"]
    channels = list(Channel.objects.filter(organization=org))
    assert len(channels) == 12
    assert all(c.sandboxed and c.external_id and c.owner_id for c in channels)
    assert {c.kind for c in channels} == NETWORKS
    assert {c.region for c in channels} == {"KR", "Global"}
    assert sum(c.backup_id is None for c in channels) == 2

    members = Membership.objects.filter(organization=org, is_active=True)
    roles = {m.role for m in members}
    assert members.count() == 8 and len(roles) == 8
    assert {
        Role.OWNER,
        Role.ADMIN,
        Role.BRAND_MANAGER,
        Role.PUBLISHER,
        Role.CONTRIBUTOR,
        Role.APPROVER,
        Role.COMMUNITY_AGENT,
    } <= roles
    assert Team.objects.filter(organization=org).count() == 2
    assert ChannelGrant.objects.filter(channel__organization=org).exists()
    from greenroom.publishing.models import ApprovalPolicy

    policy = ApprovalPolicy.objects.get(organization=org, is_active=True)
    assert [s.name for s in policy.steps.order_by("order")] == ["Brand", "Legal"]

    # Tokens are in the vault, never in the output; a few expire soon.
    secrets = [c.credentials for c in channels]
    assert all(isinstance(s, Secret) and s.expires_at for s in secrets)
    soon = timezone.now() + timedelta(days=7)
    assert sum(s.expires_at < soon for s in secrets if s and s.expires_at) >= 2
    for secret in secrets:
        assert secret is not None
        assert vault.reveal(secret) not in output

    # Posts on the network, conversations back through the webhooks, in both languages.
    assert 30 <= SandboxPost.objects.count() <= 60
    events = InboundEvent.objects.filter(organization=org)
    assert 200 <= events.count() <= 500
    assert events.count() == SandboxItem.objects.count()
    assert set(events.values_list("source", flat=True)) == {"webhook"}
    assert set(events.values_list("kind", flat=True)) == {"comment", "mention", "dm"}
    languages = {e.payload["language"] for e in events}
    assert languages == {"en", "ko"}
    assert audit.verify().ok

    # What the person reads: where to go, who to be, the password.
    assert f"Open {settings.BASE_URL} " in output
    assert "greenroom-demo" in output
    for username in ("mina", "daniel", "sora", "jake", "yuna", "priya", "minho", "ellen"):
        assert username in output
    assert Client().login(username="minho", password="greenroom-demo")

    again = run("seed")
    assert "did nothing" in again
    assert Organization.objects.count() == 1
    assert User.objects.count() == 8
    assert InboundEvent.objects.count() == events.count()


@pytest.mark.django_db
def test_seed_does_nothing_when_any_organisation_exists(world: World) -> None:
    assert "did nothing" in run("seed")
    assert not Organization.objects.filter(name="Daybreak Beverages").exists()


def test_traffic_once_writes_to_every_connected_sandbox_channel(
    world: World,
    sandbox: Sandbox,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sandbox.connect(world.coffee_x)
    sandbox.connect(world.tea_bluesky)
    # The rhythm has its own tests; here every hour is a busy one.
    monkeypatch.setattr(traffic, "HOURLY_WEIGHT", (1.0,) * 24)

    output = run("traffic", "--once", "--rate", "20", "--seed", "1")
    sandbox.deliver()

    events = InboundEvent.objects.all()
    assert events.count() > 0
    assert {e.channel_id for e in events} == {world.coffee_x.pk, world.tea_bluesky.pk}
    assert f"{events.count()} messages on 2 channels" in output


def test_crisis_once_bursts_negative_messages_on_one_channel(
    world: World,
    sandbox: Sandbox,  # noqa: F811
) -> None:
    sandbox.connect(world.coffee_x)
    sandbox.connect(world.tea_bluesky)

    output = run(
        "crisis",
        "--channel",
        str(world.coffee_x.pk),
        "--topic",
        "burnt beans|탄 원두",
        "--minutes",
        "5",
        "--once",
        "--seed",
        "3",
    )
    sandbox.deliver()

    events = InboundEvent.objects.all()
    assert events.count() > 20
    assert {e.channel_id for e in events} == {world.coffee_x.pk}
    texts = [e.payload["text"] for e in events]
    assert sum("burnt beans" in t or "탄 원두" in t for t in texts) > 0.6 * len(texts)
    assert "crisis messages" in output


def test_traffic_explains_what_to_do_without_sandbox_channels(db: None) -> None:
    with pytest.raises(CommandError, match="Run `greenroom demo seed` first"):
        run("traffic", "--once")


def test_crisis_on_a_channel_that_is_not_sandboxed_says_so(
    world: World,
    sandbox: Sandbox,  # noqa: F811
) -> None:
    with pytest.raises(CommandError, match=f"Channel {world.coffee_x.pk} is not a sandbox"):
        run("crisis", "--channel", str(world.coffee_x.pk), "--once")
