"""Docker's command tree and flags, on argparse, with Docker's usage errors and exit codes.

Handlers are named by "module:function" strings and imported only when their command runs, so
that listing images does not import what building or composing needs.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NoReturn

from dockyard.cli.app import UsageError

PROG = "dockyard"


class _Parser(argparse.ArgumentParser):
    """Raises UsageError with Docker's wording instead of printing and exiting."""

    def __init__(self, *args: object, usage_line: str = "", **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.usage_line = usage_line
        self.bool_flags: set[str] = set()

    def error(self, message: str) -> NoReturn:
        if message.startswith("unrecognized arguments: "):
            flag = message.split(": ", 1)[1].split()[0]
            message = f"unknown flag: {flag}" if flag.startswith("-") else f"unknown argument: {flag}"
        elif "expected one argument" in message:
            flag = message.split()[1].split("/")[-1].rstrip(":")
            message = f"flag needs an argument: {flag}"
        elif message.startswith("ambiguous option"):
            message = "unknown flag: " + message.split(": ")[1].split()[0].split("=")[0]
        raise UsageError(
            f"{message}\n\nUsage:  {self.usage_line}\n\nRun '{self.prog} --help' for more information"
        )


@dataclass(frozen=True)
class Command:
    usage: str  # after "dockyard <path> "
    summary: str
    handler: str  # "module:function" under dockyard.cli.commands
    configure: Callable[[_Parser], None]
    min_args: int = 0
    max_args: int | None = 0
    interspersed: bool = True  # False: flags end at the first argument (run IMAGE CMD -x …)
    short_help: bool = True  # False: "-h" is a flag of the command (run -h HOSTNAME)


def add_bool(p: _Parser, *names: str, default: bool = False, help: str = "") -> None:
    """A Cobra-style bool flag: "--x", "--x=true" and "--x=false" all work."""
    long = next(n for n in names if n.startswith("--"))
    dest = long[2:].replace("-", "_")
    p.add_argument(*names, dest=dest, action="store_true", default=default, help=help)
    p.add_argument(f"--no-{long[2:]}", dest=dest, action="store_false", help=argparse.SUPPRESS)
    p.bool_flags.add(long)


def _format_flag(p: _Parser) -> None:
    p.add_argument("--format", default="", help="Format output using a custom template")


def _images_flags(p: _Parser) -> None:
    add_bool(p, "-a", "--all", help="Show all images (default hides intermediate images)")
    add_bool(p, "--digests", help="Show digests")
    p.add_argument(
        "-f", "--filter", action="append", default=[], help="Filter output based on conditions provided"
    )
    _format_flag(p)
    add_bool(p, "--no-trunc", help="Don't truncate output")
    add_bool(p, "-q", "--quiet", help="Only show image IDs")


def _inspect_flags(p: _Parser) -> None:
    p.add_argument("-f", "--format", default="", help="Format output using a custom template")
    add_bool(p, "-s", "--size", help="Display total file sizes")
    p.add_argument("--type", default="", help="Only inspect objects of the given type")


def _image_inspect_flags(p: _Parser) -> None:
    p.add_argument("-f", "--format", default="", help="Format output using a custom template")
    p.add_argument("--platform", default="", help=argparse.SUPPRESS)


def _history_flags(p: _Parser) -> None:
    _format_flag(p)
    add_bool(p, "-H", "--human", default=True, help="Print sizes and dates in human readable format")
    add_bool(p, "--no-trunc", help="Don't truncate output")
    p.add_argument("--platform", default="", help="Show history for the given platform")
    add_bool(p, "-q", "--quiet", help="Only show image IDs")


def _rm_flags(p: _Parser) -> None:
    add_bool(p, "-f", "--force", help="Force removal of the image")
    add_bool(p, "--no-prune", help="Do not delete untagged parents")


def _prune_flags(p: _Parser) -> None:
    add_bool(p, "-a", "--all", help="Remove all unused images, not just dangling ones")
    p.add_argument(
        "--filter", action="append", default=[], help='Provide filter values (e.g. "until=<timestamp>")'
    )
    add_bool(p, "-f", "--force", help="Do not prompt for confirmation")


def _load_flags(p: _Parser) -> None:
    p.add_argument("-i", "--input", default="", help="Read from tar archive file, instead of STDIN")
    p.add_argument("--platform", default="", help="Load only the given platform variant")
    add_bool(p, "-q", "--quiet", help="Suppress the load output")


def _save_flags(p: _Parser) -> None:
    p.add_argument("-o", "--output", default="", help="Write to a file, instead of STDOUT")
    p.add_argument("--platform", default="", help="Save only the given platform variant")


def _commit_flags(p: _Parser) -> None:
    p.add_argument("-a", "--author", default="", help='Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")')
    p.add_argument("-c", "--change", action="append", default=[], help="Apply Dockerfile instruction to the created image")
    p.add_argument("-m", "--message", default="", help="Commit message")
    add_bool(p, "-p", "--pause", default=True, help="Pause container during commit")


def _cp_flags(p: _Parser) -> None:
    add_bool(p, "-a", "--archive", help="Archive mode (copy all uid/gid information)")
    add_bool(p, "-L", "--follow-link", help="Always follow symbol link in SRC_PATH")
    add_bool(p, "-q", "--quiet", help="Suppress progress output during copy")


def _stats_flags(p: _Parser) -> None:
    add_bool(p, "-a", "--all", help="Show all containers (default shows just running)")
    _format_flag(p)
    add_bool(p, "--no-stream", help="Disable streaming stats and only pull the first result")
    add_bool(p, "--no-trunc", help="Do not truncate output")


def _export_flags(p: _Parser) -> None:
    p.add_argument("-o", "--output", default="", help="Write to a file, instead of STDOUT")


def _import_flags(p: _Parser) -> None:
    p.add_argument(
        "-c",
        "--change",
        action="append",
        default=[],
        help="Apply Dockerfile instruction to the created image",
    )
    p.add_argument("-m", "--message", default="", help="Set commit message for imported image")
    p.add_argument("--platform", default="", help="Set platform if server is multi-platform capable")


def _df_flags(p: _Parser) -> None:
    _format_flag(p)
    add_bool(p, "-v", "--verbose", help="Show detailed information on space usage")


def _check_flags(p: _Parser) -> None:
    add_bool(p, "--repair", help="Repair the problems found where possible")


def _events_flags(p: _Parser) -> None:
    p.add_argument(
        "-f", "--filter", action="append", default=[], help="Filter output based on conditions provided"
    )
    _format_flag(p)
    p.add_argument("--since", default=None, help="Show all events created since timestamp")
    p.add_argument("--until", default=None, help="Stream events until this timestamp")


def _pull_flags(p: _Parser) -> None:
    add_bool(p, "-a", "--all-tags", help="Download all tagged images in the repository")
    add_bool(p, "--disable-content-trust", default=True, help="Skip image verification (default true)")
    p.add_argument("--platform", default="", help="Set platform if server is multi-platform capable")
    add_bool(p, "-q", "--quiet", help="Suppress verbose output")


def _push_flags(p: _Parser) -> None:
    add_bool(p, "-a", "--all-tags", help="Push all tags of an image to the repository")
    add_bool(p, "--disable-content-trust", default=True, help="Skip image signing (default true)")
    add_bool(p, "-q", "--quiet", help="Suppress verbose output")


def _login_flags(p: _Parser) -> None:
    p.add_argument("-p", "--password", default=None, help="Password or Personal Access Token (PAT)")
    add_bool(p, "--password-stdin", help="Take the Password or Personal Access Token (PAT) from stdin")
    p.add_argument("-u", "--username", default=None, help="Username")


def _no_flags(p: _Parser) -> None:
    pass


def _run_flags(p: _Parser) -> None:
    from dockyard.cli.runopts import add_create_flags

    add_create_flags(p, add_bool)
    add_bool(p, "-d", "--detach", help="Run container in background and print container ID")
    p.add_argument("--detach-keys", default="", help="Override the key sequence for detaching a container")
    add_bool(p, "--sig-proxy", default=True, help="Proxy received signals to the process")


def _create_flags(p: _Parser) -> None:
    from dockyard.cli.runopts import add_create_flags

    add_create_flags(p, add_bool)


def _start_flags(p: _Parser) -> None:
    add_bool(p, "-a", "--attach", help="Attach STDOUT/STDERR and forward signals")
    p.add_argument("--checkpoint", default="", help=argparse.SUPPRESS)
    p.add_argument("--checkpoint-dir", default="", help=argparse.SUPPRESS)
    p.add_argument("--detach-keys", default="", help="Override the key sequence for detaching a container")
    add_bool(p, "-i", "--interactive", help="Attach container's STDIN")


def _stop_flags(p: _Parser) -> None:
    p.add_argument("-s", "--signal", default="", help="Signal to send to the container")
    p.add_argument("-t", "--time", default=None, help="Seconds to wait before killing the container")
    p.add_argument("--timeout", default=None, help=argparse.SUPPRESS)


def _kill_flags(p: _Parser) -> None:
    p.add_argument("-s", "--signal", default="", help="Signal to send to the container")


def _update_flags(p: _Parser) -> None:
    from dockyard.cli.runopts import add_update_flags

    add_update_flags(p)


def _container_rm_flags(p: _Parser) -> None:
    add_bool(p, "-f", "--force", help="Force the removal of a running container (uses SIGKILL)")
    add_bool(p, "-l", "--link", help="Remove the specified link")
    add_bool(p, "-v", "--volumes", help="Remove anonymous volumes associated with the container")


def _ps_flags(p: _Parser) -> None:
    add_bool(p, "-a", "--all", help="Show all containers (default shows just running)")
    p.add_argument(
        "-f", "--filter", action="append", default=[], help="Filter output based on conditions provided"
    )
    _format_flag(p)
    p.add_argument("-n", "--last", default="-1", help="Show n last created containers (includes all states)")
    add_bool(p, "-l", "--latest", help="Show the latest created container (includes all states)")
    add_bool(p, "--no-trunc", help="Don't truncate output")
    add_bool(p, "-q", "--quiet", help="Only display container IDs")
    add_bool(p, "-s", "--size", help="Display total file sizes")


def _logs_flags(p: _Parser) -> None:
    add_bool(p, "--details", help="Show extra details provided to logs")
    add_bool(p, "-f", "--follow", help="Follow log output")
    p.add_argument("--since", default="", help="Show logs since timestamp or relative (e.g. 42m)")
    p.add_argument("-n", "--tail", default="all", help="Number of lines to show from the end of the logs")
    add_bool(p, "-t", "--timestamps", help="Show timestamps")
    p.add_argument("--until", default="", help="Show logs before a timestamp or relative (e.g. 42m)")


def _exec_flags(p: _Parser) -> None:
    add_bool(p, "-d", "--detach", help="Detached mode: run command in the background")
    p.add_argument("--detach-keys", default="", help="Override the key sequence for detaching a container")
    p.add_argument("-e", "--env", action="append", default=[], help="Set environment variables")
    p.add_argument("--env-file", action="append", default=[], help="Read in a file of environment variables")
    add_bool(p, "-i", "--interactive", help="Keep STDIN open even if not attached")
    add_bool(p, "--privileged", help="Give extended privileges to the command")
    add_bool(p, "-t", "--tty", help="Allocate a pseudo-TTY")
    p.add_argument("-u", "--user", default="", help='Username or UID (format: "<name|uid>[:<group|gid>]")')
    p.add_argument("-w", "--workdir", default="", help="Working directory inside the container")


def _attach_flags(p: _Parser) -> None:
    p.add_argument("--detach-keys", default="", help="Override the key sequence for detaching a container")
    add_bool(p, "--no-stdin", help="Do not attach STDIN")
    add_bool(p, "--sig-proxy", default=True, help="Proxy all received signals to the process")


def _container_inspect_flags(p: _Parser) -> None:
    p.add_argument("-f", "--format", default="", help="Format output using a custom template")
    add_bool(p, "-s", "--size", help="Display total file sizes")


M = "dockyard.cli.commands."
IMAGE_LS = Command(
    "[OPTIONS] [REPOSITORY[:TAG]]", "List images", M + "images:list_images", _images_flags, 0, 1
)
IMAGE_INSPECT = Command(
    "[OPTIONS] IMAGE [IMAGE...]",
    "Display detailed information on one or more images",
    M + "images:inspect_images",
    _image_inspect_flags,
    1,
    None,
)
INSPECT = Command(
    "[OPTIONS] NAME|ID [NAME|ID...]",
    "Return low-level information on Docker objects",
    M + "images:inspect_objects",
    _inspect_flags,
    1,
    None,
)
HISTORY = Command(
    "[OPTIONS] IMAGE", "Show the history of an image", M + "images:history", _history_flags, 1, 1
)
TAG = Command(
    "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
    "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
    M + "images:tag",
    _no_flags,
    2,
    2,
)
IMAGE_RM = Command(
    "[OPTIONS] IMAGE [IMAGE...]", "Remove one or more images", M + "images:remove", _rm_flags, 1, None
)
IMAGE_PRUNE = Command("[OPTIONS]", "Remove unused images", M + "images:prune", _prune_flags, 0, 0)
LOAD = Command(
    "[OPTIONS]", "Load an image from a tar archive or STDIN", M + "transfer:load", _load_flags, 0, 0
)
SAVE = Command(
    "[OPTIONS] IMAGE [IMAGE...]",
    "Save one or more images to a tar archive (streamed to STDOUT by default)",
    M + "transfer:save",
    _save_flags,
    1,
    None,
)
IMPORT = Command(
    "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
    "Import the contents from a tarball to create a filesystem image",
    M + "transfer:import_image",
    _import_flags,
    1,
    2,
)
PULL = Command(
    "[OPTIONS] NAME[:TAG|@DIGEST]", "Download an image from a registry", M + "registry:pull", _pull_flags, 1, 1
)
PUSH = Command("[OPTIONS] NAME[:TAG]", "Upload an image to a registry", M + "registry:push", _push_flags, 1, 1)
LOGIN = Command("[OPTIONS] [SERVER]", "Authenticate to a registry", M + "login:login", _login_flags, 0, 1)
LOGOUT = Command("[SERVER]", "Log out from a registry", M + "login:logout", _no_flags, 0, 1)
VERSION = Command(
    "[OPTIONS]", "Show the dockyard version information", M + "system:version", _format_flag, 0, 0
)
INFO = Command("[OPTIONS]", "Display system-wide information", M + "system:info", _format_flag, 0, 0)
DF = Command("[OPTIONS]", "Show dockyard disk usage", M + "system:df", _df_flags, 0, 0)
CHECK = Command(
    "[OPTIONS]", "Check the data root for inconsistencies", M + "system:check", _check_flags, 0, 0
)
EVENTS = Command(
    "[OPTIONS]", "Get real time events from the server", M + "system:events", _events_flags, 0, 0
)

def _volume_create_flags(p: _Parser) -> None:
    p.add_argument("-d", "--driver", default="local", help="Specify volume driver name")
    p.add_argument("--label", action="append", default=[], help="Set metadata for a volume")
    p.add_argument("-o", "--opt", action="append", default=[], help="Set driver specific options")
    p.add_argument("--name", default="", help=argparse.SUPPRESS)


def _volume_ls_flags(p: _Parser) -> None:
    p.add_argument("-f", "--filter", action="append", default=[], help="Provide filter values (e.g. \"dangling=true\")")
    _format_flag(p)
    add_bool(p, "-q", "--quiet", help="Only display volume names")


def _volume_inspect_flags(p: _Parser) -> None:
    p.add_argument("-f", "--format", default="", help="Format output using a custom template")


def _volume_rm_flags(p: _Parser) -> None:
    add_bool(p, "-f", "--force", help="Force the removal of one or more volumes")


def _volume_prune_flags(p: _Parser) -> None:
    add_bool(p, "-a", "--all", help="Remove all unused volumes, not just anonymous ones")
    p.add_argument("--filter", action="append", default=[], help='Provide filter values (e.g. "label=<label>")')
    add_bool(p, "-f", "--force", help="Do not prompt for confirmation")


V = M + "volumes:"
VOLUME_LS = Command("[OPTIONS]", "List volumes", V + "list_volumes", _volume_ls_flags, 0, 0)
VOLUME_RM = Command("[OPTIONS] VOLUME [VOLUME...]", "Remove one or more volumes", V + "remove", _volume_rm_flags,
                    1, None)
VOLUME_COMMANDS = {
    "create": Command("[OPTIONS] [VOLUME]", "Create a volume", V + "create", _volume_create_flags, 0, 1),
    "inspect": Command("[OPTIONS] VOLUME [VOLUME...]", "Display detailed information on one or more volumes",
                       V + "inspect", _volume_inspect_flags, 1, None),
    "ls": VOLUME_LS, "list": VOLUME_LS,
    "prune": Command("[OPTIONS]", "Remove unused local volumes", V + "prune", _volume_prune_flags, 0, 0),
    "rm": VOLUME_RM, "remove": VOLUME_RM,
}


def _network_create_flags(p: _Parser) -> None:
    add_bool(p, "--attachable", help="Enable manual container attachment")
    p.add_argument("-d", "--driver", default="bridge", help="Driver to manage the Network")
    p.add_argument("--gateway", action="append", default=[], help="IPv4 or IPv6 Gateway for the master subnet")
    add_bool(p, "--internal", help="Restrict external access to the network")
    p.add_argument("--ip-range", action="append", default=[], help="Allocate container ip from a sub-range")
    p.add_argument("--label", action="append", default=[], help="Set metadata on a network")
    p.add_argument("-o", "--opt", action="append", default=[], help="Set driver specific options")
    p.add_argument("--subnet", action="append", default=[],
                   help="Subnet in CIDR format that represents a network segment")


def _network_ls_flags(p: _Parser) -> None:
    p.add_argument("-f", "--filter", action="append", default=[], help='Provide filter values (e.g. "driver=bridge")')
    _format_flag(p)
    add_bool(p, "--no-trunc", help="Do not truncate the output")
    add_bool(p, "-q", "--quiet", help="Only display network IDs")


def _network_inspect_flags(p: _Parser) -> None:
    p.add_argument("-f", "--format", default="", help="Format output using a custom template")
    add_bool(p, "-v", "--verbose", help="Verbose output for diagnostics")


def _network_rm_flags(p: _Parser) -> None:
    add_bool(p, "-f", "--force", help="Do not error if the network does not exist")


def _network_prune_flags(p: _Parser) -> None:
    p.add_argument("--filter", action="append", default=[], help='Provide filter values (e.g. "until=<timestamp>")')
    add_bool(p, "-f", "--force", help="Do not prompt for confirmation")


def _network_connect_flags(p: _Parser) -> None:
    p.add_argument("--alias", action="append", default=[], help="Add network-scoped alias for the container")
    p.add_argument("--driver-opt", action="append", default=[], help="driver options for the network")
    p.add_argument("--ip", default="", help='IPv4 address (e.g., "172.30.100.104")')
    p.add_argument("--ip6", default="", help='IPv6 address (e.g., "2001:db8::33")')
    p.add_argument("--link-local-ip", action="append", default=[], help="Add a link-local address for the container")


def _network_disconnect_flags(p: _Parser) -> None:
    add_bool(p, "-f", "--force", help="Force the container to disconnect from a network")


N = M + "networks:"
NETWORK_LS = Command("[OPTIONS]", "List networks", N + "list_networks", _network_ls_flags, 0, 0)
NETWORK_RM = Command("NETWORK [NETWORK...]", "Remove one or more networks", N + "remove", _network_rm_flags, 1, None)
NETWORK_COMMANDS = {
    "connect": Command("[OPTIONS] NETWORK CONTAINER", "Connect a container to a network", N + "connect",
                       _network_connect_flags, 2, 2),
    "create": Command("[OPTIONS] NETWORK", "Create a network", N + "create", _network_create_flags, 1, 1),
    "disconnect": Command("[OPTIONS] NETWORK CONTAINER", "Disconnect a container from a network", N + "disconnect",
                          _network_disconnect_flags, 2, 2),
    "inspect": Command("[OPTIONS] NETWORK [NETWORK...]", "Display detailed information on one or more networks",
                       N + "inspect", _network_inspect_flags, 1, None),
    "ls": NETWORK_LS, "list": NETWORK_LS,
    "prune": Command("[OPTIONS]", "Remove all unused networks", N + "prune", _network_prune_flags, 0, 0),
    "rm": NETWORK_RM, "remove": NETWORK_RM,
}



# -- compose ---------------------------------------------------------------------------------------
# `dockyard compose [OPTIONS] COMMAND`: the global options may come before the subcommand (as with
# `docker compose -f a.yml up`); resolve_compose lifts them into long hidden flags that every
# compose subcommand also accepts, so the handlers find them in their options.

COMPOSE_USAGE = f"{PROG} compose [OPTIONS] COMMAND"
_COMPOSE_VALUE_FLAGS = {
    "-f": "--file", "--file": "--file", "-p": "--project-name", "--project-name": "--project-name",
    "--project-directory": "--project-directory", "--profile": "--profile", "--env-file": "--env-file",
    "--ansi": "", "--progress": "", "--parallel": "",
}
_COMPOSE_BOOL_FLAGS = {"--compatibility", "--all-resources", "--dry-run"}


def _compose_globals(p: _Parser) -> None:
    p.add_argument("--file", dest="compose_files", action="append", default=[], help=argparse.SUPPRESS)
    p.add_argument("--project-name", default="", help=argparse.SUPPRESS)
    p.add_argument("--project-directory", default="", help=argparse.SUPPRESS)
    p.add_argument("--profile", dest="profiles", action="append", default=[], help=argparse.SUPPRESS)
    p.add_argument("--env-file", dest="env_files", action="append", default=[], help=argparse.SUPPRESS)
    p.add_argument("--dry-run", dest="dry_run", action="store_true", default=False, help=argparse.SUPPRESS)


def _compose(flags: Callable[[_Parser], None]) -> Callable[[_Parser], None]:
    def configure(p: _Parser) -> None:
        _compose_globals(p)
        flags(p)

    return configure


def _compose_timeout(p: _Parser) -> None:
    p.add_argument("-t", "--timeout", type=int, default=None, help="Specify a shutdown timeout in seconds")


def _compose_up_flags(p: _Parser) -> None:
    add_bool(p, "--abort-on-container-exit", help="Stops all containers if any container was stopped")
    add_bool(p, "--always-recreate-deps", help="Recreate dependent containers. Incompatible with --no-recreate.")
    add_bool(p, "--build", help="Build images before starting containers (not supported yet; --no-build is accepted)")
    add_bool(p, "-d", "--detach", help="Detached mode: Run containers in the background")
    p.add_argument("--exit-code-from", default="", help="Return the exit code of the selected service container")
    add_bool(p, "--force-recreate", help="Recreate containers even if their configuration and image haven't changed")
    add_bool(p, "--no-color", help="Produce monochrome output")
    add_bool(p, "--no-deps", help="Don't start linked services")
    add_bool(p, "--no-log-prefix", help="Don't print prefix in logs")
    add_bool(p, "--no-recreate", help="If containers already exist, don't recreate them")
    add_bool(p, "--no-start", help="Don't start the services after creating them")
    p.add_argument("--pull", default="", help='Pull image before running ("always"|"missing"|"never")')
    add_bool(p, "--quiet-pull", help="Pull without printing progress information")
    add_bool(p, "--remove-orphans", help="Remove containers for services not defined in the Compose file")
    add_bool(p, "-V", "--renew-anon-volumes", help="Recreate anonymous volumes instead of retrieving data from the "
             "previous containers")
    p.add_argument("--scale", action="append", default=[], help="Scale SERVICE to NUM instances")
    _compose_timeout(p)
    add_bool(p, "--wait", help="Wait for services to be running|healthy. Implies detached mode.")
    p.add_argument("--wait-timeout", type=int, default=None, help="Maximum duration in seconds to wait for the "
                   "project to be running|healthy")
    add_bool(p, "-y", "--yes", help=argparse.SUPPRESS)


def _compose_down_flags(p: _Parser) -> None:
    add_bool(p, "--remove-orphans", help="Remove containers for services not defined in the Compose file")
    p.add_argument("--rmi", default="", help='Remove images used by services. "local" remove only images that '
                   "don't have a custom tag")
    _compose_timeout(p)
    add_bool(p, "-v", "--volumes", help="Remove named volumes declared in the \"volumes\" section of the Compose "
             "file and anonymous volumes attached to containers")


def _compose_ps_flags(p: _Parser) -> None:
    add_bool(p, "-a", "--all", help="Show all stopped containers (including those created by the run command)")
    p.add_argument("--filter", action="append", default=[], help="Filter services by a property (supported "
                   "filters: status)")
    p.add_argument("--format", default="table", help="Format output using a custom template")
    add_bool(p, "--no-trunc", help="Don't truncate output")
    add_bool(p, "--orphans", default=True, help="Include orphaned services (not declared by project)")
    add_bool(p, "-q", "--quiet", help="Only display IDs")
    add_bool(p, "--services", help="Display services")
    p.add_argument("--status", action="append", default=[], help="Filter services by status")


def _compose_logs_flags(p: _Parser) -> None:
    add_bool(p, "-f", "--follow", help="Follow log output")
    p.add_argument("--index", type=int, default=0, help="index of the container if service has multiple replicas")
    add_bool(p, "--no-color", help="Produce monochrome output")
    add_bool(p, "--no-log-prefix", help="Don't print prefix in logs")
    p.add_argument("--since", default="", help="Show logs since timestamp or relative (e.g. 42m for 42 minutes)")
    p.add_argument("-n", "--tail", default="all", help="Number of lines to show from the end of the logs")
    add_bool(p, "-t", "--timestamps", help="Show timestamps")
    p.add_argument("--until", default="", help="Show logs before a timestamp or relative (e.g. 42m for 42 minutes)")


def _compose_restart_flags(p: _Parser) -> None:
    add_bool(p, "--no-deps", help="Don't restart dependent services")
    _compose_timeout(p)


def _compose_rm_flags(p: _Parser) -> None:
    add_bool(p, "-f", "--force", help="Don't ask to confirm removal")
    add_bool(p, "-s", "--stop", help="Stop the containers, if required, before removing")
    add_bool(p, "-v", "--volumes", help="Remove any anonymous volumes attached to containers")


def _compose_exec_flags(p: _Parser) -> None:
    add_bool(p, "-d", "--detach", help="Detached mode: Run command in the background")
    p.add_argument("-e", "--env", action="append", default=[], help="Set environment variables")
    p.add_argument("--index", type=int, default=0, help="Index of the container if service has multiple replicas")
    add_bool(p, "-i", "--interactive", default=True, help=argparse.SUPPRESS)
    add_bool(p, "-T", "--no-TTY", help="Disable pseudo-TTY allocation. By default docker compose exec allocates a "
             "TTY.")
    add_bool(p, "--privileged", help="Give extended privileges to the process")
    add_bool(p, "-t", "--tty", default=True, help=argparse.SUPPRESS)
    p.add_argument("-u", "--user", default="", help="Run the command as this user")
    p.add_argument("-w", "--workdir", default="", help="Path to workdir directory for this command")


def _compose_config_flags(p: _Parser) -> None:
    p.add_argument("--format", default="yaml", help='Format the output. Values: [yaml | json]')
    add_bool(p, "--images", help="Print the image names, one per line")
    add_bool(p, "--no-interpolate", help=argparse.SUPPRESS)
    p.add_argument("-o", "--output", default="", help="Save to file (default to stdout)")
    add_bool(p, "--profiles", help="Print the profile names, one per line")
    add_bool(p, "-q", "--quiet", help="Only validate the configuration, don't print anything")
    add_bool(p, "--services", help="Print the service names, one per line")
    add_bool(p, "--volumes", help="Print the volume names, one per line")


def _compose_pull_flags(p: _Parser) -> None:
    add_bool(p, "--ignore-pull-failures", help="Pull what it can and ignores images with pull failures")
    add_bool(p, "--include-deps", help="Also pull services declared as dependencies")
    add_bool(p, "-q", "--quiet", help="Pull without printing progress information")


def _compose_version_flags(p: _Parser) -> None:
    p.add_argument("-f", "--format", default="", help='Format the output. Values: [pretty | json]')
    add_bool(p, "--short", help="Shows only Compose's version number")


def _compose_kill_flags(p: _Parser) -> None:
    add_bool(p, "--remove-orphans", help="Remove containers for services not defined in the Compose file")
    p.add_argument("-s", "--signal", default="SIGKILL", help='SIGNAL to send to the container')


def _compose_port_flags(p: _Parser) -> None:
    p.add_argument("--index", type=int, default=0, help="Index of the container if service has multiple replicas")
    p.add_argument("--protocol", default="tcp", help="tcp or udp")


CO = M + "compose:"
COMPOSE_COMMANDS: dict[str, Command] = {
    "config": Command("[OPTIONS] [SERVICE...]", "Parse, resolve and render compose file in canonical format",
                      CO + "config", _compose(_compose_config_flags), 0, None),
    "down": Command("[OPTIONS] [SERVICES]", "Stop and remove containers, networks", CO + "down",
                    _compose(_compose_down_flags), 0, None),
    "exec": Command("[OPTIONS] SERVICE COMMAND [ARGS...]", "Execute a command in a running container",
                    CO + "exec_", _compose(_compose_exec_flags), 2, None, interspersed=False),
    "kill": Command("[OPTIONS] [SERVICE...]", "Force stop service containers", CO + "kill",
                    _compose(_compose_kill_flags), 0, None),
    "logs": Command("[OPTIONS] [SERVICE...]", "View output from containers", CO + "logs",
                    _compose(_compose_logs_flags), 0, None),
    "port": Command("[OPTIONS] SERVICE PRIVATE_PORT", "Print the public port for a port binding", CO + "port",
                    _compose(_compose_port_flags), 2, 2),
    "ps": Command("[OPTIONS] [SERVICE...]", "List containers", CO + "ps", _compose(_compose_ps_flags), 0, None),
    "pull": Command("[OPTIONS] [SERVICE...]", "Pull service images", CO + "pull", _compose(_compose_pull_flags),
                    0, None),
    "restart": Command("[OPTIONS] [SERVICE...]", "Restart service containers", CO + "restart",
                       _compose(_compose_restart_flags), 0, None),
    "rm": Command("[OPTIONS] [SERVICE...]", "Removes stopped service containers", CO + "rm",
                  _compose(_compose_rm_flags), 0, None),
    "start": Command("[SERVICE...]", "Start services", CO + "start", _compose(_no_flags), 0, None),
    "stop": Command("[OPTIONS] [SERVICE...]", "Stop services", CO + "stop", _compose(_compose_timeout), 0, None),
    "up": Command("[OPTIONS] [SERVICE...]", "Create and start containers", CO + "up", _compose(_compose_up_flags),
                  0, None),
    "version": Command("[OPTIONS]", "Show the Docker Compose version information", CO + "version",
                       _compose(_compose_version_flags), 0, 0),
}


def compose_help() -> str:
    lines = [f"\nUsage:  {COMPOSE_USAGE}\n", "Define and run multi-container applications with Docker Compose\n",
             "Options:",
             "      --env-file stringArray       Specify an alternate environment file",
             "  -f, --file stringArray           Compose configuration files",
             "      --profile stringArray        Specify a profile to enable",
             "      --project-directory string   Specify an alternate working directory",
             "                                   (default: the path of the, first specified, Compose file)",
             "  -p, --project-name string        Project name",
             "\nCommands:"]
    for name, cmd in sorted(COMPOSE_COMMANDS.items()):
        lines.append(f"  {name:<11} {cmd.summary}")
    lines.append(f"\nRun '{PROG} compose COMMAND --help' for more information on a command.")
    return "\n".join(lines) + "\n"


def _compose_usage_error(message: str) -> UsageError:
    return UsageError(f"{message}\n\nUsage:  {COMPOSE_USAGE}\n\nRun '{PROG} compose --help' for more information")


def resolve_compose(rest: Sequence[str]) -> tuple[str, Command, list[str]] | str:
    """``compose [OPTIONS] COMMAND …``: the subcommand, with the global options moved after it."""
    lifted: list[str] = []
    i = 0
    while i < len(rest):
        arg = rest[i]
        if arg in ("-h", "--help"):
            return compose_help()
        if arg in ("-v", "--version"):
            return "compose version", COMPOSE_COMMANDS["version"], lifted
        if not arg.startswith("-") or arg == "-":
            break
        name, eq, value = arg.partition("=")
        if name in _COMPOSE_BOOL_FLAGS and not eq:
            if name == "--dry-run":
                lifted.append(name)
            i += 1
            continue
        if name not in _COMPOSE_VALUE_FLAGS and len(arg) > 2 and arg[:2] in _COMPOSE_VALUE_FLAGS:
            name, eq, value = arg[:2], "=", arg[2:].removeprefix("=")  # -fcompose.yml, -p=name
        if name not in _COMPOSE_VALUE_FLAGS:
            raise _compose_usage_error(f"unknown flag: {name}")
        if not eq:
            if i + 1 >= len(rest):
                raise _compose_usage_error(f"flag needs an argument: {arg}")
            value = rest[i + 1]
            i += 1
        if _COMPOSE_VALUE_FLAGS[name]:
            lifted.append(f"{_COMPOSE_VALUE_FLAGS[name]}={value}")
        i += 1
    if i >= len(rest):
        return compose_help()
    sub = rest[i]
    if sub not in COMPOSE_COMMANDS:
        raise UsageError(f"{PROG}: unknown command: {PROG} compose {sub}\n\nUsage:  {COMPOSE_USAGE}\n\n"
                         f"Run '{PROG} compose --help' for more information", status=1)
    return f"compose {sub}", COMPOSE_COMMANDS[sub], [*lifted, *rest[i + 1:]]


C = M + "containers:"
R = M + "run:"
RUN = Command("[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create and run a new container from an image",
              R + "run", _run_flags, 1, None, interspersed=False, short_help=False)
CREATE = Command("[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container", R + "create", _create_flags,
                 1, None, interspersed=False, short_help=False)
START = Command("[OPTIONS] CONTAINER [CONTAINER...]", "Start one or more stopped containers", R + "start",
                _start_flags, 1, None)
STOP = Command("[OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers", C + "stop",
               _stop_flags, 1, None)
RESTART = Command("[OPTIONS] CONTAINER [CONTAINER...]", "Restart one or more containers", C + "restart",
                  _stop_flags, 1, None)
KILL = Command("[OPTIONS] CONTAINER [CONTAINER...]", "Kill one or more running containers", C + "kill",
               _kill_flags, 1, None)
CONTAINER_RM = Command("[OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers", C + "remove",
                       _container_rm_flags, 1, None)
PAUSE = Command("CONTAINER [CONTAINER...]", "Pause all processes within one or more containers", C + "pause",
                _no_flags, 1, None)
UNPAUSE = Command("CONTAINER [CONTAINER...]", "Unpause all processes within one or more containers",
                  C + "unpause", _no_flags, 1, None)
WAIT = Command("CONTAINER [CONTAINER...]", "Block until one or more containers stop, then print their exit codes",
               C + "wait", _no_flags, 1, None)
PS = Command("[OPTIONS]", "List containers", C + "ps", _ps_flags, 0, 0)
LOGS = Command("[OPTIONS] CONTAINER", "Fetch the logs of a container", C + "logs", _logs_flags, 1, 1)
EXEC = Command("[OPTIONS] CONTAINER COMMAND [ARG...]", "Execute a command in a running container", R + "exec_",
               _exec_flags, 2, None, interspersed=False)
ATTACH = Command("[OPTIONS] CONTAINER",
                 "Attach local standard input, output, and error streams to a running container",
                 R + "attach", _attach_flags, 1, 1)
CONTAINER_INSPECT = Command("[OPTIONS] CONTAINER [CONTAINER...]",
                            "Display detailed information on one or more containers", C + "inspect_containers",
                            _container_inspect_flags, 1, None)
RENAME = Command("CONTAINER NEW_NAME", "Rename a container", C + "rename", _no_flags, 2, 2)
UPDATE = Command("[OPTIONS] CONTAINER [CONTAINER...]", "Update configuration of one or more containers",
                 M + "update:update", _update_flags, 1, None)
TOP = Command("CONTAINER [ps OPTIONS]", "Display the running processes of a container", C + "top", _no_flags,
              1, None, interspersed=False)
EXPORT = Command("[OPTIONS] CONTAINER", "Export a container's filesystem as a tar archive",
                 M + "transfer:export", _export_flags, 1, 1)
COMMIT = Command("[OPTIONS] CONTAINER [REPOSITORY[:TAG]]", "Create a new image from a container's changes",
                 M + "images:commit", _commit_flags, 1, 2)
CP = Command("[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tdockyard cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
             "Copy files/folders between a container and the local filesystem", M + "cp:cp", _cp_flags, 2, 2)
STATS = Command("[OPTIONS] [CONTAINER...]", "Display a live stream of container(s) resource usage statistics",
                M + "stats:stats", _stats_flags, 0, None)
DIFF = Command("CONTAINER", "Inspect changes to files or directories on a container's filesystem", C + "diff",
               _no_flags, 1, 1)

TOP_LEVEL: dict[str, Command] = {
    "attach": ATTACH,
    "commit": COMMIT,
    "cp": CP,
    "create": CREATE,
    "diff": DIFF,
    "exec": EXEC,
    "export": EXPORT,
    "kill": KILL,
    "logs": LOGS,
    "pause": PAUSE,
    "ps": PS,
    "rename": RENAME,
    "restart": RESTART,
    "rm": CONTAINER_RM,
    "run": RUN,
    "start": START,
    "stats": STATS,
    "stop": STOP,
    "top": TOP,
    "unpause": UNPAUSE,
    "update": UPDATE,
    "wait": WAIT,
    "events": EVENTS,
    "history": HISTORY,
    "images": IMAGE_LS,
    "import": IMPORT,
    "info": INFO,
    "inspect": INSPECT,
    "load": LOAD,
    "login": LOGIN,
    "logout": LOGOUT,
    "pull": PULL,
    "push": PUSH,
    "rmi": IMAGE_RM,
    "save": SAVE,
    "tag": TAG,
    "version": VERSION,
}

MANAGEMENT: dict[str, tuple[str, dict[str, Command]]] = {
    "container": (
        "Manage containers",
        {
            "attach": ATTACH,
            "create": CREATE,
            "exec": EXEC,
            "commit": COMMIT,
            "cp": CP,
            "diff": DIFF,
            "export": EXPORT,
            "inspect": CONTAINER_INSPECT,
            "kill": KILL,
            "logs": LOGS,
            "ls": PS,
            "list": PS,
            "ps": PS,
            "pause": PAUSE,
            "rename": RENAME,
            "restart": RESTART,
            "rm": CONTAINER_RM,
            "remove": CONTAINER_RM,
            "run": RUN,
            "start": START,
            "stats": STATS,
            "stop": STOP,
            "top": TOP,
            "unpause": UNPAUSE,
            "update": UPDATE,
            "wait": WAIT,
        },
    ),
    "image": (
        "Manage images",
        {
            "history": HISTORY,
            "import": IMPORT,
            "inspect": IMAGE_INSPECT,
            "load": LOAD,
            "ls": IMAGE_LS,
            "list": IMAGE_LS,
            "prune": IMAGE_PRUNE,
            "pull": PULL,
            "push": PUSH,
            "rm": IMAGE_RM,
            "remove": IMAGE_RM,
            "save": SAVE,
            "tag": TAG,
        },
    ),
    "compose": ("Docker Compose", COMPOSE_COMMANDS),
    "network": ("Manage networks", NETWORK_COMMANDS),
    "system": ("Manage dockyard", {"check": CHECK, "df": DF, "events": EVENTS, "info": INFO}),
    "volume": ("Manage volumes", VOLUME_COMMANDS),
}

_ALIASES = {"list", "remove", "ps"}


@dataclass(frozen=True)
class GlobalOptions:
    host: str | None
    debug: bool
    show_version: bool
    show_help: bool
    rest: tuple[str, ...]


GLOBAL_USAGE = f"{PROG} [OPTIONS] COMMAND [ARG...]"


def parse_global(argv: Sequence[str]) -> GlobalOptions:
    """Global flags come before the command, as with docker."""
    host: str | None = None
    debug = show_version = show_help = False
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--" or not arg.startswith("-") or arg == "-":
            break
        if arg in ("-H", "--host"):
            if i + 1 >= len(argv):
                raise UsageError(
                    f"flag needs an argument: {arg}\n\nUsage:  {GLOBAL_USAGE}\n\n"
                    f"Run '{PROG} --help' for more information"
                )
            host = argv[i + 1]
            i += 2
            continue
        if arg.startswith("--host="):
            host = arg.split("=", 1)[1]
        elif arg.startswith("-H") and len(arg) > 2:
            host = arg[2:].lstrip("=")
        elif arg in ("-D", "--debug"):
            debug = True
        elif arg in ("-v", "--version"):
            show_version = True
        elif arg in ("-h", "--help"):
            show_help = True
        elif arg.startswith(("--log-level", "-l")):
            if "=" not in arg:
                i += 1
        else:
            raise UsageError(
                f"unknown flag: {arg}\n\nUsage:  {GLOBAL_USAGE}\n\nRun '{PROG} --help' for more information"
            )
        i += 1
    return GlobalOptions(host, debug, show_version, show_help, tuple(argv[i:]))


def top_help() -> str:
    lines = [
        f"\nUsage:  {GLOBAL_USAGE}\n",
        "A self-sufficient runtime for containers\n",
        "Management Commands:",
    ]
    for name, (summary, _) in sorted(MANAGEMENT.items()):
        lines.append(f"  {name:<11} {summary}")
    lines.append("\nCommands:")
    for name, cmd in sorted(TOP_LEVEL.items()):
        lines.append(f"  {name:<11} {cmd.summary}")
    lines += [
        "\nGlobal Options:",
        "  -D, --debug              Enable debug mode",
        "  -H, --host string        Daemon socket to connect to",
        "  -v, --version            Print version information and quit",
        f"\nRun '{PROG} COMMAND --help' for more information on a command.",
    ]
    return "\n".join(lines) + "\n"


def management_help(group: str) -> str:
    summary, commands = MANAGEMENT[group]
    lines = [f"Usage:  {PROG} {group} COMMAND\n", f"{summary}\n", "Commands:"]
    for name, cmd in sorted(commands.items()):
        if name not in _ALIASES:
            lines.append(f"  {name:<11} {cmd.summary}")
    lines.append(f"\nRun '{PROG} {group} COMMAND --help' for more information on a command.")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Invocation:
    path: str  # "images", "image ls"
    command: Command
    options: argparse.Namespace
    args: list[str]


def resolve(rest: Sequence[str]) -> tuple[str, Command, list[str]] | str:
    """The command named by ``rest`` and its arguments; or a help text to print."""
    if not rest:
        return top_help()
    name = rest[0]
    if name == "compose":
        return resolve_compose(rest[1:])
    if name in MANAGEMENT:
        _, commands = MANAGEMENT[name]
        if len(rest) == 1 or rest[1] in ("-h", "--help"):
            return management_help(name)
        sub = rest[1]
        if sub not in commands:
            raise UsageError(
                f"{PROG}: unknown command: {PROG} {name} {sub}\n\nUsage:  {PROG} {name}\n\n"
                f"Run '{PROG} {name} --help' for more information",
                status=1,
            )
        return f"{name} {sub}", commands[sub], list(rest[2:])
    if name in TOP_LEVEL:
        return name, TOP_LEVEL[name], list(rest[1:])
    raise UsageError(
        f"{PROG}: unknown command: {PROG} {name}\n\nRun '{PROG} --help' for more information", status=1
    )


def split_at_first_argument(parser: argparse.ArgumentParser, argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """Cobra's SetInterspersed(false): (flags, [first argument and everything after it])."""
    actions = parser._option_string_actions
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            return list(argv[:i]), list(argv[i + 1 :])
        if not token.startswith("-") or token == "-":
            return list(argv[:i]), list(argv[i:])
        if token.startswith("--"):
            name = token.split("=", 1)[0]
            action = actions.get(name)
            if action is None:
                # Let argparse report it (or resolve an abbreviation) with the rest as flags.
                matches = [a for n, a in actions.items() if n.startswith(name)]
                action = matches[0] if len(matches) == 1 else None
            if "=" not in token and action is not None and action.nargs != 0:
                i += 1
            i += 1
            continue
        # Short flags, possibly combined: -it, -dp 80:80, -eA=B.
        for pos in range(1, len(token)):
            action = actions.get("-" + token[pos])
            if action is None:
                break
            if action.nargs != 0:
                if pos == len(token) - 1:
                    i += 1
                break
        i += 1
    return list(argv), []


def _plural(n: int) -> str:
    return f"{n} argument" + ("" if n == 1 else "s")


def parse_command(path: str, command: Command, argv: Sequence[str]) -> Invocation:
    """Parse the flags and check the argument count of one command."""
    usage_line = f"{PROG} {path} {command.usage}"
    parser = _Parser(
        prog=f"{PROG} {path}",
        usage_line=usage_line,
        usage=usage_line,
        description=command.summary,
        add_help=command.short_help,
    )
    if not command.short_help:
        parser.add_argument("--help", action="help", help="Print usage")
    command.configure(parser)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    tail: list[str] = []
    if not command.interspersed:
        argv, tail = split_at_first_argument(parser, argv)
    tokens: list[str] = []
    for token in argv:
        name, eq, value = token.partition("=")
        if eq and name in parser.bool_flags and value.lower() in ("true", "false", "1", "0"):
            tokens.append(name if value.lower() in ("true", "1") else f"--no-{name[2:]}")
        else:
            tokens.append(token)
    options = parser.parse_intermixed_args(tokens)
    args: list[str] = list(options.args) + tail
    count = len(args)
    problem = ""
    if command.min_args == command.max_args and count != command.min_args:
        problem = f"requires {_plural(command.min_args)}" if command.min_args else "accepts no arguments"
    elif count < command.min_args:
        problem = f"requires at least {_plural(command.min_args)}"
    elif command.max_args is not None and count > command.max_args:
        problem = f"requires at most {_plural(command.max_args)}"
    if problem:
        raise UsageError(
            f"{PROG}: '{PROG} {path}' {problem}\n\nUsage:  {usage_line}\n\n"
            f"Run '{PROG} {path} --help' for more information",
            status=1,
        )
    return Invocation(path, command, options, args)


__all__ = [
    "COMPOSE_COMMANDS",
    "GLOBAL_USAGE",
    "MANAGEMENT",
    "PROG",
    "TOP_LEVEL",
    "Command",
    "GlobalOptions",
    "Invocation",
    "management_help",
    "split_at_first_argument",
    "parse_command",
    "parse_global",
    "resolve",
    "resolve_compose",
    "top_help",
]
