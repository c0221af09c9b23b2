"""The ``local`` volume driver: a directory per volume, ``<data-root>/volumes/<name>/_data``.

Records live in the metadata store (``volumes``); which containers use a volume is in its refs
(owner ``container``, kind ``volume``), so a volume in use is never removed. A named volume is
created on first use; an anonymous one gets a random 64-hex name and the label modern dockerd
gives it, which ``volume prune`` (API 1.42+) looks for.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import time
from collections.abc import Mapping
from pathlib import Path

from dockyard.errors import Conflict, DockyardError, InvalidArgument, NotFound
from dockyard.store.metadata import MetadataStore, VolumeRecord
from dockyard.store.mount import Mount, unmount
from dockyard.store.snapshots.copy import copy_tree, tree_usage

DRIVER = "local"
ANONYMOUS_LABEL = "com.docker.volume.anonymous"
_VALID_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")


MOUNT_OPTIONS = ("type", "o", "device")  # the local driver's: what to mount on the volume's directory


def check_name(name: str) -> None:
    if len(name) == 1:
        raise InvalidArgument(f"create {name}: volume name is too short, names should be at least two "
                              "alphanumeric characters")
    if not _VALID_NAME.fullmatch(name):
        raise InvalidArgument(f'create {name}: "{name}" includes invalid characters for a local volume name, only '
                              '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, '
                              "use absolute path")


def _mounted(path: str) -> bool:
    """Whether something is mounted on ``path`` (per /proc/self/mountinfo, which lists real paths)."""
    path = os.path.realpath(path)
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                point = line.split(" ", 5)[4]
                if point.encode().decode("unicode_escape") == path:
                    return True
    except OSError:
        pass
    return False


class LocalVolumes:
    def __init__(self, metadata: MetadataStore, root: str | os.PathLike[str]) -> None:
        self.metadata = metadata
        self.root = Path(root)

    def path(self, name: str) -> Path:
        """The directory a container mounts (dockerd's ``Mountpoint``)."""
        return self.root / name / "_data"

    def create(self, name: str = "", *, driver: str = "", labels: Mapping[str, str] | None = None,
               options: Mapping[str, str] | None = None, anonymous: bool = False) -> tuple[VolumeRecord, bool]:
        """The volume of that name, made if new (then True); no name: a new one with a random name,
        labelled anonymous when a container asked for it without a name."""
        if driver not in ("", DRIVER):
            raise NotFound(f'create {name}: error looking up volume plugin {driver}: plugin "{driver}" not found')
        labels = dict(labels or {})
        if not name:
            name = secrets.token_hex(32)
            if anonymous:
                labels.setdefault(ANONYMOUS_LABEL, "")
        check_name(name)
        options = dict(options or {})
        for key in sorted(options):
            if key not in MOUNT_OPTIONS:
                raise InvalidArgument(f'create {name}: invalid option: "{key}"')
        if options and "type" in options and not options.get("device") and options["type"] != "tmpfs":
            raise InvalidArgument(f"create {name}: missing required option: \"device\"")
        existing = self.metadata.find_volume(name)
        if existing is not None:
            return existing, False
        data = self.path(name)
        data.parent.mkdir(mode=0o701, parents=True, exist_ok=True)
        data.mkdir(mode=0o755, exist_ok=True)
        new = VolumeRecord(name, DRIVER, time.time(), labels, options)
        rec = self.metadata.add_volume(new)
        return rec, rec is new

    def get(self, name: str) -> VolumeRecord:
        rec = self.metadata.find_volume(name)
        if rec is None:
            raise NotFound(f"get {name}: no such volume")
        return rec

    def all(self) -> list[VolumeRecord]:
        return self.metadata.list_volumes()

    def users(self, name: str) -> list[str]:
        """IDs of the containers that use the volume."""
        return [owner for kind, owner in self.metadata.owners_of("volume", name) if kind == "container"]

    def remove(self, name: str, *, force: bool = False) -> None:
        rec = self.metadata.find_volume(name)
        if rec is None:
            if force:
                return
            raise NotFound(f"get {name}: no such volume")
        users = self.users(name)
        if users:
            raise Conflict(f"remove {name}: volume is in use - [{', '.join(users)}]")
        # Never delete through a mount: a bind volume's directory is the host's own.
        self._unmount(name)
        if _mounted(str(self.path(name))):
            raise Conflict(f"remove {name}: the volume is still mounted")
        # The record first: a crash between the two leaves a directory that no record names,
        # never a record without its directory.
        self.metadata.delete_volume(name)
        shutil.rmtree(self.root / name, ignore_errors=True)

    def mount(self, name: str) -> None:
        """Mount what the volume's options name (a device, a tmpfs, a bind of a host directory) on
        its directory before a container uses it; once, until the volume is removed."""
        rec = self.get(name)
        if not rec.options or _mounted(str(self.path(name))):
            return
        kind = rec.options.get("type", "")
        flags = tuple(o for o in rec.options.get("o", "").split(",") if o)
        device = rec.options.get("device", "")
        target = str(self.path(name))
        try:
            if "bind" in flags or "rbind" in flags:
                Mount("rbind" if "rbind" in flags else "bind", device,
                      tuple(f for f in flags if f not in ("bind", "rbind"))).mount(target)
            else:
                Mount(kind or "none", device or kind, flags).mount(target)
        except OSError as exc:  # dockerd's words
            raise DockyardError(f"error while mounting volume '{target}': failed to mount local volume: mount "
                                f"{device}:{target}, flags: {rec.options.get('o', '')}: "
                                f"{(exc.strerror or str(exc)).lower()}") from None

    def _unmount(self, name: str) -> None:
        path = str(self.path(name))
        while _mounted(path):  # a bind of the same filesystem is no mount point to os.path.ismount
            unmount(path, detach=True)

    def usage(self, name: str) -> int:
        return tree_usage(str(self.path(name)))[0]

    def copy_up(self, name: str, source: str) -> bool:
        """Fill an empty volume with what the image has at the mount point (dockerd copies on the
        first mount unless ``nocopy``); True when something was copied."""
        data = self.path(name)
        with os.scandir(data) as entries:
            empty = next(entries, None) is None
        if not empty or not os.path.isdir(source):
            return False
        copy_tree(source, str(data))
        st = os.stat(source)
        os.chown(data, st.st_uid, st.st_gid)
        os.chmod(data, st.st_mode & 0o7777)
        return True


__all__ = ["ANONYMOUS_LABEL", "DRIVER", "LocalVolumes", "check_name"]
