"""How failures to start the user's process read: runc's words, which Docker users know."""

from __future__ import annotations

import errno

from dockyard.errors import InvalidArgument
from dockyard.runtime.executor import exec_failure_text, failure_text
from dockyard.runtime.process import go_error_text
from dockyard.runtime.sync import ContainerSetupError


def test_process_start_steps_read_as_runc() -> None:
    err = ContainerSetupError("looking up the executable", 0, 'exec: "nosuch": executable file not found in $PATH', 127)
    assert str(err) == 'unable to start container process: exec: "nosuch": executable file not found in $PATH'
    assert str(ContainerSetupError("changing to the working directory", 2,
                                   'chdir to cwd ("/n") set in config.json failed: no such file or directory')) == \
        'unable to start container process: chdir to cwd ("/n") set in config.json failed: no such file or directory'


def test_go_error_text_is_strerror_in_lower_case() -> None:
    assert go_error_text(OSError(errno.EPERM, "capset: Operation not permitted")) == "operation not permitted"
    assert go_error_text(OSError(errno.ENOENT, "No such file or directory", "/x")) == "no such file or directory"


def test_other_steps_name_the_step() -> None:
    assert str(ContainerSetupError("mounting /data", errno.ENOENT, "/src: No such file or directory")) == \
        "mounting /data: /src: No such file or directory"


def test_exec_failures_are_prefixed_like_runc_exec() -> None:
    err = ContainerSetupError("looking up the executable", 0, 'exec: "x": executable file not found in $PATH', 127)
    assert exec_failure_text(err) == \
        ('exec failed: unable to start container process: exec: "x": executable file not found in $PATH', 127)
    # failures before the container is entered keep their own words
    assert exec_failure_text(InvalidArgument("cannot exec in a paused container")) == \
        ("cannot exec in a paused container", 1)
    assert failure_text(OSError(errno.ENOENT, "No such file or directory", "/run/x")) == \
        ("No such file or directory: /run/x", 1)
