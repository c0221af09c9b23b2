"""``up``: make the engine match the project, as Compose converges it.

Create phase: networks, volumes, images, then each service in dependency order — a container
whose config hash (or image) differs is recreated, a matching one is left running, missing
replicas are created. Start phase: each service in dependency order waits for its dependencies'
conditions (started, healthy, completed successfully), then its containers are started.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from dockyard.compose import labels as L
from dockyard.compose import progress as P
from dockyard.compose.convert import ReplicaContext, create_request, references_services, replica_name
from dockyard.compose.engine import ContainerSummary, Engine
from dockyard.compose.errors import InvalidProject, ServiceFailed, Unsupported
from dockyard.compose.graph import dependents, start_order, with_dependencies
from dockyard.compose.hashing import config_hash
from dockyard.compose.model import CONDITION_COMPLETED, CONDITION_STARTED, Project, Service
from dockyard.compose.progress import Progress
from dockyard.errors import Conflict, NotFound

RECREATE_DIVERGED = "diverged"
RECREATE_FORCE = "force"
RECREATE_NEVER = "never"
RUNNING_OR_HEALTHY = "running_or_healthy"
POLL = 0.5


@dataclass(frozen=True)
class UpOptions:
    services: tuple[str, ...] = ()
    no_deps: bool = False
    recreate: str = RECREATE_DIVERGED
    recreate_dependencies: str = RECREATE_DIVERGED
    remove_orphans: bool = False
    timeout: int | None = None
    pull: str = ""  # overrides every service's pull_policy: always | missing | never
    renew_anon_volumes: bool = False
    scale: Mapping[str, int] = field(default_factory=dict)


def selected_services(project: Project, names: Sequence[str], *, no_deps: bool = False) -> list[Service]:
    """The services named (all when none is) and, unless ``no_deps``, what they depend on; in
    start order."""
    for name in names:
        project.service(name)
    wanted = set(names) if no_deps else with_dependencies(project.services, names)
    order = start_order(project.services)
    if names:
        order = [n for n in order if n in wanted]
    return [project.service(n) for n in order]


def orphan_warning(orphans: Sequence[ContainerSummary]) -> str:
    names = ", ".join(c.name for c in orphans)
    return (f"Found orphan containers ([{names}]) for this project. If you removed or renamed this service in your "
            "compose file, you can run this command with the --remove-orphans flag to clean it up.")


class Converger:
    """Brings a project's services up through one Engine, reporting progress."""

    def __init__(self, engine: Engine, progress: Progress, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.engine = engine
        self.progress = progress
        self.sleep = sleep
        self.scale_overrides: dict[str, int] = {}

    # -- create phase ----------------------------------------------------------------------------

    def create(self, project: Project, opts: UpOptions) -> list[Service]:
        """The create phase; the services it covered, with ``--scale`` applied, for ``start``."""
        services = selected_services(project, opts.services, no_deps=opts.no_deps)
        for service in services:
            if self._scale(service, opts) > 1 and service.container_name:
                raise InvalidProject(f'WARNING: The "{service.name}" service is using the custom container name '
                                     f'"{service.container_name}". Docker requires each container to have a unique '
                                     "name. Remove the custom name to scale the service.")
        images = self.ensure_images(services, opts.pull)
        self._orphans(project, opts)
        self.ensure_networks(project, services)
        self.ensure_volumes(project, services)
        for service in services:
            strategy = opts.recreate if not opts.services or service.name in opts.services else \
                opts.recreate_dependencies
            self._converge_service(project, service, strategy, images.get(service.image, ""), opts)
        self.scale_overrides = dict(opts.scale)
        return [replace(s, scale=self._scale(s, opts)) for s in services]

    def _scale(self, service: Service, opts: UpOptions) -> int:
        return opts.scale.get(service.name, service.scale)

    def _orphans(self, project: Project, opts: UpOptions) -> None:
        known = project.all_service_names()
        orphans = [c for c in self.engine.containers(project.name) if c.service not in known]
        if not orphans:
            return
        if not opts.remove_orphans:
            self.progress.warn(orphan_warning(orphans))
            return
        for container in orphans:
            self.stop_and_remove(container, opts.timeout)

    def ensure_networks(self, project: Project, services: Sequence[Service]) -> None:
        needed = {n.name for s in services for n in s.networks}
        for key, network in project.networks.items():
            if key not in needed:
                continue
            info = self.engine.network(network.name)
            if network.external:
                if info is None:
                    raise ServiceFailed(f"network {network.name} declared as external, but could not be found")
                continue
            if info is None:
                self.progress.network(network.name, P.CREATING)
                try:
                    self.engine.create_network(network, project.name)
                except Exception:
                    self.progress.network(network.name, P.ERROR)
                    raise
                self.progress.network(network.name, P.CREATED)
                continue
            owner = info.labels.get(L.PROJECT)
            if owner is None:
                self.progress.warn(f"a network with name {network.name} exists but was not created by compose.\n"
                                   "Set `external: true` to use an existing network")
            elif owner != project.name:
                self.progress.warn(f'a network with name {network.name} exists but was not created for project '
                                   f'"{project.name}".\nSet `external: true` to use an existing network')
            elif info.labels.get(L.NETWORK, key) != key:
                raise ServiceFailed(f'network {network.name} was found but has incorrect label {L.NETWORK} set to '
                                    f'"{info.labels.get(L.NETWORK)}"')

    def ensure_volumes(self, project: Project, services: Sequence[Service]) -> None:
        needed = {m.source for s in services for m in s.volumes if m.type == "volume" and m.source}
        for key, volume in project.volumes.items():
            if key not in needed:
                continue
            info = self.engine.volume(volume.name)
            if volume.external:
                if info is None:
                    raise ServiceFailed(f'external volume "{volume.name}" not found')
                continue
            if info is None:
                self.progress.volume(volume.name, P.CREATING)
                try:
                    self.engine.create_volume(volume, project.name)
                except Exception:
                    self.progress.volume(volume.name, P.ERROR)
                    raise
                self.progress.volume(volume.name, P.CREATED)
                continue
            owner = info.labels.get(L.PROJECT)
            if owner is None:
                self.progress.warn(f'volume "{volume.name}" already exists but was not created by Docker Compose. '
                                   "Use `external: true` to use an existing volume")
            elif owner != project.name:
                self.progress.warn(f'volume "{volume.name}" already exists but was created for project "{owner}" '
                                   f'(expected "{project.name}"). Use `external: true` to use an existing volume')

    def ensure_images(self, services: Sequence[Service], pull: str = "") -> dict[str, str]:
        """Pull what is missing (or everything, with pull policy ``always``); the image IDs."""
        ids: dict[str, str] = {}
        for service in services:
            if service.image in ids:
                continue
            policy = pull or service.pull_policy or "missing"
            image_id = self.engine.image_id(service.image)
            if policy == "always" or (image_id is None and policy in ("missing", "if_not_present")):
                if image_id is None and service.has_build and policy != "always":
                    raise Unsupported(f'service "{service.name}": image {service.image} is missing and building '
                                      "images is not supported yet by dockyard compose; build it first "
                                      f"(dockyard build -t {service.image} .)")
                self.pull(service)
                image_id = self.engine.image_id(service.image)
            if image_id is None:
                raise ServiceFailed(f"No such image: {service.image}")
            ids[service.image] = image_id
        return ids

    def pull(self, service: Service) -> None:
        self.progress.event(service.name, P.PULLING)
        try:
            self.engine.pull(service.image, service.platform)
        except Exception:
            self.progress.event(service.name, P.ERROR)
            raise
        self.progress.event(service.name, P.PULLED)

    def must_recreate(self, project: Project, service: Service, container: ContainerSummary, strategy: str,
                      image_id: str) -> bool:
        if strategy == RECREATE_NEVER:
            return False
        if strategy == RECREATE_FORCE:
            return True
        references = self._container_of(project) if references_services(service) else None
        if container.config_hash != config_hash(service, references):
            return True
        if image_id and container.image_id and container.image_id != image_id:
            return True
        if container.state == "running" and not service.network_mode:
            # the config is the same but a network is missing (removed behind compose's back)
            expected = {project.networks[n.name].name for n in service.networks}
            return not expected <= set(container.networks)
        return False

    def _converge_service(self, project: Project, service: Service, strategy: str, image_id: str,
                          opts: UpOptions) -> None:
        expected = self._scale(service, opts)
        containers = self.engine.containers(project.name, services=(service.name,))
        obsolete = {c.id: self.must_recreate(project, service, c, strategy, image_id) for c in containers}
        ordered = sorted(containers, key=lambda c: (obsolete[c.id], c.number))
        kept, extra = ordered[:expected], ordered[expected:]
        for container in extra:
            self.stop_and_remove(container, opts.timeout)
        stopped_dependents = False
        for container in kept:
            if obsolete[container.id]:
                if not stopped_dependents:
                    self._stop_dependents(project, service, opts.timeout)
                    stopped_dependents = True
                self.recreate(project, service, container, image_id, opts)
            elif container.state == "running":
                self.progress.container(container.name, P.RUNNING)
            elif container.state == "exited":
                self.progress.container(container.name, P.CREATED)
        numbers = [c.number for c in containers]
        next_number = max(numbers, default=0) + 1
        for i in range(expected - len(kept)):
            self.create_replica(project, service, next_number + i, image_id)

    def _stop_dependents(self, project: Project, service: Service, timeout: int | None) -> None:
        """Containers that depend on a service being recreated are stopped; the start phase starts
        them again once it is back."""
        names = dependents(project.services, service.name)
        if not names:
            return
        for name in reversed(names):
            for container in self.engine.containers(project.name, services=(name,)):
                if container.running:
                    self.stop_container(container.name, container.id, timeout)

    def _container_of(self, project: Project) -> Callable[[str], str]:
        def first(service: str) -> str:
            found = self.engine.containers(project.name, services=(service,))
            if not found:
                raise ServiceFailed(f"cannot share namespace or volumes with service {service}: container missing")
            return found[0].id

        return first

    def create_replica(self, project: Project, service: Service, number: int, image_id: str) -> str:
        name = replica_name(project, service, number)
        request = create_request(project, service, ReplicaContext(number=number, image_id=image_id,
                                                                  container_of=self._container_of(project)))
        self.progress.container(name, P.CREATING)
        try:
            ident = self.engine.create(request)
        except Exception:
            self.progress.container(name, P.ERROR)
            raise
        self.progress.container(name, P.CREATED)
        return ident

    def recreate(self, project: Project, service: Service, old: ContainerSummary, image_id: str,
                 opts: UpOptions) -> str:
        """A new container under a temporary name, the old one stopped and removed, then the new
        one renamed: anonymous volumes carry over unless ``renew_anon_volumes``."""
        self.progress.container(old.name, P.RECREATE)
        inherited: dict[str, str] = {}
        if not opts.renew_anon_volumes:
            anonymous = {m.target for m in service.volumes if m.type == "volume" and not m.source}
            for mount in self.engine.inspect(old.id).mounts:
                if mount.type == "volume" and mount.destination in anonymous and mount.name:
                    inherited[mount.destination] = mount.name
        name = replica_name(project, service, old.number)
        request = create_request(project, service, ReplicaContext(
            number=old.number, image_id=image_id, inherited_volumes=inherited,
            container_of=self._container_of(project), name=f"{old.id[:12]}_{name}"))
        body = dict(request.body)
        body["Labels"] = {**body["Labels"], L.REPLACE: old.id}
        request = replace(request, body=body)
        ident = self.engine.create(request)
        self.engine.stop(old.id, opts.timeout)
        self.engine.remove(old.id)
        self.engine.rename(ident, name)
        self.progress.container(old.name, P.RECREATED)
        return ident

    def stop_container(self, name: str, ident: str, timeout: int | None) -> None:
        self.progress.container(name, P.STOPPING)
        try:
            self.engine.stop(ident, timeout)
        except NotFound:
            pass
        except Exception:
            self.progress.event(P.container_id(name), "Error while Stopping")
            raise
        self.progress.container(name, P.STOPPED)

    def stop_and_remove(self, container: ContainerSummary, timeout: int | None, *, volumes: bool = False) -> None:
        self.stop_container(container.name, container.id, timeout)
        self.progress.container(container.name, P.REMOVING)
        try:
            self.engine.remove(container.id, volumes=volumes, force=True)
        except (NotFound, Conflict):
            pass
        except Exception:
            self.progress.event(P.container_id(container.name), "Error while Removing")
            raise
        self.progress.container(container.name, P.REMOVED)

    # -- start phase -----------------------------------------------------------------------------

    def start(self, project: Project, services: Sequence[Service]) -> None:
        for service in services:
            self.wait_dependencies(project, service)
            containers = self.engine.containers(project.name, services=(service.name,))
            if not containers:
                if service.scale == 0:
                    continue
                raise ServiceFailed(f'service "{service.name}" has no container to start')
            for container in containers:
                if container.state == "running":
                    continue
                self.progress.container(container.name, P.STARTING)
                self.engine.start(container.id)
                self.progress.container(container.name, P.STARTED)

    def wait_dependencies(self, project: Project, service: Service) -> None:
        for dep in service.depends_on:
            if dep.condition == CONDITION_STARTED:
                continue  # the dependency order saw to it
            if not project.has_service(dep.service):
                continue
            if self.scale_overrides.get(dep.service, project.service(dep.service).scale) == 0:
                continue
            self.wait_for(project, dep.service, dep.condition, required=dep.required, dependent=service.name)

    def wait_for(self, project: Project, service: str, condition: str, *, required: bool = True,
                 deadline: float | None = None, dependent: str = "") -> None:
        """Poll the service's containers until ``condition`` holds; Compose's errors otherwise."""
        containers = self.engine.containers(project.name, services=(service,))
        if not containers:
            if required:
                raise ServiceFailed(f"{dependent or service} is missing dependency {service}")
            return
        for container in containers:
            self.progress.container(container.name, P.WAITING)
        while True:
            if condition == CONDITION_COMPLETED:
                done = self._completed(containers)
                if done:
                    for container in containers:
                        self.progress.container(container.name, P.EXITED)
                    return
            else:
                if self._healthy(containers, fallback_running=condition == RUNNING_OR_HEALTHY):
                    for container in containers:
                        self.progress.container(container.name, P.HEALTHY)
                    return
            if deadline is not None and time.monotonic() > deadline:
                raise ServiceFailed("timeout waiting for dependencies")
            self.sleep(POLL)

    def _healthy(self, containers: Sequence[ContainerSummary], *, fallback_running: bool) -> bool:
        for container in containers:
            state = self.engine.inspect(container.id)
            failure = ""
            if state.status == "exited":
                failure = f"container {state.name} exited ({state.exit_code})"
            elif not state.has_healthcheck and fallback_running:
                if state.status != "running":
                    return False
                continue
            elif not state.health:
                failure = f"container {state.name} has no healthcheck configured"
            elif state.health == "unhealthy":
                failure = f"container {state.name} is unhealthy"
            elif state.health == "starting":
                return False
            elif state.health != "healthy":
                failure = f'container {state.name} had unexpected health status "{state.health}"'
            if failure:
                for other in containers:
                    self.progress.container(other.name, P.ERROR)
                raise ServiceFailed(f"dependency failed to start: {failure}")
        return True

    def _completed(self, containers: Sequence[ContainerSummary]) -> bool:
        for container in containers:
            state = self.engine.inspect(container.id)
            if state.status != "exited":
                continue
            if state.exit_code == 0:
                return True
            service = container.service
            message = f'service "{service}" didn\'t complete successfully: exit {state.exit_code}'
            for other in containers:
                self.progress.event(P.container_id(other.name), message)
            raise ServiceFailed(message)
        return False

    def wait_running(self, project: Project, services: Sequence[Service], timeout: float | None = None) -> None:
        """``up --wait``: every container running, and healthy when it has a healthcheck."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for service in services:
            if service.scale == 0:
                continue
            self.wait_for(project, service.name, RUNNING_OR_HEALTHY, deadline=deadline)


__all__ = [
    "RECREATE_DIVERGED", "RECREATE_FORCE", "RECREATE_NEVER", "RUNNING_OR_HEALTHY", "Converger",
    "UpOptions", "orphan_warning", "selected_services",
]
