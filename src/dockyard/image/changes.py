"""``--change`` instructions of ``docker import``/``commit``: a Dockerfile subset applied to a config."""

from __future__ import annotations

import dataclasses
import json
import shlex

from dockyard.errors import InvalidArgument
from dockyard.oci.image import ContainerConfig

ALLOWED = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR")


def _json_or_shell(args: str) -> tuple[str, ...]:
    """Exec form (a JSON array) or shell form (wrapped in ``/bin/sh -c``)."""
    text = args.strip()
    if text.startswith("["):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
    return ("/bin/sh", "-c", text)


def _key_values(args: str, instruction: str) -> list[tuple[str, str]]:
    words = shlex.split(args)
    if not words:
        raise InvalidArgument(f"{instruction} requires at least one argument")
    if "=" not in words[0]:
        # Legacy form: ``ENV key value with spaces``.
        key, _, value = args.strip().partition(" ")
        return [(key, value.strip())]
    pairs = []
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise InvalidArgument(f"{instruction} names can not be blank" if not key else
                                  f"Syntax error - can't find = in \"{word}\". Must be of the form: name=value")
        pairs.append((key, value))
    return pairs


def _list_arg(args: str) -> tuple[str, ...]:
    text = args.strip()
    if text.startswith("["):
        try:
            value = json.loads(text)
            if isinstance(value, list):
                return tuple(str(v) for v in value)
        except ValueError:
            pass
    return tuple(text.split())


def apply_changes(config: ContainerConfig, changes: list[str]) -> ContainerConfig:
    for change in changes:
        line = change.strip()
        if not line:
            continue
        instruction, _, args = line.partition(" ")
        instruction = instruction.upper()
        if instruction not in ALLOWED:
            raise InvalidArgument(f"{instruction} is not a valid change command")
        if instruction == "CMD":
            config = dataclasses.replace(config, cmd=_json_or_shell(args))
        elif instruction == "ENTRYPOINT":
            config = dataclasses.replace(config, entrypoint=_json_or_shell(args))
        elif instruction == "ENV":
            env = list(config.env)
            for key, value in _key_values(args, "ENV"):
                env = [e for e in env if e.partition("=")[0] != key] + [f"{key}={value}"]
            config = dataclasses.replace(config, env=tuple(env))
        elif instruction == "LABEL":
            labels = dict(config.labels)
            labels.update(_key_values(args, "LABEL"))
            config = dataclasses.replace(config, labels=labels)
        elif instruction == "EXPOSE":
            ports = list(config.exposed_ports)
            for port in args.split():
                spec = port if "/" in port else f"{port}/tcp"
                if spec not in ports:
                    ports.append(spec)
            config = dataclasses.replace(config, exposed_ports=tuple(ports))
        elif instruction == "VOLUME":
            vols = list(config.volumes)
            for vol in _list_arg(args):
                if vol not in vols:
                    vols.append(vol)
            config = dataclasses.replace(config, volumes=tuple(vols))
        elif instruction == "USER":
            config = dataclasses.replace(config, user=args.strip())
        elif instruction == "WORKDIR":
            config = dataclasses.replace(config, working_dir=args.strip())
        elif instruction == "STOPSIGNAL":
            config = dataclasses.replace(config, stop_signal=args.strip())
        elif instruction == "ONBUILD":
            config = dataclasses.replace(config, on_build=(*(config.on_build or ()), args.strip()))
    return config
