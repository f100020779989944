"""Process configuration: defaults < TOML file < environment < command-line flags.

Each process declares one frozen msgspec Struct that extends :class:`CommonConfig`; every field
has a description (its ``--help`` text) and fields that may change while running carry
``extra={"live": True}``. :func:`load` builds the effective config:

1. the field defaults;
2. the TOML file given by ``--config`` (or ``<run dir>/cuecast.toml`` if present): its
   ``[common]`` table, then the table named after the process kind (``[core]``), then
   ``[nodes.<name>]``;
3. environment variables ``CUECAST_<FIELD>`` then ``CUECAST_<KIND>_<FIELD>``;
4. command-line flags ``--field-name``.

Values are validated and converted by msgspec (strings from the environment become numbers,
booleans or comma-separated lists); a bad value is a :class:`~protocol.errors.ConfigError` naming
the field and where it came from.
"""

from __future__ import annotations

import argparse
import os
import sys
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar

import msgspec
import msgspec.inspect as mi

from nodes.runtime.rundir import default_run_dir
from protocol.errors import ConfigError

C = TypeVar("C", bound="CommonConfig")


REDACTED = "<redacted>"


def describe(text: str, *, live: bool = False, secret: bool = False) -> msgspec.Meta:
    """Field metadata: the ``--help`` text, whether ``config.set`` may change it live, and
    whether it is a secret (shown as ``<redacted>`` wherever the config is shown or published)."""
    return msgspec.Meta(description=text, extra={"live": live, "secret": secret})


class CommonConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Settings every process has."""

    name: Annotated[str, describe("node name, unique in the run dir; topics use it")] = ""
    run_dir: Annotated[
        str, describe("run directory shared by one system's processes (default: $CUECAST_RUN_DIR)")
    ] = ""
    pub: Annotated[str, describe("PUB endpoint to bind (default: ipc in the run dir)")] = ""
    control: Annotated[str, describe("control endpoint to bind (default: ipc in the run dir)")] = ""
    peers: Annotated[
        list[str], describe("extra publisher endpoints to subscribe to (tcp://host:port, ...)")
    ] = msgspec.field(default_factory=list)
    log_level: Annotated[str, describe("debug, info, warning or error", live=True)] = "info"
    heartbeat_interval: Annotated[float, describe("seconds between heartbeats")] = 1.0
    hwm: Annotated[int, describe("ZeroMQ high-water mark (messages) of bus sockets")] = 1000
    journal_max_messages: Annotated[int, describe("journal bound: messages per topic")] = 100_000
    journal_max_age_s: Annotated[float, describe("journal bound: age in seconds")] = 7 * 86400.0
    journal_max_bytes: Annotated[int, describe("journal bound: bytes in all")] = 256 * 2**20

    def resolved_run_dir(self) -> Path:
        """The run directory this process uses."""
        return Path(self.run_dir).expanduser() if self.run_dir else default_run_dir()

    def to_dict(self) -> dict[str, Any]:
        """Plain values of every field, secrets included (to rebuild a config)."""
        data: dict[str, Any] = msgspec.to_builtins(self)
        return data

    def public_dict(self) -> dict[str, Any]:
        """Plain values with secrets redacted (for ``describe``, ``config.get`` and the bus)."""
        data = self.to_dict()
        for name in secret_fields(type(self)):
            if data.get(name):
                data[name] = REDACTED
        return data


def fields(cls: type[CommonConfig]) -> list[mi.Field]:
    """msgspec field descriptions of a config class."""
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    return list(info.fields)


def _meta(field: mi.Field) -> tuple[mi.Type, str, bool, bool]:
    """The field's bare type, its description, whether it is live and whether it is secret."""
    kind = field.type
    if isinstance(kind, mi.Metadata):
        schema = kind.extra_json_schema or {}
        extra = kind.extra or {}
        description = str(schema.get("description", ""))
        return kind.type, description, bool(extra.get("live")), bool(extra.get("secret"))
    return kind, "", False, False


def secret_fields(cls: type[CommonConfig]) -> frozenset[str]:
    """Names of the fields that hold secrets."""
    return frozenset(f.name for f in fields(cls) if _meta(f)[3])


def live_fields(cls: type[CommonConfig]) -> frozenset[str]:
    """Names of the fields ``config.set`` may change while the process runs."""
    return frozenset(f.name for f in fields(cls) if _meta(f)[2])


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _add_flag(parser: argparse.ArgumentParser, field: mi.Field) -> None:
    kind, help_text, live, secret = _meta(field)
    default = field.default if field.default is not msgspec.NODEFAULT else None
    if field.default_factory is not msgspec.NODEFAULT:
        default = field.default_factory()
    if secret and default:
        default = REDACTED
    shown = f"{help_text} (default: {default!r}{', live' if live else ''})"
    if isinstance(kind, mi.BoolType):
        parser.add_argument(
            _flag(field.name),
            action=argparse.BooleanOptionalAction,
            default=argparse.SUPPRESS,
            help=shown,
        )
    elif isinstance(kind, mi.ListType):
        parser.add_argument(
            _flag(field.name),
            action="append",
            default=argparse.SUPPRESS,
            metavar="VALUE",
            help=shown + "; repeat or separate with commas",
        )
    else:
        metavar = type(kind).__name__.removesuffix("Type").upper()
        parser.add_argument(
            _flag(field.name), default=argparse.SUPPRESS, metavar=metavar, help=shown
        )


def build_parser(
    cls: type[CommonConfig], prog: str, description: str, epilog: str = ""
) -> argparse.ArgumentParser:
    """An argparse parser with one flag per config field, plus ``--config``."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config", metavar="FILE", help="TOML file (default: <run dir>/cuecast.toml if present)"
    )
    parser.add_argument(
        "--print-config", action="store_true", help="print the effective config as JSON and exit"
    )
    for field in fields(cls):
        _add_flag(parser, field)
    return parser


def _split_lists(cls: type[CommonConfig], values: Mapping[str, Any]) -> dict[str, Any]:
    lists = {f.name for f in fields(cls) if isinstance(_meta(f)[0], mi.ListType)}
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key in lists and isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        elif key in lists and isinstance(value, list):
            value = [p.strip() for v in value for p in str(v).split(",") if p.strip()]
        out[key] = value
    return out


def _toml_layers(path: Path, kind: str, name: str) -> list[tuple[str, dict[str, Any]]]:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    layers = [
        (f"{path} [common]", data.get("common", {})),
        (f"{path} [{kind}]", data.get(kind, {})),
    ]
    layers.append((f"{path} [nodes.{name}]", data.get("nodes", {}).get(name, {})))
    return [(where, dict(layer)) for where, layer in layers if isinstance(layer, dict)]


def _env_layers(
    cls: type[CommonConfig], kind: str, environ: Mapping[str, str]
) -> list[tuple[str, dict[str, Any]]]:
    names = [f.name for f in fields(cls)]
    common = {
        n: environ[f"CUECAST_{n.upper()}"] for n in names if f"CUECAST_{n.upper()}" in environ
    }
    prefix = f"CUECAST_{kind.upper()}_"
    own = {n: environ[prefix + n.upper()] for n in names if prefix + n.upper() in environ}
    return [("environment CUECAST_*", common), (f"environment {prefix}*", own)]


def merge(
    cls: type[C], layers: Sequence[tuple[str, Mapping[str, Any]]], base: Mapping[str, Any]
) -> C:
    """Validate each layer's keys and merge them over ``base`` into a ``cls``."""
    known = {f.name for f in fields(cls)}
    merged = dict(base)
    for where, layer in layers:
        unknown = sorted(set(layer) - known)
        if unknown:
            raise ConfigError(f"unknown setting(s) {', '.join(unknown)} in {where}")
        merged.update(_split_lists(cls, layer))
        try:
            msgspec.convert(merged, cls, strict=False)
        except msgspec.ValidationError as exc:
            raise ConfigError(f"bad value in {where}: {exc}") from exc
    return msgspec.convert(merged, cls, strict=False)


def load(
    cls: type[C],
    kind: str,
    argv: Sequence[str] | None,
    *,
    description: str,
    epilog: str = "",
    environ: Mapping[str, str] | None = None,
) -> C:
    """Parse ``argv`` and build the effective config; exit with a clear message on error."""
    environ = os.environ if environ is None else environ
    parser = build_parser(cls, f"cuecast {kind}", description, epilog)
    args = vars(parser.parse_args(argv))
    config_file, print_config = args.pop("config"), args.pop("print_config")
    base = msgspec.to_builtins(cls())
    base["name"] = base["name"] or kind
    env = _env_layers(cls, kind, environ)
    run_dir = args.get("run_dir") or env[1][1].get("run_dir") or env[0][1].get("run_dir")
    if run_dir:
        base["run_dir"] = run_dir
    base["run_dir"] = str(Path(base["run_dir"] or default_run_dir()).expanduser().absolute())
    toml_path = Path(config_file) if config_file else Path(base["run_dir"]) / "cuecast.toml"
    name = args.get("name") or base["name"]
    layers = _toml_layers(toml_path, kind, name) if config_file or toml_path.exists() else []
    try:
        config = merge(cls, [*layers, *env, ("command line", args)], base)
    except ConfigError as exc:
        parser.error(str(exc))
    if print_config:
        shown = msgspec.json.encode(config.public_dict())
        sys.stdout.write(msgspec.json.format(shown).decode() + "\n")
        raise SystemExit(0)
    return config


def update(config: C, changes: Mapping[str, Any]) -> tuple[C, list[str]]:
    """Apply a ``config.set`` request: only live fields, validated; returns the changed names."""
    live = live_fields(type(config))
    known = {f.name for f in fields(type(config))}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
    frozen = sorted(set(changes) - live)
    if frozen:
        raise ConfigError(
            f"{', '.join(frozen)} cannot change while running (restart with the new value);"
            f" live settings: {', '.join(sorted(live)) or 'none'}"
        )
    new = merge(type(config), [("config.set", changes)], config.to_dict())
    changed = [k for k in changes if getattr(new, k) != getattr(config, k)]
    return new, changed
