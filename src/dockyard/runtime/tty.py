"""Terminals: the pty is made inside the container and its master handed over --console-socket.

The protocol is runc's: one SCM_RIGHTS message carrying the master fd, with the pty path as data.
"""

from __future__ import annotations

import _socket
import fcntl
import os
import struct
import termios


def connect_console_socket(path: str) -> _socket.socket:
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        raise
    return sock


def set_size(fd: int, height: int, width: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))


def setup_terminal(console: _socket.socket, size: tuple[int, int] | None) -> None:
    """In the init: new pty, master → console socket, slave → controlling tty, stdio and /dev/console."""
    master, slave = os.openpty()
    try:
        if size is not None:
            set_size(slave, *size)
        console.sendmsg([b"/dev/ptmx"], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, struct.pack("i", master))])
    finally:
        os.close(master)
        console.close()
    _mount_console(slave)
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    if slave > 2:
        os.close(slave)


def _mount_console(slave: int) -> None:
    from dockyard.sys import mount as m

    try:
        name = os.ttyname(slave)
    except OSError:
        return
    target = "/dev/console"
    try:
        if not os.path.lexists(target):
            os.close(os.open(target, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600))
        m.mount(name, target, "bind", m.MS_BIND)
    except OSError:
        pass  # /dev may be read-only; the console is a convenience


def recv_console(sock: _socket.socket) -> int:
    """The receiving side (used by tests and by callers without their own socket code)."""
    _, ancdata, _, _ = sock.recvmsg(4096, _socket.CMSG_SPACE(struct.calcsize("i")))
    for level, kind, data in ancdata:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            return int(struct.unpack("i", data[: struct.calcsize("i")])[0])
    raise OSError(71, "no file descriptor received on the console socket")
