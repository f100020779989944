"""Configuration layers: defaults < TOML < environment < flags, with clear errors."""

from __future__ import annotations

from typing import Annotated

import pytest

from nodes.runtime.config import CommonConfig, describe, load, update
from protocol.errors import ConfigError


def test_layers_apply_in_order(tmp_path):
    (tmp_path / "cuecast.toml").write_text(
        "[common]\nhwm = 10\nlog_level = 'warning'\n[core]\nhwm = 20\nheartbeat_interval = 3.0\n"
    )
    env = {"CUECAST_HEARTBEAT_INTERVAL": "4", "CUECAST_CORE_JOURNAL_MAX_MESSAGES": "7"}
    config = load(
        CommonConfig,
        "core",
        ["--run-dir", str(tmp_path), "--journal-max-messages", "9"],
        description="",
        environ=env,
    )
    assert config.hwm == 20
    assert config.log_level == "warning"
    assert config.heartbeat_interval == 4.0
    assert config.journal_max_messages == 9
    assert config.name == "core"


def test_unknown_setting_in_toml_is_an_error_naming_the_file(tmp_path, capsys):
    (tmp_path / "cuecast.toml").write_text("[core]\nhwmm = 10\n")
    with pytest.raises(SystemExit):
        load(CommonConfig, "core", ["--run-dir", str(tmp_path)], description="", environ={})
    assert "hwmm" in capsys.readouterr().err


def test_bad_flag_value_exits_with_a_message(tmp_path, capsys):
    with pytest.raises(SystemExit):
        load(
            CommonConfig,
            "core",
            ["--run-dir", str(tmp_path), "--hwm", "lots"],
            description="",
            environ={},
        )
    assert "hwm" in capsys.readouterr().err


def test_lists_accept_commas_and_repeats(tmp_path):
    config = load(
        CommonConfig,
        "core",
        ["--run-dir", str(tmp_path), "--peers", "tcp://a:1,tcp://b:2", "--peers", "tcp://c:3"],
        description="",
        environ={},
    )
    assert config.peers == ["tcp://a:1", "tcp://b:2", "tcp://c:3"]


def test_update_changes_only_live_fields():
    config = CommonConfig(name="n")
    new, changed = update(config, {"log_level": "debug"})
    assert new.log_level == "debug" and changed == ["log_level"]
    with pytest.raises(ConfigError, match="restart"):
        update(config, {"hwm": 5})
    with pytest.raises(ConfigError, match="unknown"):
        update(config, {"nope": 5})


class WithSecret(CommonConfig, frozen=True, kw_only=True):
    token: Annotated[str, describe("a token", secret=True)] = ""


def test_secrets_are_redacted_wherever_the_config_is_shown():
    config = WithSecret(name="n", token="hunter2")
    assert config.to_dict()["token"] == "hunter2"
    assert config.public_dict()["token"] == "<redacted>"
    assert WithSecret(name="n").public_dict()["token"] == ""
