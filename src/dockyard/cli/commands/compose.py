"""``dockyard compose``: Docker Compose v2's commands over dockyard.compose and the client."""

from __future__ import annotations

import functools
import json
import os
import time
from argparse import Namespace
from collections.abc import Callable, Sequence
from typing import Any

from dockyard.cli.app import Cli, CliError, StatusError
from dockyard.cli.containerrows import displayable_ports, go_quote
from dockyard.cli.formatter import Row, ellipsis, render, resolve_format
from dockyard.cli.imagerows import go_time_string
from dockyard.compose import COMPOSE_VERSION
from dockyard.compose import progress as P
from dockyard.compose.attached import AttachedUp, AttachOptions
from dockyard.compose.converge import RECREATE_DIVERGED, RECREATE_FORCE, RECREATE_NEVER, Converger, UpOptions
from dockyard.compose.engine import ContainerSummary, Engine
from dockyard.compose.errors import ComposeError, NoConfigFile
from dockyard.compose.lifecycle import DownOptions, Lifecycle
from dockyard.compose.loader import LoadOptions, load_project, project_name_only
from dockyard.compose.logs import LogPrinter, LogSession, split_output
from dockyard.compose.model import Project
from dockyard.compose.progress import Progress
from dockyard.units import human_duration

Handler = Callable[[Cli, Namespace, list[str]], int]

PS_TABLE = "table {{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}"
PS_HEADERS = {"Name": "NAME", "Image": "IMAGE", "Command": "COMMAND", "Service": "SERVICE", "RunningFor": "CREATED",
              "Status": "STATUS", "Ports": "PORTS", "ID": "CONTAINER ID", "Names": "NAMES", "Project": "PROJECT",
              "State": "STATE", "Health": "HEALTH", "ExitCode": "EXIT CODE", "CreatedAt": "CREATED AT",
              "Labels": "LABELS", "LocalVolumes": "LOCAL VOLUMES", "Mounts": "MOUNTS", "Networks": "NETWORKS",
              "Publishers": "PUBLISHERS", "Size": "SIZE"}
_STATUSES = ("paused", "restarting", "removing", "running", "dead", "created", "exited")


def _compose_errors(func: Handler) -> Handler:
    """Compose's own errors are printed as they are (the daemon's keep their usual prefix)."""

    @functools.wraps(func)
    def wrapper(cli: Cli, opts: Namespace, args: list[str]) -> int:
        if getattr(opts, "dry_run", False):
            raise CliError("--dry-run is not supported by dockyard compose yet")
        try:
            return func(cli, opts, args)
        except ComposeError as exc:
            raise CliError(str(exc)) from None

    return wrapper


def _progress(cli: Cli, *, quiet: bool = False) -> Progress:
    return Progress(cli.err, quiet=quiet)


def _load_options(opts: Namespace, services: Sequence[str] = ()) -> LoadOptions:
    return LoadOptions(
        files=tuple(opts.compose_files),
        project_name=opts.project_name,
        project_directory=opts.project_directory,
        profiles=tuple(opts.profiles),
        env_files=tuple(opts.env_files),
        services=tuple(services),
    )


def _project(cli: Cli, opts: Namespace, services: Sequence[str] = ()) -> Project:
    return load_project(_load_options(opts, services), warn=_progress(cli).warn)


def _project_or_name(cli: Cli, opts: Namespace, services: Sequence[str] = ()) -> tuple[str, Project | None]:
    """The project; or only its name when there is no compose file but ``-p`` (or
    COMPOSE_PROJECT_NAME) says which project is meant, as Compose allows for down, ps and logs."""
    try:
        project = _project(cli, opts, services)
    except NoConfigFile:
        if not (opts.project_name or os.environ.get("COMPOSE_PROJECT_NAME")):
            raise
        return project_name_only(_load_options(opts)), None
    return project.name, project


def _registry_auth(image: str) -> str | None:
    from dockyard.client.registry_auth import CredentialStore
    from dockyard.errors import DockyardError
    from dockyard.oci.reference import parse_normalized

    try:
        domain = parse_normalized(image).domain
    except DockyardError:
        return None
    return CredentialStore().auth_header(domain)


def _engine(cli: Cli) -> Engine:
    return Engine(cli.client(), auth=_registry_auth)


def _converger(cli: Cli, *, quiet: bool = False) -> Converger:
    return Converger(_engine(cli), _progress(cli, quiet=quiet))


# -- up / down -----------------------------------------------------------------------------------


def _scale(values: Sequence[str]) -> dict[str, int]:
    scale: dict[str, int] = {}
    for value in values:
        name, eq, number = value.partition("=")
        if not eq or not number.isdigit():
            raise CliError(f"invalid --scale value {value!r}: expected SERVICE=NUM")
        scale[name] = int(number)
    return scale


@_compose_errors
def up(cli: Cli, opts: Namespace, args: list[str]) -> int:
    if opts.build:
        raise CliError("building images is not supported yet by dockyard compose")
    if opts.force_recreate and opts.no_recreate:
        raise CliError("--force-recreate and --no-recreate are incompatible")
    if opts.detach and (opts.abort_on_container_exit or opts.exit_code_from):
        raise CliError("--abort-on-container-exit and --detach are incompatible")
    if opts.pull not in ("", "always", "missing", "never", "if_not_present"):
        raise CliError(f'invalid --pull option "{opts.pull}"')
    project = _project(cli, opts, args)
    recreate = RECREATE_FORCE if opts.force_recreate else RECREATE_NEVER if opts.no_recreate else RECREATE_DIVERGED
    up_opts = UpOptions(
        services=tuple(args),
        no_deps=opts.no_deps,
        recreate=recreate,
        recreate_dependencies=RECREATE_FORCE if opts.always_recreate_deps else
        RECREATE_NEVER if opts.no_recreate else RECREATE_DIVERGED,
        remove_orphans=opts.remove_orphans,
        timeout=opts.timeout,
        pull=opts.pull,
        renew_anon_volumes=opts.renew_anon_volumes,
        scale=_scale(opts.scale),
    )
    converger = _converger(cli)
    services = converger.create(project, up_opts)
    if opts.no_start:
        return 0
    if opts.detach or opts.wait:
        converger.start(project, services)
        if opts.wait:
            converger.wait_running(project, services, opts.wait_timeout)
        return 0
    printer = LogPrinter(cli.out, cli.err, prefix=not opts.no_log_prefix)
    attached = AttachedUp(converger, printer)
    status = attached.run(project, services, AttachOptions(
        abort_on_container_exit=opts.abort_on_container_exit or bool(opts.exit_code_from),
        exit_code_from=opts.exit_code_from,
        timeout=opts.timeout,
    ), attach_to=tuple(args))
    if status:
        raise StatusError("", status)
    return 0


@_compose_errors
def down(cli: Cli, opts: Namespace, args: list[str]) -> int:
    if opts.rmi:
        raise CliError("down --rmi is not supported by dockyard compose yet")
    if args:
        raise CliError("down SERVICE... is not supported by dockyard compose yet; use stop and rm")
    name, project = _project_or_name(cli, opts)
    lifecycle = Lifecycle(_converger(cli))
    removed = lifecycle.down(name, project, DownOptions(remove_orphans=opts.remove_orphans, volumes=opts.volumes,
                                                        timeout=opts.timeout))
    if not removed:
        cli.error(f'Warning: No resource found to remove for project "{name}".')
    return 0


# -- ps ------------------------------------------------------------------------------------------


class ComposeRow(Row):
    """A ``compose ps`` row, with Compose's field names."""

    FIELDS = ("Command", "CreatedAt", "ExitCode", "Health", "ID", "Image", "Labels", "LocalVolumes", "Mounts", "Name",
              "Names", "Networks", "Ports", "Project", "Publishers", "RunningFor", "Service", "Size", "State",
              "Status")

    def __init__(self, container: ContainerSummary, *, trunc: bool, now: float | None = None) -> None:
        self.c = container
        self.trunc = trunc
        self.now = time.time() if now is None else now

    def Command(self) -> str:  # noqa: N802 - Compose's template field names
        return go_quote(ellipsis(self.c.command, 20) if self.trunc else self.c.command)

    def CreatedAt(self) -> str:  # noqa: N802
        return go_time_string(self.c.created)

    def ExitCode(self) -> int:  # noqa: N802
        if self.c.state != "exited":
            return 0
        status = self.c.status
        start = status.find("(")
        end = status.find(")", start)
        try:
            return int(status[start + 1:end]) if start != -1 else 0
        except ValueError:
            return 0

    def Health(self) -> str:  # noqa: N802
        return self.c.health

    def ID(self) -> str:  # noqa: N802
        return self.c.id

    def Image(self) -> str:  # noqa: N802
        return self.c.image

    def Labels(self) -> str:  # noqa: N802
        return ",".join(f"{k}={v}" for k, v in self.c.labels.items())

    def LocalVolumes(self) -> str:  # noqa: N802
        return str(len(self.c.mounts))

    def Mounts(self) -> str:  # noqa: N802
        return ",".join(self.c.mounts)

    def Name(self) -> str:  # noqa: N802
        return self.c.name

    def Names(self) -> str:  # noqa: N802
        return self.c.name

    def Networks(self) -> str:  # noqa: N802
        return ",".join(self.c.networks)

    def Ports(self) -> str:  # noqa: N802
        return displayable_ports([{"IP": p.ip, "PrivatePort": p.private, "PublicPort": p.public, "Type": p.type}
                                  for p in self.c.ports])

    def Project(self) -> str:  # noqa: N802
        return self.c.project

    def Publishers(self) -> list[dict[str, Any]]:  # noqa: N802
        return [{"URL": p.ip, "TargetPort": p.private, "PublishedPort": p.public, "Protocol": p.type}
                for p in sorted(self.c.ports, key=lambda p: (p.private, p.type, p.ip))]

    def RunningFor(self) -> str:  # noqa: N802
        return human_duration(self.now - self.c.created) + " ago"

    def Service(self) -> str:  # noqa: N802
        return self.c.service

    def Size(self) -> str:  # noqa: N802
        return "0B"

    def State(self) -> str:  # noqa: N802
        return self.c.state

    def Status(self) -> str:  # noqa: N802
        return self.c.status


@_compose_errors
def ps(cli: Cli, opts: Namespace, args: list[str]) -> int:
    name, project = _project_or_name(cli, opts, args)
    statuses = list(opts.status)
    for value in opts.filter:
        key, eq, val = value.partition("=")
        if not eq or key != "status":
            raise CliError(f"unsupported filter: {value}" if eq else f"invalid filter '{value}'")
        statuses.append(val)
    for status in statuses:
        if status not in _STATUSES:
            raise CliError(f"invalid filter 'status={status}'")
    engine = _engine(cli)
    containers = engine.containers(name, services=tuple(args), all=opts.all or bool(statuses))
    if statuses:
        containers = [c for c in containers if c.state in statuses]
    if project is not None and not opts.orphans:
        known = project.all_service_names()
        containers = [c for c in containers if c.service in known]
    containers.sort(key=lambda c: c.name)
    if opts.services:
        for service in dict.fromkeys(c.service for c in containers):
            cli.print(service)
        return 0
    if opts.quiet:
        for container in containers:
            cli.print(container.id)
        return 0
    fmt = resolve_format(opts.format, PS_TABLE)
    cli.out.write(render(fmt, [ComposeRow(c, trunc=not opts.no_trunc) for c in containers], PS_HEADERS))
    return 0


# -- logs ----------------------------------------------------------------------------------------


@_compose_errors
def logs(cli: Cli, opts: Namespace, args: list[str]) -> int:
    name, _ = _project_or_name(cli, opts, args)
    engine = _engine(cli)
    containers = engine.containers(name, services=tuple(args), all=True)
    if opts.index:
        containers = [c for c in containers if c.number == opts.index]
    printer = LogPrinter(cli.out, cli.err, prefix=not opts.no_log_prefix)
    for container in containers:
        printer.register(container.short_name)
    options: dict[str, Any] = {"tail": opts.tail or "all", "timestamps": opts.timestamps, "since": opts.since,
                               "until": opts.until}
    if not opts.follow:
        for container in containers:
            framed = not engine.inspect(container.id).tty
            for stream, line in split_output(engine.logs(container.id, **options), framed):
                printer.line(container.short_name, line, stderr=stream == 2)
        return 0
    session = LogSession(printer)
    for container in containers:
        framed = not engine.inspect(container.id).tty
        session.add(container.id, container.short_name, engine.logs(container.id, follow=True, **options),
                    framed=framed)
    session.run()
    return 0


# -- start / stop / restart / rm / kill ----------------------------------------------------------


@_compose_errors
def start(cli: Cli, opts: Namespace, args: list[str]) -> int:
    project = _project(cli, opts, args)
    Lifecycle(_converger(cli)).start(project, args)
    return 0


@_compose_errors
def stop(cli: Cli, opts: Namespace, args: list[str]) -> int:
    project = _project(cli, opts, args)
    Lifecycle(_converger(cli)).stop(project, args, opts.timeout)
    return 0


@_compose_errors
def restart(cli: Cli, opts: Namespace, args: list[str]) -> int:
    project = _project(cli, opts, args)
    Lifecycle(_converger(cli)).restart(project, args, opts.timeout)
    return 0


@_compose_errors
def rm(cli: Cli, opts: Namespace, args: list[str]) -> int:
    from dockyard.cli.flags import confirm

    project = _project(cli, opts, args)
    lifecycle = Lifecycle(_converger(cli))
    containers = lifecycle.removable(project, args, stopped_too=opts.stop)
    if not containers:
        cli.error("No stopped containers")
        return 0
    names = ", ".join(c.name for c in containers)
    if not opts.force and not confirm(cli, f"Going to remove {names}\nAre you sure?"):
        return 0
    lifecycle.remove(containers, stop_first=opts.stop, volumes=opts.volumes)
    return 0


@_compose_errors
def kill(cli: Cli, opts: Namespace, args: list[str]) -> int:
    project = _project(cli, opts, args)
    engine = _engine(cli)
    progress = _progress(cli)
    wanted = set(args) or set(project.service_names)
    killed = 0
    for container in engine.containers(project.name, all=False):
        known = container.service in project.all_service_names()
        if (known and container.service in wanted) or (not known and opts.remove_orphans):
            progress.container(container.name, P.KILLING)
            engine.kill(container.id, opts.signal)
            progress.container(container.name, P.KILLED)
            killed += 1
    if not killed:
        raise CliError("no container to kill")
    return 0


# -- exec / port ---------------------------------------------------------------------------------


def _service_container(engine: Engine, project: Project, service: str, index: int) -> ContainerSummary:
    project.service(service)
    running = [c for c in engine.containers(project.name, services=(service,), all=False)]
    if not running:
        raise CliError(f'service "{service}" is not running')
    if index:
        for container in running:
            if container.number == index:
                return container
        raise CliError(f'service "{service}" is not running container #{index}')
    return running[0]


@_compose_errors
def exec_(cli: Cli, opts: Namespace, args: list[str]) -> int:
    from dockyard.cli.stdio import Detached, Streamer, raw_terminal

    project = _project(cli, opts, args[:1])
    engine = _engine(cli)
    container = _service_container(engine, project, args[0], opts.index)
    env: list[str] = []
    for entry in opts.env:
        if "=" in entry:
            env.append(entry)
        elif entry in os.environ:
            env.append(f"{entry}={os.environ[entry]}")
    tty = opts.tty and not opts.no_TTY and cli.stdin_is_terminal() and cli.out_is_terminal()
    interactive = opts.interactive and not opts.detach
    client = cli.client()
    created = client.exec_create(container.id, args[1:], user=opts.user, privileged=opts.privileged, tty=tty,
                                 attach_stdin=interactive, attach_stdout=not opts.detach,
                                 attach_stderr=not opts.detach, detach=opts.detach, env=env or None,
                                 workdir=opts.workdir)
    exec_id = str(created.get("Id", ""))
    if opts.detach:
        client.exec_start(exec_id, detach=True, tty=tty)
        return 0
    sock: Any = client.exec_start(exec_id, detach=False, tty=tty)
    assert sock is not None
    streamer = Streamer(sock, stdin=cli.stdin if interactive else None, stdout=cli.out_bytes,
                        stderr=cli.out_bytes if tty else cli.err_bytes, tty=tty, before_output=cli.out.flush)
    with raw_terminal(cli.stdin, tty and interactive and cli.stdin_is_terminal()):
        try:
            streamer.run()
        except Detached:
            return 0
    code = int(client.exec_inspect(exec_id).get("ExitCode") or 0)
    if code:
        raise StatusError("", code)
    return 0


@_compose_errors
def port(cli: Cli, opts: Namespace, args: list[str]) -> int:
    project = _project(cli, opts, args[:1])
    container = _service_container(_engine(cli), project, args[0], opts.index)
    try:
        private = int(args[1])
    except ValueError:
        raise CliError(f"invalid port {args[1]!r}") from None
    for published in container.ports:
        if published.private == private and published.type == opts.protocol and published.public:
            cli.print(f"{published.ip}:{published.public}")
            return 0
    raise CliError(f"no port {private}/{opts.protocol} for container {container.name}: "
                   f"{', '.join(f'{p.private}/{p.type}' for p in container.ports) or 'no published port'}")


# -- config / pull / version ---------------------------------------------------------------------


@_compose_errors
def config(cli: Cli, opts: Namespace, args: list[str]) -> int:
    from dataclasses import replace

    from dockyard.compose.converge import selected_services
    from dockyard.compose.serialize import project_dict
    from dockyard.compose.yamlio import dump_yaml

    project = _project(cli, opts, args)
    if args:
        project = replace(project, services=tuple(selected_services(project, args)))
    lines: list[str] | None = None
    if opts.services:
        lines = sorted(project.service_names)
    elif opts.volumes:
        lines = sorted(project.volumes)
    elif opts.images:
        lines = [s.image for s in sorted(project.services, key=lambda s: s.name)]
    elif opts.profiles:
        lines = sorted({p for s in (*project.services, *project.disabled) for p in s.profiles})
    if opts.quiet:
        return 0
    if lines is not None:
        text = "".join(line + "\n" for line in lines)
    elif opts.format == "json":
        text = json.dumps(project_dict(project), indent=4) + "\n"
    elif opts.format in ("yaml", ""):
        text = dump_yaml(project_dict(project))
    else:
        raise CliError(f"unsupported format {opts.format!r}")
    if opts.output:
        with open(opts.output, "w", encoding="utf-8") as out:
            out.write(text)
        return 0
    cli.out.write(text)
    return 0


@_compose_errors
def pull(cli: Cli, opts: Namespace, args: list[str]) -> int:
    project = _project(cli, opts, args)
    progress = _progress(cli, quiet=opts.quiet)
    lifecycle = Lifecycle(Converger(_engine(cli), progress))
    services = args
    if args and opts.include_deps:
        from dockyard.compose.converge import selected_services

        services = [s.name for s in selected_services(project, args)]
    for failed in lifecycle.pull(project, services, ignore_failures=opts.ignore_pull_failures):
        progress.warn(f"failed to pull the image of service {failed}")
    return 0


def version(cli: Cli, opts: Namespace, args: list[str]) -> int:
    from dockyard import __version__

    if opts.short:
        cli.print(__version__)
    elif opts.format == "json":
        cli.print(json.dumps({"version": f"v{__version__}", "compose": f"v{COMPOSE_VERSION}"}))
    else:
        cli.print(f"dockyard compose version v{__version__} (Docker Compose v{COMPOSE_VERSION} compatible)")
    return 0


__all__ = ["ComposeRow", "config", "down", "exec_", "kill", "logs", "port", "ps", "pull", "restart", "rm", "start",
           "stop", "up", "version"]
