"""``exec --detach`` as a call, for a long-lived caller that runs many execs in one container.

The runtime command reads and parses config.json and loads the seccomp program for every exec, in
a process of its own. The shim keeps an Executor per container instead: the spec and the program
are loaded once (again only when config.json changes), and the exec's intermediate process is
forked from the caller with the new process's stdio handed over directly.
"""

from __future__ import annotations

import os

from dockyard.errors import DockyardError, InvalidArgument
from dockyard.runtime import capabilities, jsonfast, lifecycle
from dockyard.runtime._json import Node
from dockyard.runtime.create import ExecOptions, compile_seccomp, exec_with_filter
from dockyard.runtime.spec import _process
from dockyard.runtime.state import StateDir
from dockyard.runtime.sync import ContainerSetupError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.runtime.spec import Spec


def check_can_exec(status: str) -> None:
    if status != "running":
        raise InvalidArgument(f"cannot exec in a {status} container")


def exec_failure_text(exc: BaseException) -> tuple[str, int]:
    """``failure_text`` of an exec: a failure inside the container reads "exec failed: …", as runc's."""
    text, code = failure_text(exc)
    return (f"exec failed: {text}" if isinstance(exc, ContainerSetupError) else text), code


def failure_text(exc: BaseException) -> tuple[str, int]:
    """What the runtime command prints for a failure, and its exit status."""
    if isinstance(exc, DockyardError):  # ExecError and ContainerSetupError carry their exit code
        return str(exc), int(getattr(exc, "exit_code", 1))
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""), 1
    return str(exc), 1


class Executor:
    def __init__(self, root: str, container_id: str) -> None:
        self.sd = StateDir(root, container_id)
        capabilities.last_cap()  # read here once, not in every exec's forked processes
        self._stamp: tuple[int, int, int] | None = None
        self._spec: Spec | None = None
        self._bpf: bytes | None = None

    def exec(self, process_path: str, *, stdio: tuple[int, int, int], console_socket: str | None) -> int:
        """Start the process described by ``process_path`` (process.json); returns its host pid."""
        state = self.sd.load()
        check_can_exec(self.sd.status(state))
        spec, bpf = self._loaded()
        with open(process_path, "rb") as f:
            process = _process(Node(jsonfast.loads(f.read()), "$process"))
        opts = ExecOptions(process=process, console_socket=console_socket, stdio=stdio)
        return exec_with_filter(self.sd, state, spec, opts, bpf)

    def _loaded(self) -> tuple[Spec, bytes | None]:
        st = os.stat(self.sd.config)
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if self._spec is None or stamp != self._stamp:
            spec = lifecycle.load_spec(self.sd)
            self._bpf = compile_seccomp(spec.linux.seccomp, self.sd.root)
            self._spec, self._stamp = spec, stamp
        return self._spec, self._bpf
