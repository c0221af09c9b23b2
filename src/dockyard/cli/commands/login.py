"""login and logout: credentials checked by the daemon, kept in Docker's config.json."""

from __future__ import annotations

import contextlib
from argparse import Namespace
from collections.abc import Iterator
from typing import TYPE_CHECKING

from dockyard.cli.app import Cli, CliError
from dockyard.errors import DockyardError, Unauthorized

if TYPE_CHECKING:
    from dockyard.client.registry_auth import Credentials, CredentialStore

PASSWORD_WARNING = "WARNING! Using --password via the CLI is insecure. Use --password-stdin."
UNENCRYPTED_WARNING = (
    "\nWARNING! Your credentials are stored unencrypted in '{path}'.\n"
    "Configure a credential helper to remove this warning. See\n"
    "https://docs.docker.com/go/credential-store/\n\n"
)
OTHER_ACCOUNT_INFO = (
    "\n Info -> To login with a different account, run 'dockyard logout' followed by 'dockyard login'\n\n\n"
)
NON_TTY = "Error: Cannot perform an interactive login from a non TTY device"


def _store() -> CredentialStore:
    from dockyard.client.registry_auth import CredentialStore

    return CredentialStore()


@contextlib.contextmanager
def _no_echo(cli: Cli) -> Iterator[None]:
    """Turn off the terminal's echo while a password is typed (when stdin is a terminal)."""
    try:
        import termios

        fd = cli.stdin.fileno()
        old = termios.tcgetattr(fd)
    except (ImportError, AttributeError, ValueError, OSError):
        yield
        return
    new = list(old)
    new[3] = new[3] & ~termios.ECHO
    termios.tcsetattr(fd, termios.TCSAFLUSH, new)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSAFLUSH, old)


def _read_line(cli: Cli, prompt: str) -> str:
    cli.out.write(prompt)
    cli.out.flush()
    return cli.stdin.readline().decode(errors="replace").rstrip("\r\n").strip()


def _prompt(cli: Cli, username: str, password: str, default_user: str) -> tuple[str, str]:
    """Docker's PromptUserForCredentials: ask for what the flags did not give."""
    username, password = username.strip(), password.strip()
    if (not username or not password) and not cli.stdin_is_terminal():
        raise CliError(NON_TTY)
    if not username:
        question = f"Username ({default_user}): " if default_user else "Username: "
        username = _read_line(cli, question) or default_user
        if not username:
            raise CliError("Error: Non-null Username Required")
    if not password:
        with _no_echo(cli):
            password = _read_line(cli, "Password: ")
        cli.print()
        if not password:
            raise CliError("Error: Password Required")
    return username, password


def _verify_options(cli: Cli, opts: Namespace) -> tuple[str, str]:
    if opts.password is not None and opts.password_stdin:
        raise CliError("conflicting options: cannot specify both --password and --password-stdin")
    if opts.password_stdin and not opts.username:
        raise CliError("the --password-stdin option requires --username to be set")
    if opts.username == "":
        raise CliError("username is empty")
    if opts.password == "":
        raise CliError("password is empty")
    password: str = opts.password or ""
    if password:
        cli.error(PASSWORD_WARNING)
    if opts.password_stdin:
        password = cli.stdin.read().decode(errors="replace").removesuffix("\n").removesuffix("\r")
    return opts.username or "", password


def _save(cli: Cli, store: CredentialStore, registry: str, creds: Credentials) -> None:
    try:
        before = store.get(registry)
    except DockyardError:
        before = None
    try:
        unencrypted = store.store(registry, creds)
    except DockyardError as exc:
        raise CliError(f"Error saving credentials: {exc}") from exc
    if unencrypted and before != creds:
        cli.err.write(UNENCRYPTED_WARNING.format(path=store.path))


def _login_once(cli: Cli, username: str, password: str, server: str) -> tuple[str, Credentials]:
    from dockyard.client.registry_auth import Credentials

    response = cli.client().login(username, password, server)
    token = str(response.get("IdentityToken") or "")
    creds = Credentials(username, "", token) if token else Credentials(username, password)
    return str(response.get("Status") or ""), creds


def login(cli: Cli, opts: Namespace, args: list[str]) -> int:
    from dockyard.client.registry_auth import DOCKER_HUB, DOCKER_HUB_SERVER, hostname

    username, password = _verify_options(cli, opts)
    server = args[0] if args and args[0] != DOCKER_HUB else DOCKER_HUB_SERVER
    registry = DOCKER_HUB if server == DOCKER_HUB_SERVER else hostname(server)
    store = _store()
    try:
        stored = store.get(registry)
    except DockyardError:
        stored = None
    status = ""
    if not username and not password and stored and stored.username and stored.password:
        cli.err.write(f"Authenticating with existing credentials... [Username: {stored.username}]\n")
        cli.err.write(OTHER_ACCOUNT_INFO)
        try:
            status, creds = _login_once(cli, stored.username, stored.password, server)
        except Unauthorized:
            cli.err.write("Stored credentials invalid or expired\n")
        except DockyardError as exc:
            from dockyard.client import ConnectError

            if isinstance(exc, ConnectError):
                raise
            cli.err.write(f"Login did not succeed, error: {exc}\n")
        else:
            _save(cli, store, registry, creds)
            cli.print(status)
            return 0
    username, password = _prompt(cli, username, password, stored.username if stored else "")
    status, creds = _login_once(cli, username, password, server)
    _save(cli, store, registry, creds)
    if status:
        cli.print(status)
    return 0


def logout(cli: Cli, opts: Namespace, args: list[str]) -> int:
    from dockyard.client.registry_auth import DOCKER_HUB, DOCKER_HUB_SERVER, hostname

    if args:
        shown = hostname(args[0])
        registry = shown
    else:
        shown, registry = DOCKER_HUB_SERVER, DOCKER_HUB
    cli.print(f"Removing login credentials for {shown}")
    try:
        _store().erase(registry)
    except DockyardError as exc:
        cli.error(f"WARNING: could not erase credentials:\n{args[0] if args else shown}: {exc}")
    return 0


__all__ = ["login", "logout"]
