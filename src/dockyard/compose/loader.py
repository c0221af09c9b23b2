"""From the command line's options to a Project: find the files, read ``.env``, parse, check,
interpolate, merge, name the project, apply profiles, normalise every service."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dockyard.compose.envfile import read_env_file
from dockyard.compose.errors import InvalidProject, NoConfigFile, Unsupported
from dockyard.compose.fields import as_mapping, as_str, check_keys
from dockyard.compose.graph import check_cycles, with_dependencies
from dockyard.compose.interpolation import interpolate, mapping_lookup
from dockyard.compose.merge import merge_files
from dockyard.compose.model import DEFAULT_NETWORK, Network, Project, Service, ServiceNetwork, Volume
from dockyard.compose.names import check_project_name, normalize_project_name
from dockyard.compose.resources import NETWORK_KEYS, VOLUME_KEYS, default_network, parse_network, parse_volume
from dockyard.compose.service import KNOWN_KEYS, ServiceContext, parse_service
from dockyard.compose.yamlio import load_yaml

DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
OVERRIDE_FILES = ("compose.override.yml", "compose.override.yaml", "docker-compose.override.yml",
                  "docker-compose.override.yaml")
TOP_LEVEL_KEYS = frozenset({"version", "name", "include", "services", "models", "networks", "volumes", "secrets",
                            "configs"})

Warn = Callable[[str], None]


def _ignore(_: str) -> None:
    pass


@dataclass(frozen=True)
class LoadOptions:
    """The command line's say in loading: ``-f``, ``-p``, ``--project-directory``, ``--profile``,
    ``--env-file``, plus the services named (they are enabled whatever their profiles)."""

    files: tuple[str, ...] = ()
    project_name: str = ""
    project_directory: str = ""
    profiles: tuple[str, ...] = ()
    env_files: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    working_dir: str = ""
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


def find_config_files(start: str, warn: Warn = _ignore) -> list[str]:
    """The compose file of ``start`` or of its nearest parent that has one, plus its override file."""
    directory = Path(start).resolve()
    while True:
        found = [directory / name for name in DEFAULT_FILES if (directory / name).is_file()]
        if found:
            if len(found) > 1:
                warn(f"Found multiple config files with supported names: {', '.join(str(f) for f in found)}")
                warn(f"Using {found[0]}")
            overrides = [directory / name for name in OVERRIDE_FILES if (directory / name).is_file()]
            if len(overrides) > 1:
                warn(f"Found multiple override files with supported names: {', '.join(str(f) for f in overrides)}")
                warn(f"Using {overrides[0]}")
            return [str(found[0]), *([str(overrides[0])] if overrides else [])]
        if directory.parent == directory:
            raise NoConfigFile("no configuration file provided: not found")
        directory = directory.parent


def _read_dotenv(paths: list[str], environ: Mapping[str, str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for path in paths:
        values.update(read_env_file(path, mapping_lookup(environ, values)))
    return values


def _dotenv_files(opts: LoadOptions, cwd: str, project_dir: str) -> list[str]:
    if opts.env_files:
        files = [os.path.join(cwd, f) for f in opts.env_files]
        for file in files:
            if not os.path.exists(file):
                raise InvalidProject(f"couldn't find env file: {os.path.abspath(file)}")
        return [os.path.abspath(f) for f in files]
    default = os.path.join(project_dir, ".env")
    return [default] if os.path.isfile(default) else []


def _split_paths(value: str, environment: Mapping[str, str]) -> list[str]:
    separator = environment.get("COMPOSE_PATH_SEPARATOR") or os.pathsep
    return [p for p in value.split(separator) if p]


def _read_file(path: str) -> Mapping[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NoConfigFile(f"open {path}: no such file or directory") from None
    except IsADirectoryError:
        raise InvalidProject(f"read {path}: is a directory") from None
    except OSError as exc:
        raise InvalidProject(f"open {path}: {exc.strerror}") from None
    doc = load_yaml(text, path)
    if doc is None:
        raise InvalidProject(f"{path}: empty compose file")
    if not isinstance(doc, Mapping):
        raise InvalidProject(f"{path}: Top-level object must be a mapping")
    return doc


def _check_file(doc: Mapping[str, Any], source: str, warn: Warn) -> None:
    """The schema's structural rules, file by file (so errors can name the file)."""
    check_keys(doc, TOP_LEVEL_KEYS, "", source)
    if "version" in doc:
        warn(f"{source}: the attribute `version` is obsolete, it will be ignored, please remove it to avoid "
             "potential confusion")
    for key in ("include", "models", "secrets", "configs"):
        if doc.get(key):
            raise Unsupported(f"{source}: top-level `{key}` is not supported by dockyard compose yet")
    services = doc.get("services")
    if services is not None and not isinstance(services, Mapping):
        raise InvalidProject(f"validating {source}: services must be a mapping")
    for name, service in (services or {}).items():
        if not isinstance(service, Mapping) and service is not None:
            raise InvalidProject(f"validating {source}: services.{name} must be a mapping")
        check_keys(service or {}, KNOWN_KEYS, f"services.{name}", source)
    for section, allowed in (("networks", NETWORK_KEYS), ("volumes", VOLUME_KEYS)):
        entries = doc.get(section)
        if entries is not None and not isinstance(entries, Mapping):
            raise InvalidProject(f"validating {source}: {section} must be a mapping")
        for key, entry in (entries or {}).items():
            if entry is not None and not isinstance(entry, Mapping):
                raise InvalidProject(f"validating {source}: {section}.{key} must be a mapping")
            check_keys(entry or {}, allowed, f"{section}.{key}", source)


def load_raw(opts: LoadOptions, warn: Warn = _ignore) -> tuple[dict[str, Any], list[str], str, dict[str, str]]:
    """(the merged, interpolated document, its files, the project directory, the environment)."""
    cwd = os.path.abspath(opts.working_dir or os.getcwd())
    environ = dict(opts.environ)
    base_dir = os.path.abspath(os.path.join(cwd, opts.project_directory)) if opts.project_directory else cwd
    environment = {**_read_dotenv(_dotenv_files(opts, cwd, base_dir), environ), **environ}

    if opts.files:
        files = [os.path.abspath(os.path.join(cwd, f)) for f in opts.files]
    elif environment.get("COMPOSE_FILE"):
        files = [os.path.abspath(os.path.join(base_dir, f))
                 for f in _split_paths(environment["COMPOSE_FILE"], environment)]
    else:
        files = find_config_files(base_dir, warn)
    for file in files:
        if file.endswith("/-") or file == "-":
            raise Unsupported("reading a compose file from stdin (-f -) is not supported by dockyard compose yet")

    project_dir = base_dir if opts.project_directory else os.path.dirname(files[0])
    if project_dir != base_dir and not opts.env_files:
        environment = {**_read_dotenv(_dotenv_files(opts, cwd, project_dir), environ), **environ}

    lookup = mapping_lookup(environment)
    warned: set[str] = set()

    def warn_once(message: str) -> None:
        if message not in warned:
            warned.add(message)
            warn(message)

    merged: dict[str, Any] = {}
    for file in files:
        doc = _read_file(file)
        _check_file(doc, file, warn)
        interpolated = interpolate(dict(doc), lookup, "", warn_once)
        merged = merge_files(merged, interpolated) if merged else dict(interpolated)
    return merged, files, project_dir, environment


def _project_name(opts: LoadOptions, doc: Mapping[str, Any], project_dir: str, environment: Mapping[str, str]) -> str:
    if opts.project_name:
        return check_project_name(opts.project_name)
    if environment.get("COMPOSE_PROJECT_NAME"):
        return check_project_name(environment["COMPOSE_PROJECT_NAME"])
    if doc.get("name"):
        return check_project_name(as_str(doc["name"], "name"))
    name = normalize_project_name(os.path.basename(project_dir.rstrip("/")) or "default")
    return check_project_name(name)


def _profiles(opts: LoadOptions, environment: Mapping[str, str]) -> set[str]:
    if opts.profiles:
        return {p for p in opts.profiles if p}
    return {p.strip() for p in environment.get("COMPOSE_PROFILES", "").split(",") if p.strip()}


def _enabled(services: list[Service], profiles: set[str], explicit: tuple[str, ...]) -> set[str]:
    by_name = {s.name: s for s in services}
    for name in explicit:
        if name not in by_name:
            raise InvalidProject(f"no such service: {name}")
    on = {s.name for s in services if not s.profiles or "*" in profiles or profiles & set(s.profiles)}
    on |= with_dependencies(services, explicit)
    for service in services:
        if service.name not in on:
            continue
        for dep in service.depends_on:
            if dep.service not in on and dep.required:
                raise InvalidProject(
                    f'service "{dep.service}" was pulled in as a dependency of service "{service.name}" but is not '
                    f'enabled by the active profiles. You may fix this by adding a common profile to "{dep.service}" '
                    f'and "{service.name}".')
    return on


def _check_references(service: Service, networks: Mapping[str, Network], volumes: Mapping[str, Volume],
                      names: set[str]) -> None:
    for net in service.networks:
        if net.name not in networks and net.name != DEFAULT_NETWORK:
            raise InvalidProject(f'service "{service.name}" refers to undefined network {net.name}: '
                                 "invalid compose project")
    for mount in service.volumes:
        if mount.type == "volume" and mount.source and mount.source not in volumes:
            raise InvalidProject(f'service "{service.name}" refers to undefined volume {mount.source}: '
                                 "invalid compose project")
    for dep in service.depends_on:
        if dep.service not in names and dep.required:
            raise InvalidProject(f'service "{service.name}" depends on undefined service "{dep.service}": '
                                 "invalid compose project")
    for name in service.dependency_names():
        if name not in names and not any(d.service == name for d in service.depends_on):
            raise InvalidProject(f'service "{service.name}" depends on undefined service "{name}": '
                                 "invalid compose project")


def build_project(doc: Mapping[str, Any], files: list[str], project_dir: str, environment: Mapping[str, str],
                  opts: LoadOptions) -> Project:
    name = _project_name(opts, doc, project_dir, environment)
    ctx = ServiceContext(project_dir=project_dir, lookup=mapping_lookup(environment))
    raw_services = as_mapping(doc.get("services"), "services")
    services = [parse_service(key, raw or {}, ctx) for key, raw in raw_services.items()]
    networks = {key: parse_network(key, raw or {}, name)
                for key, raw in as_mapping(doc.get("networks"), "networks").items()}
    volumes = {key: parse_volume(key, raw or {}, name)
               for key, raw in as_mapping(doc.get("volumes"), "volumes").items()}

    # Optional dependencies on services that do not exist are dropped, as Compose does.
    names = {s.name for s in services}
    services = [s if all(d.service in names or d.required for d in s.depends_on) else
                _without_missing_optional(s, names) for s in services]
    for service in services:
        _check_references(service, networks, volumes, names)
    check_cycles(services)

    enabled = _enabled(services, _profiles(opts, environment), opts.services)
    active = [s for s in services if s.name in enabled]
    disabled = [s for s in services if s.name not in enabled]
    needs_default = any(not s.network_mode and (not s.networks or any(n.name == DEFAULT_NETWORK for n in s.networks))
                        for s in active)
    active = [_with_default_network(s) for s in active]
    disabled = [_with_default_network(s) for s in disabled]
    if needs_default and DEFAULT_NETWORK not in networks:
        networks = {DEFAULT_NETWORK: default_network(name), **networks}

    env_file = os.path.join(project_dir, ".env")
    environment_file = ""
    if opts.env_files:
        environment_file = ",".join(os.path.abspath(os.path.join(opts.working_dir or os.getcwd(), f))
                                    for f in opts.env_files)
    elif os.path.isfile(env_file):
        environment_file = env_file
    return Project(
        name=name,
        working_dir=project_dir,
        config_files=tuple(files),
        services=tuple(active),
        disabled=tuple(disabled),
        networks=networks,
        volumes=volumes,
        environment_file=environment_file,
    )


def _without_missing_optional(service: Service, names: set[str]) -> Service:
    return replace(service, depends_on=tuple(d for d in service.depends_on if d.service in names or d.required))


def _with_default_network(service: Service) -> Service:
    """A service that names no network (and no network_mode) is on the project's default one."""
    if service.network_mode or service.networks:
        return service
    return replace(service, networks=(ServiceNetwork(DEFAULT_NETWORK),))


def load_project(opts: LoadOptions, warn: Warn = _ignore) -> Project:
    doc, files, project_dir, environment = load_raw(opts, warn)
    return build_project(doc, files, project_dir, environment, opts)


def project_name_only(opts: LoadOptions, warn: Warn = _ignore) -> str:
    """The project's name when the files may be missing (``down -p NAME`` without a compose file)."""
    if opts.project_name:
        return check_project_name(opts.project_name)
    environ = dict(opts.environ)
    if environ.get("COMPOSE_PROJECT_NAME"):
        return check_project_name(environ["COMPOSE_PROJECT_NAME"])
    doc, _, project_dir, environment = load_raw(opts, warn)
    return _project_name(opts, doc, project_dir, environment)


__all__ = ["DEFAULT_FILES", "OVERRIDE_FILES", "TOP_LEVEL_KEYS", "LoadOptions", "build_project", "find_config_files",
           "load_project", "load_raw", "project_name_only"]
