"""Mount option strings → mount(2) flags, propagation flags and filesystem data."""

from __future__ import annotations

from dockyard.sys import mount as m

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dataclasses import dataclass
else:
    from dockyard.runtime._record import record as dataclass

# option: (clear?, flag)
_FLAGS: dict[str, tuple[bool, int]] = {
    "ro": (False, m.MS_RDONLY), "rw": (True, m.MS_RDONLY),
    "nosuid": (False, m.MS_NOSUID), "suid": (True, m.MS_NOSUID),
    "nodev": (False, m.MS_NODEV), "dev": (True, m.MS_NODEV),
    "noexec": (False, m.MS_NOEXEC), "exec": (True, m.MS_NOEXEC),
    "sync": (False, m.MS_SYNCHRONOUS), "async": (True, m.MS_SYNCHRONOUS),
    "dirsync": (False, m.MS_DIRSYNC), "remount": (False, m.MS_REMOUNT),
    "mand": (False, m.MS_MANDLOCK), "nomand": (True, m.MS_MANDLOCK),
    "atime": (True, m.MS_NOATIME), "noatime": (False, m.MS_NOATIME),
    "diratime": (True, m.MS_NODIRATIME), "nodiratime": (False, m.MS_NODIRATIME),
    "relatime": (False, m.MS_RELATIME), "norelatime": (True, m.MS_RELATIME),
    "strictatime": (False, m.MS_STRICTATIME), "nostrictatime": (True, m.MS_STRICTATIME),
    "nosymfollow": (False, m.MS_NOSYMFOLLOW), "symfollow": (True, m.MS_NOSYMFOLLOW),
    "bind": (False, m.MS_BIND), "rbind": (False, m.MS_BIND | m.MS_REC),
}
PROPAGATION: dict[str, int] = {
    "private": m.MS_PRIVATE, "rprivate": m.MS_PRIVATE | m.MS_REC,
    "shared": m.MS_SHARED, "rshared": m.MS_SHARED | m.MS_REC,
    "slave": m.MS_SLAVE, "rslave": m.MS_SLAVE | m.MS_REC,
    "unbindable": m.MS_UNBINDABLE, "runbindable": m.MS_UNBINDABLE | m.MS_REC,
}
# Runtime-only options that are neither flags nor filesystem data.
_IGNORED = frozenset({"tmpcopyup", "idmap", "ridmap", "defaults"})


@dataclass(frozen=True, slots=True)
class MountOptions:
    flags: int
    propagation: tuple[int, ...]
    data: str

    @property
    def is_bind(self) -> bool:
        return bool(self.flags & m.MS_BIND)


def parse_options(options: tuple[str, ...]) -> MountOptions:
    flags = 0
    props: list[int] = []
    data: list[str] = []
    for opt in options:
        if opt in _FLAGS:
            clear, bit = _FLAGS[opt]
            flags = flags & ~bit if clear else flags | bit
        elif opt in PROPAGATION:
            props.append(PROPAGATION[opt])
        elif opt in _IGNORED:
            continue
        else:
            data.append(opt)
    return MountOptions(flags=flags, propagation=tuple(props), data=",".join(data))
