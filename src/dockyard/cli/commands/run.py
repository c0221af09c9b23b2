"""run, create, start, attach and exec: the commands with a stdio session.

``run`` follows docker/cli's runContainer: create (pulling on "No such image"), attach when not
detached, register the wait (``next-exit``, or ``removed`` with ``--rm``) before start, start,
pump stdio, then exit with the container's status.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from argparse import Namespace
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from dockyard.cli.app import Cli, CliError, StatusError, UsageError
from dockyard.errors import DockyardError, NotFound

if TYPE_CHECKING:
    from dockyard.cli.runopts import CreateRequest

RUN_USAGE = "dockyard run [OPTIONS] IMAGE [COMMAND] [ARG...]"
CREATE_USAGE = "dockyard create [OPTIONS] IMAGE [COMMAND] [ARG...]"
PROXIED_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")


def _is_connect_error(exc: Exception) -> bool:
    from dockyard.client import ConnectError

    return isinstance(exc, ConnectError)


def with_help(message: str, command: str = "run") -> str:
    return f"dockyard: {message}\n\nRun 'dockyard {command} --help' for more information"


def status_error(exc: Exception, command: str = "run", host: str = "") -> StatusError:
    """toStatusError: 127 for "not found", 126 for "permission denied"/"is a directory", else 125."""
    if isinstance(exc, DockyardError) and not _is_connect_error(exc) and not isinstance(exc, CliError):
        text = f"Error response from daemon: {exc}"
    elif _is_connect_error(exc):
        text = f"Cannot connect to the dockyard daemon at {host}. Is the daemon running?" if host else \
            "Cannot connect to the dockyard daemon. Is the daemon running?"
    else:
        text = str(exc)
    status = 125
    if any(s in text for s in ("executable file not found", "no such file or directory",
                               "system cannot find the file specified")):
        status = 127
    elif "permission denied" in text or "is a directory" in text:
        status = 126
    return StatusError(with_help(text, command), status)


def start_error_status(exc: Exception) -> int:
    return status_error(exc).status


def _build_request(cli: Cli, opts: Namespace, args: list[str], usage: str, command: str) -> CreateRequest:
    from dockyard.cli.runopts import InvalidFlag, InvalidOptions, build
    from dockyard.cli.stdio import terminal_size

    console = (0, 0)
    if opts.tty and cli.out_is_terminal():
        console = terminal_size(cli.out_bytes) or (0, 0)
    try:
        return build(opts, args[0], args[1:], console_size=console)
    except InvalidFlag as exc:
        raise UsageError(f"{exc}\n\nUsage:  {usage}\n\nRun 'dockyard {command} --help' for more information") \
            from None
    except InvalidOptions as exc:
        raise StatusError(with_help(str(exc), command), 125) from None


# -- create with pull ----------------------------------------------------------------------------


def _pull_image(cli: Cli, image: str, platform: str, quiet: bool) -> None:
    """Pull for run/create: progress on stderr, as docker does."""
    from dockyard.cli.commands.registry import parse_reference
    from dockyard.cli.progress import DEFAULT_WIDTH, ProgressError, display

    ref = parse_reference(image)
    if ref.is_name_only():
        ref = ref.with_tag("latest")
    tag = str(ref.digest) if ref.digest is not None else ref.tag
    from dockyard.cli.commands.registry import _auth_header

    messages = cli.client().pull(ref.name, tag, platform=platform or None, auth=_auth_header(ref.domain))

    def write(text: str) -> None:
        if not quiet:
            cli.err.write(text)
            cli.err.flush()

    try:
        display(messages, write, is_tty=False, width=DEFAULT_WIDTH)
    except ProgressError as exc:
        raise CliError(str(exc)) from exc


def _tagged(image: str) -> str:
    from dockyard.cli.commands.registry import parse_reference

    ref = parse_reference(image)
    if ref.is_name_only():
        ref = ref.with_tag("latest")
    return ref.familiar_string()


def _write_cidfile(path: str) -> Callable[[str], None]:
    """The cidfile must not exist yet; docker creates it before the container, filled in after."""
    if not path:
        return lambda _ident: None
    if os.path.exists(path):
        raise CliError(f"container ID file found, make sure the other container isn't running or "
                       f"delete {path}")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError as exc:
        raise CliError(f"failed to create the container ID file: {exc}") from None

    def write(ident: str) -> None:
        with os.fdopen(fd, "w") as f:
            f.write(ident)

    return write


def create_container(cli: Cli, request: CreateRequest, quiet: bool = False) -> str:
    """createContainer: pull when asked or when the image is missing, then create; returns the ID."""
    client = cli.client()
    write_cid = _write_cidfile(str(request.host_config.get("ContainerIDFile") or ""))
    image = str(request.body["Image"])
    if request.pull == "always":
        _pull_image(cli, image, request.platform, quiet)
    try:
        created = client.create_container(request.body, name=request.name or None,
                                          platform=request.platform or None)
    except NotFound as exc:
        if request.pull != "missing" or "No such image" not in str(exc):
            raise
        cli.error(f"Unable to find image '{_tagged(image)}' locally")
        _pull_image(cli, image, request.platform, quiet)
        created = client.create_container(request.body, name=request.name or None,
                                          platform=request.platform or None)
    for warning in created.get("Warnings") or []:
        cli.error(f"WARNING: {warning}")
    ident = str(created.get("Id", ""))
    write_cid(ident)
    return ident


def create(cli: Cli, opts: Namespace, args: list[str]) -> int:
    request = _build_request(cli, opts, args, CREATE_USAGE, "create")
    ident = create_container(cli, request, quiet=opts.quiet)
    cli.print(ident)
    return 0


# -- sessions ------------------------------------------------------------------------------------


@contextlib.contextmanager
def _resize_on_winch(cli: Cli, resize: Callable[[int, int], None], enabled: bool) -> Iterator[None]:
    """Send the terminal size now and on every SIGWINCH (errors ignored, as docker does)."""
    if not enabled:
        yield
        return
    from dockyard.cli.stdio import terminal_size

    def send(*_: Any) -> None:
        size = terminal_size(cli.out_bytes)
        if size is None:
            return
        with contextlib.suppress(DockyardError):
            resize(*size)

    send()
    previous: Any = None
    in_main = threading.current_thread() is threading.main_thread()
    if in_main and hasattr(signal, "SIGWINCH"):
        previous = signal.signal(signal.SIGWINCH, lambda *_: threading.Thread(target=send, daemon=True).start())
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGWINCH, previous)


@contextlib.contextmanager
def _proxy_signals(cli: Cli, container: str, enabled: bool) -> Iterator[None]:
    """--sig-proxy: signals the CLI receives are sent to the container (POST kill?signal=)."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return
    client = cli.client()
    saved: dict[int, Any] = {}

    def forward(signum: int, _frame: Any) -> None:
        name = signal.Signals(signum).name

        def send() -> None:
            with contextlib.suppress(DockyardError):
                client.kill(container, signal=name)

        threading.Thread(target=send, daemon=True).start()

    for name in PROXIED_SIGNALS:
        num = getattr(signal, name, None)
        if num is not None:
            saved[num] = signal.signal(num, forward)
    try:
        yield
    finally:
        for num, handler in saved.items():
            signal.signal(num, handler)


def _stream(
    cli: Cli,
    sock: Any,
    *,
    stdin: bool,
    tty: bool,
    detach_keys: str,
    stdout: bool = True,
    stderr: bool = True,
) -> bool:
    """Pump one hijacked stream; True when the user detached."""
    from dockyard.cli.stdio import Detached, Streamer, raw_terminal

    streamer = Streamer(
        sock,
        stdin=cli.stdin if stdin else None,
        stdout=cli.out_bytes if stdout else None,
        stderr=(cli.out_bytes if tty else cli.err_bytes) if stderr else None,
        tty=tty,
        detach_keys=detach_keys,
        before_output=cli.out.flush,
    )
    with raw_terminal(cli.stdin, tty and stdin and cli.stdin_is_terminal()):
        try:
            streamer.run()
        except Detached:
            return True
    return False


def _check_tty(cli: Cli, attach_stdin: bool, tty: bool) -> None:
    if attach_stdin and tty and not cli.stdin_is_terminal():
        raise CliError("the input device is not a TTY")


def _follow(cli: Cli, client: Any, ident: str, sock: Any, waiter: Any, *, stdin: bool, tty: bool,
            detach_keys: str, sig_proxy: bool, stdout: bool = True, stderr: bool = True) -> int:
    """Pump the attached streams (signals proxied, the terminal size followed), then end as the
    container did: 0 when the user detached, its exit code otherwise."""
    with _proxy_signals(cli, ident, sig_proxy and not tty), \
            _resize_on_winch(cli, lambda h, w: client.resize(ident, h, w), tty and cli.out_is_terminal()):
        detached = _stream(cli, sock, stdin=stdin, tty=tty, detach_keys=detach_keys, stdout=stdout, stderr=stderr)
    if detached:
        waiter.close()
        return 0
    status = _wait_status(waiter)
    if status != 0:
        raise StatusError("", status)
    return 0


def _wait_status(waiter: Any) -> int:
    try:
        result = waiter.result()
    except DockyardError as exc:
        raise StatusError(f"Error waiting for container: {exc}", 125) from None
    error = result.get("Error")
    if isinstance(error, dict) and error.get("Message"):
        raise StatusError(f"Error waiting for container: {error['Message']}", 125)
    return int(result.get("StatusCode", 0))


def run(cli: Cli, opts: Namespace, args: list[str]) -> int:
    request = _build_request(cli, opts, args, RUN_USAGE, "run")
    body = request.body
    if opts.detach:
        if opts.attach:
            raise StatusError(with_help("conflicting options: cannot specify both --attach and --detach"), 125)
        body["AttachStdin"] = body["AttachStdout"] = body["AttachStderr"] = False
        body["StdinOnce"] = False
    else:
        _check_tty(cli, bool(body["AttachStdin"]), bool(body["Tty"]))
        if body["OpenStdin"] and body["AttachStdin"]:
            body["StdinOnce"] = True
    if opts.detach_keys:
        from dockyard.cli.stdio import parse_detach_keys

        parse_detach_keys(opts.detach_keys)
    try:
        ident = create_container(cli, request, quiet=opts.quiet)
    except (DockyardError, OSError) as exc:
        if isinstance(exc, StatusError | UsageError):
            raise
        raise status_error(exc, host=cli.host) from None
    return run_container(cli, ident, body, opts)


def run_container(cli: Cli, ident: str, body: dict[str, Any], opts: Namespace) -> int:
    client = cli.client()
    tty = bool(body["Tty"])
    attach_stdin = bool(body["AttachStdin"])
    attach_stdout = bool(body["AttachStdout"])
    attach_stderr = bool(body["AttachStderr"])
    auto_remove = bool(body["HostConfig"].get("AutoRemove"))
    attached = attach_stdin or attach_stdout or attach_stderr

    sock = None
    try:
        if attached:
            sock = client.attach(ident, stdin=attach_stdin, stdout=attach_stdout, stderr=attach_stderr,
                                 stream=True, detach_keys=opts.detach_keys or None)
        waiter = client.wait(ident, condition="removed" if auto_remove else "next-exit")
    except DockyardError as exc:
        if sock is not None:
            sock.close()
        raise status_error(exc) from None
    try:
        client.start(ident)
    except DockyardError as exc:
        if sock is not None:
            sock.close()
        if auto_remove:
            with contextlib.suppress(DockyardError, StatusError):
                _wait_status(waiter)
        else:
            waiter.close()
        raise status_error(exc) from None
    if not attached:
        waiter.close()
        cli.print(ident)
        return 0
    assert sock is not None
    return _follow(cli, client, ident, sock, waiter, stdin=attach_stdin, tty=tty, detach_keys=opts.detach_keys,
                   sig_proxy=opts.sig_proxy, stdout=attach_stdout, stderr=attach_stderr)


# -- start / attach ------------------------------------------------------------------------------


def start(cli: Cli, opts: Namespace, args: list[str]) -> int:
    client = cli.client()
    if not (opts.attach or opts.interactive):
        from dockyard.cli.commands.containers import for_each

        def one(name: str) -> str:
            client.start(name)
            return name

        return for_each(cli, args, one)
    if len(args) > 1:
        raise CliError("you cannot start and attach multiple containers at once")
    info = client.inspect_container(args[0])
    config = info.get("Config") or {}
    tty = bool(config.get("Tty"))
    with_stdin = bool(opts.interactive and config.get("OpenStdin"))
    if with_stdin:
        _check_tty(cli, True, tty)
    detach_keys = opts.detach_keys or ""
    ident = str(info.get("Id") or args[0])
    sock = client.attach(ident, stdin=with_stdin, stdout=True, stderr=True, stream=True,
                         detach_keys=detach_keys or None)
    auto_remove = bool((info.get("HostConfig") or {}).get("AutoRemove"))
    waiter = client.wait(ident, condition="removed" if auto_remove else "next-exit")
    try:
        client.start(ident)
    except DockyardError:
        sock.close()
        waiter.close()
        raise
    return _follow(cli, client, ident, sock, waiter, stdin=with_stdin, tty=tty, detach_keys=detach_keys,
                   sig_proxy=True)


def attach(cli: Cli, opts: Namespace, args: list[str]) -> int:
    client = cli.client()
    info = client.inspect_container(args[0])
    state = info.get("State") or {}
    if not state.get("Running"):
        raise CliError("You cannot attach to a stopped container, start it first")
    if state.get("Paused"):
        raise CliError("You cannot attach to a paused container, unpause it first")
    if state.get("Restarting"):
        raise CliError("You cannot attach to a restarting container, wait until it is running")
    config = info.get("Config") or {}
    tty = bool(config.get("Tty"))
    with_stdin = not opts.no_stdin and bool(config.get("OpenStdin"))
    if with_stdin:
        _check_tty(cli, True, tty)
    ident = str(info.get("Id") or args[0])
    waiter = client.wait(ident)
    sock = client.attach(ident, stdin=with_stdin, stdout=True, stderr=True, stream=True,
                         detach_keys=opts.detach_keys or None)
    return _follow(cli, client, ident, sock, waiter, stdin=with_stdin, tty=tty,
                   detach_keys=opts.detach_keys or "", sig_proxy=opts.sig_proxy)


# -- exec ----------------------------------------------------------------------------------------


def exec_(cli: Cli, opts: Namespace, args: list[str]) -> int:
    from dockyard.cli.runopts import InvalidFlag, InvalidOptions, env_list
    from dockyard.cli.stdio import terminal_size

    container, cmd = args[0], args[1:]
    try:
        env = env_list(opts.env_file, opts.env)
    except InvalidFlag as exc:
        raise UsageError(str(exc)) from None
    except InvalidOptions as exc:
        raise CliError(str(exc)) from None
    if opts.detach_keys:
        from dockyard.cli.stdio import parse_detach_keys

        parse_detach_keys(opts.detach_keys)
    client = cli.client()
    client.inspect_container(container)  # "No such container" before anything is created
    if not opts.detach:
        _check_tty(cli, opts.interactive, opts.tty)
    console = terminal_size(cli.out_bytes) if opts.tty and cli.out_is_terminal() else None
    created = client.exec_create(
        container,
        cmd,
        user=opts.user,
        privileged=opts.privileged,
        tty=opts.tty,
        console_size=console,
        attach_stdin=opts.interactive and not opts.detach,
        attach_stdout=not opts.detach,
        attach_stderr=not opts.detach,
        detach=opts.detach,
        detach_keys=opts.detach_keys,
        env=env or None,
        workdir=opts.workdir,
    )
    exec_id = str(created.get("Id", ""))
    if opts.detach:
        client.exec_start(exec_id, detach=True, tty=opts.tty, console_size=console)
        return 0
    sock = client.exec_start(exec_id, detach=False, tty=opts.tty, console_size=console)
    assert sock is not None
    with _resize_on_winch(cli, lambda h, w: client.exec_resize(exec_id, h, w), opts.tty and cli.out_is_terminal()):
        detached = _stream(cli, sock, stdin=opts.interactive, tty=opts.tty, detach_keys=opts.detach_keys)
    if detached:
        return 0
    info = client.exec_inspect(exec_id)
    code = int(info.get("ExitCode") or 0)
    if code != 0:
        raise StatusError("", code)
    return 0


__all__ = ["attach", "create", "create_container", "exec_", "run", "run_container", "start", "status_error"]
