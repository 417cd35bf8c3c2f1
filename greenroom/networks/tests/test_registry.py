from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from greenroom.conftest import World
from greenroom.core import actions
from greenroom.networks import registry


def test_an_unknown_network_kind_in_config_stops_start_up() -> None:
    env = {**os.environ, "GREENROOM_NETWORKS": "sandbox,myspace", "GREENROOM_TESTING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "greenroom.cli", "check"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "GREENROOM_NETWORKS lists 'myspace'" in result.stderr
    assert "Fix the GREENROOM_NETWORKS environment variable" in result.stderr


@override_settings(GREENROOM_NETWORKS=["sandbox", "friendster"])
def test_check_configuration_names_the_unknown_kind() -> None:
    with pytest.raises(ImproperlyConfigured, match="'friendster'"):
        registry.check_configuration()


def test_a_channel_of_an_unknown_network_is_refused(world: World) -> None:
    with pytest.raises(actions.ActionError, match="Unknown network 'myspace'"):
        actions.do_create_channel(
            world.acme,
            brand=world.coffee,
            kind="myspace",
            handle="tom",
            sandboxed=True,
            acting_user=world.alice,
        )


def test_a_real_channel_needs_its_network_enabled(world: World) -> None:
    with pytest.raises(actions.ActionError, match="not enabled"):
        actions.do_create_channel(
            world.acme,
            brand=world.coffee,
            kind="youtube",
            handle="acme",
            sandboxed=False,
            acting_user=world.alice,
        )


def test_sandboxed_channels_use_the_sandbox_connector(world: World) -> None:
    connector = registry.connector_for(world.coffee_instagram)
    assert type(connector).kind == "sandbox"
