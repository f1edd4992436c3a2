"""The run's configuration as JSON, so that every worker crawls with the coordinator's settings.

The document has the shape of ``config.toml`` (sections, ``[[remap]]``, ``[hosts."name"]``)
and is read back through :func:`linkcheck.config.config_from_mapping`, so a worker validates
it exactly as a single run validates its file. It holds host credentials when the config has
them: Redis must be as trusted as the config file (see docs/distributed.md).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from linkcheck.config import Config, ConfigError, HostProfile, config_from_mapping

_SECTIONS = ("crawl", "http", "report", "local", "checks", "cache")
_PROFILE_KEYS = ("key", "host", "scheme", "port")  # spelled by the table's name


def config_to_json(config: Config) -> str:
    return json.dumps(config_to_data(config), sort_keys=True, ensure_ascii=False)


def config_to_data(config: Config) -> dict[str, Any]:
    """A mapping that :func:`config_from_mapping` turns back into an equal Config."""
    data: dict[str, Any] = {"start_urls": list(config.start_urls)}
    for name in _SECTIONS:
        section = getattr(config, name)
        data[name] = {
            field.name: _plain(getattr(section, field.name))
            for field in dataclasses.fields(section)
        }
    data["remap"] = [
        {"pattern": rule.pattern.pattern, "replace": rule.replace} for rule in config.remap
    ]
    data["hosts"] = {profile.key: _profile(profile) for profile in config.hosts}
    return data


def config_from_json(text: str, *, source: str) -> Config:
    """The stored configuration, validated again; a one-line ConfigError when it is not one."""
    try:
        data = json.loads(text)
    except (TypeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{source}: the stored configuration is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the stored configuration is not a table")
    return config_from_mapping(data, source=source)


def _profile(profile: HostProfile) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in dataclasses.fields(profile):
        value = getattr(profile, field.name)
        if field.name in _PROFILE_KEYS or value is None:
            continue
        if field.name == "headers":
            if value:
                values["headers"] = dict(value)
            continue
        values[field.name] = _plain(value)
    return values


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
