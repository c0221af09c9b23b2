"""Settings a container gets at create time from Docker's request and its image: the merged
config, the command, the adapted HostConfig with dockerd's warnings, the log file and limits,
signal names."""

from __future__ import annotations

import re
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.engine.containers import resources
from dockyard.engine.spec.builder import resolve_command
from dockyard.engine.spec.model import CreateOptions
from dockyard.errors import InvalidArgument
from dockyard.units import parse_go_bool, parse_go_int, parse_human_size


def merge_image_defaults(config: dict[str, Any], image: Any) -> dict[str, Any]:
    """What ``inspect`` shows as Config: the request completed from the image (dockerd's merge)."""
    out = dict(config)
    image_env = list(image.env)
    user_env = list(out.get("Env") or [])
    keys = {e.split("=", 1)[0] for e in user_env}
    out["Env"] = user_env + [e for e in image_env if e.split("=", 1)[0] not in keys] or None
    if not out.get("User") and image.user:
        out["User"] = image.user
    if not out.get("WorkingDir") and image.working_dir:
        out["WorkingDir"] = image.working_dir
    labels = dict(image.labels)
    labels.update(out.get("Labels") or {})
    out["Labels"] = labels
    if image.exposed_ports:
        ports: dict[str, Any] = dict.fromkeys(image.exposed_ports, {})
        ports.update(out.get("ExposedPorts") or {})
        out["ExposedPorts"] = {k: {} for k in ports}
    if image.volumes:
        volumes: dict[str, Any] = dict.fromkeys(image.volumes, {})
        volumes.update(out.get("Volumes") or {})
        out["Volumes"] = {k: {} for k in volumes}
    if out.get("Entrypoint") is None and not out.get("Cmd") and image.entrypoint is not None:
        out["Entrypoint"] = list(image.entrypoint)
    if not out.get("Cmd") and out.get("Entrypoint") in (None, list(image.entrypoint or [])) and image.cmd is not None:
        out["Cmd"] = list(image.cmd)
    if not out.get("StopSignal") and image.stop_signal:
        out["StopSignal"] = image.stop_signal
    if out.get("Healthcheck") is None and image.healthcheck is not None:
        out["Healthcheck"] = image.healthcheck.to_json_obj()
    return out


def command_of(options: CreateOptions, image: Any) -> list[str]:
    try:
        return resolve_command(options, image)
    except InvalidArgument:
        return []


def signal_number(sig: str) -> int:
    """moby's ParseSignal: a name (with or without SIG) or any non-zero number; whether the
    platform has that signal is the caller's to say."""
    text = str(sig).strip().upper()
    try:
        number = parse_go_int(text)
    except ValueError:
        pass
    else:
        if number == 0:
            raise InvalidArgument(f"Invalid signal: {sig}")
        return number
    if not text.startswith("SIG"):
        text = "SIG" + text
    for base, sign, anchor in (("SIGRTMIN+", 1, 34), ("SIGRTMAX-", -1, 64)):  # dockerd's real-time names
        offset = text[len(base):]
        if text.startswith(base) and offset.isdigit() and 1 <= int(offset) <= 15:
            return anchor + sign * int(offset)
    try:
        return int(signal.Signals[text])
    except KeyError:
        raise InvalidArgument(f"Invalid signal: {sig}") from None


@dataclass(frozen=True)
class LogLimits:
    max_size: int | None
    max_file: int | None
    compress: bool | None


def log_path_for(container_dir: Path, cid: str, driver: str) -> str:
    """Where Docker keeps a container's log: ``<id>-json.log``, or ``local-logs/container.log``."""
    if driver == "local":
        return str(container_dir / "local-logs" / "container.log")
    return str(container_dir / f"{cid}-json.log")


LOG_INIT_FAILED = "failed to initialize logging driver: "


def log_limits(driver: str, config: Mapping[str, str]) -> LogLimits:
    """The log options the shim's writer takes (what is unset keeps the driver's default), read
    at start as dockerd's drivers read them when they open the log: their errors, in their words."""
    try:
        if driver == "local":
            return _local_limits(config)
        if driver == "json-file":
            return _json_file_limits(config)
    except ValueError as exc:
        raise InvalidArgument(LOG_INIT_FAILED + str(exc)) from None
    return LogLimits(None, None, None)


def _json_file_limits(config: Mapping[str, str]) -> LogLimits:
    max_size = None
    if "max-size" in config:
        max_size = parse_human_size(config["max-size"])
        if max_size <= 0:
            raise ValueError("max-size must be a positive number")
    max_file = None
    if "max-file" in config:
        max_file = parse_go_int(config["max-file"])
        if max_file < 1:
            raise ValueError("max-file cannot be less than 1")
    compress = None
    if "compress" in config:
        compress = parse_go_bool(config["compress"])
        if compress and (max_file in (None, 1) or max_size is None):
            raise ValueError("compress cannot be true when max-file is less than 2 or max-size is not set")
    return LogLimits(max_size, max_file, compress)


def _local_limits(config: Mapping[str, str]) -> LogLimits:
    max_size = max_file = None
    for key in ("max-size", "max-file"):
        if key in config:
            value = config[key]
            try:
                parsed = parse_human_size(value) if key == "max-size" else parse_go_int(value)
            except ValueError as exc:
                raise ValueError(f"invalid value for {key}: {value}: {exc}") from None
            max_size, max_file = (parsed, max_file) if key == "max-size" else (max_size, parsed)
    compress = None
    if "compress" in config:
        try:
            compress = parse_go_bool(config["compress"])
        except ValueError as exc:
            raise ValueError(f"error reading compress log option: {exc}") from None
    if max_file is not None and max_file < 0:
        raise ValueError("max-file cannot be less than 0")
    if compress is not False and max_file is not None and max_file <= 1:  # it compresses by default
        raise ValueError("compression cannot be enabled when max file count is 1")
    return LogLimits(max_size, max_file, compress)


def log_attributes(driver: str, config: Mapping[str, str], labels: Mapping[str, str],
                   env: list[str]) -> dict[str, str]:
    """What json-file records in every entry's ``attrs`` (dockerd's ExtraAttributes): the labels
    and environment variables its ``labels``, ``labels-regex``, ``env`` and ``env-regex`` options
    name; ``logs --details`` shows them."""
    if driver != "json-file":
        return {}
    env_map = dict(e.split("=", 1) for e in env if "=" in e)
    extra: dict[str, str] = {}
    # dockerd's order, which decides between a label and a variable of the same name
    for names, regex, values in (("labels", "labels-regex", labels), ("env", "env-regex", env_map)):
        for key in filter(None, (config.get(names) or "").split(",")):
            if key in values:
                extra[key] = values[key]
        if config.get(regex):
            try:
                pattern = re.compile(config[regex])
            except re.error as exc:
                raise InvalidArgument(f"{LOG_INIT_FAILED}error parsing regexp: {exc}") from None
            extra.update({k: v for k, v in values.items() if pattern.search(k)})
    return extra


def adapt_host_config(host_config: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """dockerd's create-time defaults that inspect shows and update checks against, and the
    warnings it gives for settings it keeps, discards or deprecates."""
    out = dict(host_config)
    warnings: list[str] = []
    memory = out.get("Memory")
    if isinstance(memory, int) and memory > 0 and not out.get("MemorySwap"):
        out["MemorySwap"] = 2 * memory  # as much swap as memory
    if out.get("OomKillDisable") and not memory:
        warnings.append("OOM killer is disabled for the container, but no memory limit is set, this can result "
                        "in the system running out of resources.")
    if out.get("KernelMemory"):
        warnings.append("Specifying a kernel memory limit is deprecated and will be removed in a future release.")
    if out.get("BlkioWeight") and not resources.blkio_weight_supported():
        warnings.append(resources.NO_BLKIO_WEIGHT)
        out["BlkioWeight"] = 0
    if out.get("BlkioWeightDevice") and not resources.blkio_weight_supported():
        warnings.append("Your kernel does not support Block I/O weight_device or the cgroup is not mounted. "
                        "Weight-device discarded.")
        out["BlkioWeightDevice"] = []
    if out.get("NetworkMode") == "host" and out.get("PortBindings"):
        warnings.append("Published ports are discarded when using host network mode")
    return out, warnings
