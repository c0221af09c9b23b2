"""An in-memory Engine API with the client's method names: enough of containers, networks, volumes
and images for compose's converge logic to be exercised without a daemon."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator, Mapping
from typing import Any

from dockyard.errors import Conflict, NotFound

_ids = itertools.count(1)


def _new_id() -> str:
    return hashlib.sha256(str(next(_ids)).encode()).hexdigest()


class FakeWait:
    def __init__(self, code: int) -> None:
        self.code = code

    def result(self) -> dict[str, Any]:
        return {"StatusCode": self.code}


class FakeClient:
    def __init__(self, images: Mapping[str, str] | None = None) -> None:
        self.images: dict[str, str] = dict(images or {"busybox": "sha256:" + "b" * 64})
        self.records: dict[str, dict[str, Any]] = {}
        self.nets: dict[str, dict[str, Any]] = {}
        self.vols: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, ...]] = []
        self.health_after: dict[str, int] = {}  # service → inspections before "healthy"
        self.exit_codes: dict[str, int] = {}  # service → exit code right after start
        self.pulled: list[str] = []

    # -- helpers -----------------------------------------------------------------------------------

    def _find(self, ref: str) -> dict[str, Any]:
        for rec in self.records.values():
            if rec["Id"] == ref or rec["Id"].startswith(ref) or rec["Name"] == ref:
                return rec
        raise NotFound(f"No such container: {ref}")

    def by_name(self, name: str) -> dict[str, Any]:
        return self._find(name)

    def names(self) -> list[str]:
        return sorted(r["Name"] for r in self.records.values())

    @staticmethod
    def _labels_match(labels: Mapping[str, str], wanted: list[str]) -> bool:
        for item in wanted:
            key, eq, value = item.partition("=")
            if key not in labels or (eq and labels[key] != value):
                return False
        return True

    # -- containers ----------------------------------------------------------------------------------

    def containers(self, all: bool = False, limit: int | None = None, size: bool = False,
                   filters: Mapping[str, list[str]] | None = None) -> list[dict[str, Any]]:
        rows = []
        for rec in self.records.values():
            state = rec["State"]["Status"]
            if not all and state != "running":
                continue
            labels = rec["Config"]["Labels"]
            if filters and not self._labels_match(labels, filters.get("label", [])):
                continue
            status = {"running": "Up 2 seconds", "created": "Created"}.get(state, f"Exited ({rec['State']['ExitCode']})"
                                                                          " 1 second ago")
            health = rec["State"].get("Health")
            if health and state == "running":
                status += f" ({health['Status']})" if health["Status"] != "starting" else " (health: starting)"
            rows.append({
                "Id": rec["Id"], "Names": ["/" + rec["Name"]], "Labels": dict(labels), "State": state,
                "Status": status, "Image": rec["Config"]["Image"], "Command": " ".join(rec["Config"].get("Cmd") or []),
                "Created": rec["Created"], "Ports": [],
                "NetworkSettings": {"Networks": {n: {} for n in rec["NetworkingConfig"].get("EndpointsConfig", {})}},
                "Mounts": [],
            })
        return rows

    def inspect_container(self, container: str, size: bool = False) -> dict[str, Any]:
        rec = self._find(container)
        service = rec["Config"]["Labels"].get("com.docker.compose.service", "")
        health = rec["State"].get("Health")
        if health and health["Status"] == "starting" and rec["State"]["Status"] == "running":
            remaining = self.health_after.get(service, 0)
            if remaining <= 0:
                health["Status"] = "healthy"
            else:
                self.health_after[service] = remaining - 1
        return {"Id": rec["Id"], "Name": "/" + rec["Name"], "Config": rec["Config"], "State": rec["State"],
                "HostConfig": rec["HostConfig"], "Mounts": rec["Mounts"]}

    def create_container(self, config: Mapping[str, Any], name: str | None = None,
                         platform: str | None = None) -> dict[str, Any]:
        name = name or _new_id()[:12]
        if any(r["Name"] == name for r in self.records.values()):
            raise Conflict(f'Conflict. The container name "/{name}" is already in use')
        image = config["Image"]
        if image not in self.images:
            raise NotFound(f"No such image: {image}")
        ident = _new_id()
        body = dict(config)
        host = body.pop("HostConfig", {})
        networking = body.pop("NetworkingConfig", {})
        mounts = [{"Type": "volume", "Name": m.get("Source") or _new_id(), "Destination": m["Target"]}
                  for m in host.get("Mounts", []) if m["Type"] == "volume"]
        self.records[ident] = {"Id": ident, "Name": name, "Config": body, "HostConfig": host,
                               "NetworkingConfig": networking, "Mounts": mounts, "Created": len(self.records),
                               "State": {"Status": "created", "ExitCode": 0}}
        self.calls.append(("create", name))
        return {"Id": ident, "Warnings": []}

    def start(self, container: str, detach_keys: str | None = None) -> None:
        rec = self._find(container)
        self.calls.append(("start", rec["Name"]))
        service = rec["Config"]["Labels"].get("com.docker.compose.service", "")
        if service in self.exit_codes:
            rec["State"] = {"Status": "exited", "ExitCode": self.exit_codes[service]}
            return
        rec["State"] = {"Status": "running", "ExitCode": 0}
        test = (rec["Config"].get("Healthcheck") or {}).get("Test")
        if test and test != ["NONE"]:
            rec["State"]["Health"] = {"Status": "starting"}

    def stop(self, container: str, t: int | None = None, signal: str | None = None) -> None:
        rec = self._find(container)
        self.calls.append(("stop", rec["Name"]))
        if rec["State"]["Status"] == "running":
            rec["State"] = {"Status": "exited", "ExitCode": 137}

    def restart(self, container: str, t: int | None = None, signal: str | None = None) -> None:
        self.stop(container, t)
        self.start(container)

    def kill(self, container: str, signal: str | None = None) -> None:
        rec = self._find(container)
        rec["State"] = {"Status": "exited", "ExitCode": 137}

    def remove(self, container: str, v: bool = False, force: bool = False, link: bool = False) -> None:
        rec = self._find(container)
        if rec["State"]["Status"] == "running" and not force:
            raise Conflict("You cannot remove a running container")
        self.calls.append(("remove", rec["Name"]))
        del self.records[rec["Id"]]

    def rename(self, container: str, name: str) -> None:
        rec = self._find(container)
        self.calls.append(("rename", rec["Name"], name))
        rec["Name"] = name

    def wait(self, container: str, condition: str | None = None) -> FakeWait:
        return FakeWait(self._find(container)["State"]["ExitCode"])

    def logs(self, container: str, stdout: bool = True, stderr: bool = True, follow: bool = False,
             since: str | None = None, until: str | None = None, timestamps: bool = False,
             tail: str | None = None, details: bool = False) -> Iterator[bytes]:
        return iter([])

    def follow_logs(self, container: str, stdout: bool = True, stderr: bool = True, since: str | None = None,
                    until: str | None = None, timestamps: bool = False, tail: str | None = None) -> Iterator[bytes]:
        return iter([])

    def attach(self, container: str, stdin: bool = False, stdout: bool = True, stderr: bool = True,
               stream: bool = True, logs: bool = False, detach_keys: str | None = None) -> Any:
        raise NotImplementedError

    # -- networks and volumes ------------------------------------------------------------------------

    def network(self, ref: str, *, verbose: bool = False) -> dict[str, Any]:
        if ref not in self.nets:
            raise NotFound(f"network {ref} not found")
        return self.nets[ref]

    def networks(self, filters: Mapping[str, list[str]] | None = None) -> list[dict[str, Any]]:
        return [n for n in self.nets.values()
                if not filters or self._labels_match(n["Labels"], filters.get("label", []))]

    def create_network(self, name: str, *, driver: str = "bridge", internal: bool = False,
                       attachable: bool = False, labels: dict[str, str] | None = None,
                       options: dict[str, str] | None = None, ipam: dict[str, Any] | None = None) -> dict[str, Any]:
        self.calls.append(("create_network", name))
        self.nets[name] = {"Name": name, "Id": _new_id(), "Labels": dict(labels or {}), "Driver": driver,
                           "Internal": internal, "Attachable": attachable, "Options": options or {}, "IPAM": ipam,
                           "Containers": {}}
        return {"Id": self.nets[name]["Id"]}

    def remove_network(self, ref: str) -> None:
        self.calls.append(("remove_network", ref))
        del self.nets[ref]

    def volume(self, name: str) -> dict[str, Any]:
        if name not in self.vols:
            raise NotFound(f"get {name}: no such volume")
        return self.vols[name]

    def volumes(self, filters: Mapping[str, list[str]] | None = None) -> list[dict[str, Any]]:
        return [v for v in self.vols.values()
                if not filters or self._labels_match(v["Labels"], filters.get("label", []))]

    def create_volume(self, name: str = "", *, driver: str = "", labels: dict[str, str] | None = None,
                      options: dict[str, str] | None = None) -> dict[str, Any]:
        self.calls.append(("create_volume", name))
        self.vols[name] = {"Name": name, "Driver": driver, "Labels": dict(labels or {}), "Options": options or {}}
        return self.vols[name]

    def remove_volume(self, name: str, *, force: bool = False) -> None:
        self.calls.append(("remove_volume", name))
        del self.vols[name]

    # -- images --------------------------------------------------------------------------------------

    def inspect_image(self, name: str) -> dict[str, Any]:
        if name not in self.images:
            raise NotFound(f"No such image: {name}")
        return {"Id": self.images[name]}

    def pull(self, image: str, tag: str | None = None, *, platform: str | None = None, all_tags: bool = False,
             auth: str | None = None) -> Iterator[dict[str, Any]]:
        ref = image if tag in (None, "latest") else f"{image}:{tag}"
        self.pulled.append(ref)
        self.images[ref] = "sha256:" + hashlib.sha256(ref.encode()).hexdigest()
        yield {"status": "Pulled"}
