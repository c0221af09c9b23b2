"""``down``, ``stop``, ``start``, ``restart``, ``rm`` and ``pull`` of a project's services."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dockyard.compose import labels as L
from dockyard.compose import progress as P
from dockyard.compose.converge import Converger, orphan_warning, selected_services
from dockyard.compose.engine import ContainerSummary
from dockyard.compose.errors import ServiceFailed
from dockyard.compose.graph import stop_order
from dockyard.compose.model import Project
from dockyard.errors import Conflict, NotFound


@dataclass(frozen=True)
class DownOptions:
    remove_orphans: bool = False
    volumes: bool = False
    timeout: int | None = None


def _by_stop_order(containers: Sequence[ContainerSummary], order: Sequence[str]) -> list[ContainerSummary]:
    """Dependents before what they depend on; unknown services (orphans) first."""
    rank = {name: i for i, name in enumerate(order)}
    return sorted(containers, key=lambda c: (rank.get(c.service, -1), c.number))


def _stop_order_from_labels(containers: Sequence[ContainerSummary]) -> list[str]:
    """Without the compose file, the depends_on labels tell the order."""
    deps = {c.service: [d.split(":", 1)[0] for d in c.labels.get(L.DEPENDS_ON, "").split(",") if d]
            for c in containers}
    done: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in done or name in path:
            return
        for dep in deps.get(name, []):
            visit(dep, (*path, name))
        done.append(name)

    for name in sorted(deps):
        visit(name, ())
    return list(reversed(done))


class Lifecycle:
    def __init__(self, converger: Converger) -> None:
        self.c = converger
        self.engine = converger.engine
        self.progress = converger.progress

    def down(self, name: str, project: Project | None, opts: DownOptions) -> bool:
        """Stop and remove the containers, then the networks (and with ``volumes`` the named
        volumes). False when there was nothing at all to remove."""
        containers = self.engine.containers(name, oneoff=None if opts.remove_orphans else False)
        removed_any = bool(containers)
        if project is not None:
            known = project.all_service_names()
            orphans = [c for c in containers if c.service not in known]
            if orphans and not opts.remove_orphans:
                self.progress.warn(orphan_warning(orphans))
                containers = [c for c in containers if c.service in known]
            order = stop_order([*project.services, *project.disabled])
        else:
            order = _stop_order_from_labels(containers)
        for container in _by_stop_order(containers, order):
            self.c.stop_and_remove(container, opts.timeout, volumes=opts.volumes)

        if project is not None:
            networks = [(key, n.name) for key, n in sorted(project.networks.items()) if not n.external]
        else:
            networks = [(info.labels.get(L.NETWORK, ""), info.name) for info in self.engine.project_networks(name)]
        for key, network_name in networks:
            info = self.engine.network(network_name)
            if info is None or info.labels.get(L.PROJECT) != name or info.labels.get(L.NETWORK, key) != key:
                continue
            removed_any = True
            self.progress.network(network_name, P.REMOVING)
            if info.in_use:
                self.progress.network(network_name, "Resource is still in use")
                continue
            try:
                self.engine.remove_network(network_name)
            except NotFound:
                pass
            self.progress.network(network_name, P.REMOVED)

        if opts.volumes:
            if project is not None:
                volumes = [v.name for v in project.volumes.values() if not v.external]
            else:
                volumes = [info.name for info in self.engine.project_volumes(name)]
            for volume in volumes:
                info = self.engine.volume(volume)
                if info is None:
                    continue
                removed_any = True
                self.progress.volume(volume, P.REMOVING, quoted=False)
                try:
                    self.engine.remove_volume(volume)
                except Conflict:
                    self.progress.volume(volume, "Resource is still in use", quoted=False)
                    continue
                except NotFound:
                    pass
                self.progress.volume(volume, P.REMOVED, quoted=False)
        return removed_any

    def stop(self, project: Project, services: Sequence[str], timeout: int | None) -> None:
        selected = {s.name for s in selected_services(project, services, no_deps=True)} if services else None
        for service in stop_order(project.services):
            if selected is not None and service not in selected:
                continue
            for container in self.engine.containers(project.name, services=(service,)):
                if container.running:
                    self.c.stop_container(container.name, container.id, timeout)

    def start(self, project: Project, services: Sequence[str]) -> None:
        chosen = selected_services(project, services, no_deps=True)
        for service in chosen:
            if not self.engine.containers(project.name, services=(service.name,)):
                raise ServiceFailed(f'service "{service.name}" has no container to start')
        self.c.start(project, chosen)

    def restart(self, project: Project, services: Sequence[str], timeout: int | None) -> None:
        for service in selected_services(project, services, no_deps=True):
            for container in self.engine.containers(project.name, services=(service.name,)):
                self.progress.container(container.name, P.RESTARTING)
                self.engine.restart(container.id, timeout)
                self.progress.container(container.name, P.STARTED)

    def removable(self, project: Project, services: Sequence[str], *, stopped_too: bool) -> list[ContainerSummary]:
        """The containers ``rm`` would remove: stopped ones (all with ``stopped_too``)."""
        chosen = tuple(s.name for s in selected_services(project, services, no_deps=True)) if services else ()
        containers = self.engine.containers(project.name, services=chosen)
        return [c for c in containers if stopped_too or not c.running]

    def remove(self, containers: Sequence[ContainerSummary], *, stop_first: bool, volumes: bool,
               timeout: int | None = None) -> None:
        for container in containers:
            if container.running:
                if not stop_first:
                    continue
                self.c.stop_container(container.name, container.id, timeout)
            self.progress.container(container.name, P.REMOVING)
            try:
                self.engine.remove(container.id, volumes=volumes, force=True)
            except NotFound:
                pass
            self.progress.container(container.name, P.REMOVED)

    def pull(self, project: Project, services: Sequence[str], *, ignore_failures: bool = False) -> list[str]:
        """Pull every selected service's image; the services whose pull failed (when ignored)."""
        failed: list[str] = []
        for service in selected_services(project, services, no_deps=True):
            try:
                self.c.pull(service)
            except Exception:
                if not ignore_failures:
                    raise
                failed.append(service.name)
        return failed


__all__ = ["DownOptions", "Lifecycle"]
