"""``--user`` and ``--group-add`` resolution against the image's /etc/passwd and /etc/group.

The rules are libcontainer's (what Docker uses): ``user[:group]`` where either part is a name or a
number; a number needs no entry; the first matching line wins; supplementary groups come from
/etc/group membership only when no group was given explicitly. A missing file is not an error
unless a name has to be looked up in it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Protocol

from dockyard.errors import InvalidArgument

MIN_ID = 0
MAX_ID = 2**31 - 1


class PasswdReader(Protocol):
    """Reads the container image's account files; None when the file does not exist."""

    def read_passwd(self) -> str | None: ...

    def read_group(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class RootfsPasswdReader:
    """Reads ``<rootfs>/etc/passwd`` and ``/etc/group``, symlinks resolved inside the rootfs."""

    rootfs: str

    def _read(self, name: str) -> str | None:
        from dockyard.archive.securejoin import secure_join

        try:
            with open(secure_join(self.rootfs, name), encoding="utf-8", errors="replace") as f:
                return f.read()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        except OSError as exc:
            if not os.path.exists(self.rootfs):
                return None
            raise InvalidArgument(f"cannot read {name}: {exc}") from exc

    def read_passwd(self) -> str | None:
        return self._read("/etc/passwd")

    def read_group(self) -> str | None:
        return self._read("/etc/group")


@dataclass(frozen=True, slots=True)
class PasswdEntry:
    name: str
    uid: int
    gid: int
    home: str


@dataclass(frozen=True, slots=True)
class GroupEntry:
    name: str
    gid: int
    members: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ExecUser:
    """The resolved process identity: uid, primary gid, supplementary gids, home directory."""

    uid: int = 0
    gid: int = 0
    additional_gids: tuple[int, ...] = ()
    home: str = "/"


def _atoi(text: str) -> int | None:
    t = text.strip()
    if t.startswith(("+", "-")):
        sign, digits = t[0], t[1:]
    else:
        sign, digits = "", t
    if not digits.isdigit():
        return None
    return int(sign + digits)


def parse_passwd(text: str | None) -> list[PasswdEntry]:
    out = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(":")
        parts += [""] * (7 - len(parts))
        uid, gid = _atoi(parts[2]) or 0, _atoi(parts[3]) or 0
        out.append(PasswdEntry(parts[0], uid, gid, parts[5]))
    return out


def parse_group(text: str | None) -> list[GroupEntry]:
    out = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(":")
        parts += [""] * (4 - len(parts))
        members = tuple(m for m in parts[3].split(",") if m)
        out.append(GroupEntry(parts[0], _atoi(parts[2]) or 0, members))
    return out


def _range(value: int) -> int:
    if value < MIN_ID or value > MAX_ID:
        raise InvalidArgument("uids and gids must be in range 0-2147483647")
    return value


def resolve_user(spec: str, reader: PasswdReader, group_add: tuple[str, ...] = ()) -> ExecUser:
    """Resolve ``spec`` (``""``, ``name``, ``uid``, ``name:group``, ``uid:gid``…) and ``group_add``.

    ``additional_gids`` is Docker's list: the primary gid, then the supplementary groups from
    /etc/group, then the ``--group-add`` ones (duplicates dropped, order kept).
    """
    user_arg, _, group_arg = spec.partition(":")
    user_arg, group_arg = user_arg.strip(), group_arg.strip()
    uid_num, gid_num = _atoi(user_arg), _atoi(group_arg)
    passwd_text = reader.read_passwd()
    users = parse_passwd(passwd_text)

    uid, gid, home = 0, 0, "/"
    if user_arg == "":
        match = next((u for u in users if u.uid == 0), None)
    elif uid_num is not None:
        match = next((u for u in users if u.uid == uid_num), None)
    else:
        match = next((u for u in users if u.name == user_arg), None)
    if match is not None:
        uid, gid, home = match.uid, match.gid, match.home
    elif user_arg != "":
        if uid_num is None:
            raise InvalidArgument(f"unable to find user {user_arg}: no matching entries in passwd file")
        uid = _range(uid_num)

    sgids: list[int] = []
    group_text: str | None = None
    if group_arg or match is not None:
        group_text = reader.read_group()
        groups = parse_group(group_text)
        if group_arg:
            if gid_num is not None:
                found = next((g for g in groups if g.gid == gid_num), None)
            else:
                found = next((g for g in groups if g.name == group_arg), None)
            if found is not None:
                gid = found.gid
            elif gid_num is None:
                raise InvalidArgument(f"unable to find group {group_arg}: no matching entries in group file")
            else:
                gid = _range(gid_num)
        else:
            assert match is not None
            sgids = [g.gid for g in groups if match.name in g.members]

    extra: list[int] = []
    if group_add:
        if group_text is None:
            group_text = reader.read_group()
        extra = _additional_groups(group_add, parse_group(group_text))

    gids: list[int] = []
    for g in (gid, *sgids, *extra):
        if g not in gids:
            gids.append(g)
    return ExecUser(uid, gid, tuple(gids), home or "/")


def _additional_groups(wanted: tuple[str, ...], groups: list[GroupEntry]) -> list[int]:
    out: list[int] = []
    for name in wanted:
        found = next((g for g in groups if g.name == name or str(g.gid) == name), None)
        if found is not None:
            gid = found.gid
        else:
            num = _atoi(name)
            if num is None:
                raise InvalidArgument(f"Unable to find group {name}: no matching entries in group file")
            gid = _range(num)
        if gid not in out:
            out.append(gid)
    return out


__all__ = [
    "ExecUser", "GroupEntry", "PasswdEntry", "PasswdReader", "RootfsPasswdReader", "parse_group", "parse_passwd",
    "resolve_user",
]
