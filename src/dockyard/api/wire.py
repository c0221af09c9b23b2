"""Docker's JSON shapes: the only place (with oci codecs) where CamelCase field names live."""

from __future__ import annotations

from typing import Any

from dockyard.engine.networks import NetworkView
from dockyard.engine.volumes import VolumeView
from dockyard.image.model import DeleteRecord, HistoryItem, ImageView, PruneReport
from dockyard.oci.image import ContainerConfig, format_rfc3339
from dockyard.shim.logrotate import format_time as format_time_ns


def _config(cfg: ContainerConfig) -> dict[str, Any]:
    """Image ``Config`` as ``docker image inspect`` shows it (Docker's container-config shape)."""
    return {
        "Hostname": "",
        "Domainname": "",
        "User": cfg.user,
        "AttachStdin": False,
        "AttachStdout": False,
        "AttachStderr": False,
        "ExposedPorts": {p: {} for p in cfg.exposed_ports} or None,
        "Tty": False,
        "OpenStdin": False,
        "StdinOnce": False,
        "Env": list(cfg.env) or None,
        "Cmd": list(cfg.cmd) if cfg.cmd is not None else None,
        "Healthcheck": cfg.healthcheck.to_json_obj() if cfg.healthcheck else None,
        "ArgsEscaped": cfg.args_escaped or None,
        "Image": "",
        "Volumes": {v: {} for v in cfg.volumes} or None,
        "WorkingDir": cfg.working_dir,
        "Entrypoint": list(cfg.entrypoint) if cfg.entrypoint is not None else None,
        "OnBuild": list(cfg.on_build) if cfg.on_build is not None else None,
        "Labels": dict(cfg.labels) or None,
        **({"StopSignal": cfg.stop_signal} if cfg.stop_signal else {}),
        **({"Shell": list(cfg.shell)} if cfg.shell else {}),
    }


def _drop_none(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if v is not None}


def image_inspect(view: ImageView, *, graph_driver: str, api_version: str) -> dict[str, Any]:
    cfg = view.config
    out: dict[str, Any] = {
        "Id": view.id,
        "RepoTags": list(view.repo_tags),
        "RepoDigests": list(view.repo_digests),
        "Parent": view.parent,
        "Comment": str(cfg.extra.get("comment", "")),
        "Created": cfg.created or format_rfc3339(view.created),
        "DockerVersion": str(cfg.extra.get("docker_version", "")),
        "Author": cfg.author,
        "Config": _drop_none(_config(cfg.config)),
        "Architecture": cfg.architecture,
        "Os": cfg.os,
        "Size": view.size,
        "GraphDriver": {"Name": graph_driver, "Data": {}},
        "RootFS": {"Type": "layers", "Layers": [str(d) for d in cfg.diff_ids]},
        "Metadata": {"LastTagTime": format_rfc3339(view.last_tag_time) if view.last_tag_time else None},
    }
    if cfg.variant:
        out["Variant"] = cfg.variant
    if cfg.os_version:
        out["OsVersion"] = cfg.os_version
    if not _at_least(api_version, "1.44"):
        out["VirtualSize"] = view.size
        out["Container"] = ""
        out["ContainerConfig"] = _drop_none(_config(ContainerConfig()))
    return out


def image_summary(view: ImageView, *, shared_size: int = -1, containers: int = -1,
                  api_version: str = "1.44") -> dict[str, Any]:
    out: dict[str, Any] = {
        "Id": view.id,
        "ParentId": view.parent,
        "RepoTags": list(view.repo_tags),
        "RepoDigests": list(view.repo_digests),
        "Created": int(view.created),
        "Size": view.size,
        "SharedSize": shared_size,
        "Labels": view.labels,
        "Containers": containers,
    }
    if not _at_least(api_version, "1.43") and not view.repo_tags:
        out["RepoTags"] = ["<none>:<none>"]
        out["RepoDigests"] = out["RepoDigests"] or ["<none>@<none>"]
    if not _at_least(api_version, "1.44"):
        out["VirtualSize"] = view.size
    return out


def history(items: list[HistoryItem]) -> list[dict[str, Any]]:
    return [{"Id": i.id, "Created": int(i.created), "CreatedBy": i.created_by, "Tags": list(i.tags),
             "Size": i.size, "Comment": i.comment} for i in items]


def delete_records(records: tuple[DeleteRecord, ...] | list[DeleteRecord]) -> list[dict[str, str]]:
    return [{"Untagged": r.untagged} if r.untagged else {"Deleted": r.deleted} for r in records]


def prune_report(report: PruneReport) -> dict[str, Any]:
    return {"ImagesDeleted": delete_records(report.deleted), "SpaceReclaimed": report.space_reclaimed}


def _at_least(version: str, other: str) -> bool:
    a = tuple(int(x) for x in version.split("."))
    b = tuple(int(x) for x in other.split("."))
    return a >= b


def volume(view: VolumeView) -> dict[str, Any]:
    """A volume as dockerd shows it; ``UsageData`` only when it was measured (system df)."""
    rec = view.record
    out: dict[str, Any] = {
        "CreatedAt": format_rfc3339(int(rec.created_at)), "Driver": rec.driver, "Labels": dict(rec.labels) or None,
        "Mountpoint": view.mountpoint, "Name": rec.name, "Options": dict(rec.options) or None, "Scope": "local",
    }
    if view.size >= 0:
        out["UsageData"] = {"Size": view.size, "RefCount": view.ref_count}
    return out


def network(view: NetworkView) -> dict[str, Any]:
    """A network as dockerd shows it in ``network ls`` (the API's list) and ``network inspect``."""
    config: list[dict[str, str]] = []
    if view.subnet:
        config = [{"Subnet": view.subnet, "Gateway": view.gateway, **({"IPRange": view.ip_range} if view.ip_range else {})}]
    return {
        "Name": view.name, "Id": view.id, "Created": format_time_ns(int(view.created * 1e9)), "Scope": "local",
        "Driver": view.driver, "EnableIPv6": False,
        "IPAM": {"Driver": "default", "Options": None if view.builtin else {}, "Config": config},
        "Internal": view.internal, "Attachable": view.attachable, "Ingress": False, "ConfigFrom": {"Network": ""},
        "ConfigOnly": False,
        "Containers": {e.container_id: {"Name": e.name, "EndpointID": e.endpoint_id, "MacAddress": e.mac_address,
                                        "IPv4Address": e.ipv4, "IPv6Address": ""} for e in view.endpoints},
        "Options": dict(view.options), "Labels": dict(view.labels),
    }
