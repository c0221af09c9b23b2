"""Converging a project on an in-memory engine: what is created, kept, recreated and removed, in
which order, with which progress lines."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from compose_fakeclient import FakeClient

from dockyard.compose.converge import RECREATE_FORCE, RECREATE_NEVER, Converger, UpOptions
from dockyard.compose.engine import Engine
from dockyard.compose.errors import ServiceFailed, Unsupported
from dockyard.compose.lifecycle import DownOptions, Lifecycle
from dockyard.compose.loader import LoadOptions, load_project
from dockyard.compose.model import Project

APP = """
services:
  db:
    image: busybox
    command: httpd -f
    volumes: [data:/data]
    healthcheck: {test: ["CMD", "true"], interval: 1s}
  web:
    image: busybox
    command: sleep 1000
    depends_on:
      db: {condition: service_healthy}
    ports: ["127.0.0.1:8080:80"]
volumes:
  data:
"""


class World:
    def __init__(self, tmp_path: Path, text: str = APP) -> None:
        self.dir = tmp_path
        self.client = FakeClient()
        self.err = io.StringIO()
        self.write(text)

    def write(self, text: str) -> None:
        (self.dir / "compose.yaml").write_text(text)

    def project(self) -> Project:
        return load_project(LoadOptions(working_dir=str(self.dir), project_name="demo", environ={}))

    def converger(self) -> Converger:
        from dockyard.compose.progress import Progress

        return Converger(Engine(self.client), Progress(self.err), sleep=lambda _: None)

    def up(self, **options: object) -> list[str]:
        self.err.seek(0)
        self.err.truncate()
        converger = self.converger()
        project = self.project()
        services = converger.create(project, UpOptions(**options))  # type: ignore[arg-type]
        converger.start(project, services)
        return self.lines()

    def lines(self) -> list[str]:
        return self.err.getvalue().splitlines()

    def ids(self) -> dict[str, str]:
        return {r["Name"]: r["Id"] for r in self.client.records.values()}


def test_up_creates_everything_in_order(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.client.health_after["db"] = 2
    assert world.up() == [
        " Network demo_default  Creating",
        " Network demo_default  Created",
        ' Volume "demo_data"  Creating',
        ' Volume "demo_data"  Created',
        " Container demo-db-1  Creating",
        " Container demo-db-1  Created",
        " Container demo-web-1  Creating",
        " Container demo-web-1  Created",
        " Container demo-db-1  Starting",
        " Container demo-db-1  Started",
        " Container demo-db-1  Waiting",
        " Container demo-db-1  Healthy",
        " Container demo-web-1  Starting",
        " Container demo-web-1  Started",
    ]
    assert world.client.nets["demo_default"]["Labels"] == {
        "com.docker.compose.network": "default", "com.docker.compose.project": "demo",
        "com.docker.compose.version": "2.29.7"}
    assert world.client.vols["demo_data"]["Labels"]["com.docker.compose.volume"] == "data"
    assert world.client.names() == ["demo-db-1", "demo-web-1"]


def test_up_again_keeps_unchanged_containers(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.up()
    before = world.ids()
    assert world.up() == [
        " Container demo-db-1  Running",
        " Container demo-web-1  Running",
        " Container demo-db-1  Waiting",
        " Container demo-db-1  Healthy",
    ]
    assert world.ids() == before


def test_a_changed_service_is_recreated_alone(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.up()
    before = world.ids()
    world.write(APP.replace("sleep 1000", "sleep 2000"))
    assert world.up() == [
        " Container demo-db-1  Running",
        " Container demo-web-1  Recreate",
        " Container demo-web-1  Recreated",
        " Container demo-db-1  Waiting",
        " Container demo-db-1  Healthy",
        " Container demo-web-1  Starting",
        " Container demo-web-1  Started",
    ]
    after = world.ids()
    assert after["demo-db-1"] == before["demo-db-1"]
    assert after["demo-web-1"] != before["demo-web-1"]
    rename = [c for c in world.client.calls if c[0] == "rename"]
    assert rename == [("rename", f"{before['demo-web-1'][:12]}_demo-web-1", "demo-web-1")]
    labels = world.client.by_name("demo-web-1")["Config"]["Labels"]
    assert labels["com.docker.compose.replace"] == before["demo-web-1"]


def test_recreating_a_dependency_restarts_its_dependents(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.up()
    before = world.ids()
    world.write(APP.replace("httpd -f", "httpd -f -v"))
    lines = world.up()
    assert lines[:6] == [
        " Container demo-web-1  Stopping",
        " Container demo-web-1  Stopped",
        " Container demo-db-1  Recreate",
        " Container demo-db-1  Recreated",
        " Container demo-web-1  Created",
        " Container demo-db-1  Starting",
    ]
    assert world.ids()["demo-web-1"] == before["demo-web-1"]
    assert world.client.by_name("demo-web-1")["State"]["Status"] == "running"


def test_force_and_no_recreate(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.up()
    before = world.ids()
    world.up(recreate=RECREATE_NEVER)
    assert world.ids() == before
    world.up(recreate=RECREATE_FORCE, services=("web",), no_deps=True)
    after = world.ids()
    assert after["demo-db-1"] == before["demo-db-1"] and after["demo-web-1"] != before["demo-web-1"]


def test_scale_up_and_down(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.up(scale={"web": 3})
    assert world.client.names() == ["demo-db-1", "demo-web-1", "demo-web-2", "demo-web-3"]
    lines = world.up(scale={"web": 1})
    assert " Container demo-web-3  Removed" in lines and " Container demo-web-2  Removed" in lines
    assert world.client.names() == ["demo-db-1", "demo-web-1"]


def test_orphans(tmp_path: Path) -> None:
    world = World(tmp_path, APP.replace("\nvolumes:\n", "\n  old:\n    image: busybox\nvolumes:\n"))
    world.up()
    world.write(APP)
    lines = world.up()
    assert ("WARN[0000] Found orphan containers ([demo-old-1]) for this project. If you removed or renamed this "
            "service in your compose file, you can run this command with the --remove-orphans flag to clean it up."
            ) in lines
    lines = world.up(remove_orphans=True)
    assert " Container demo-old-1  Removed" in lines
    assert "demo-old-1" not in world.client.names()


def test_failed_dependencies(tmp_path: Path) -> None:
    world = World(tmp_path, APP.replace("service_healthy", "service_completed_successfully"))
    world.client.exit_codes["db"] = 3
    with pytest.raises(ServiceFailed, match="service \"db\" didn't complete successfully: exit 3"):
        world.up()
    world = World(tmp_path, APP)
    world.client.exit_codes["db"] = 1
    with pytest.raises(ServiceFailed, match=r"dependency failed to start: container demo-db-1 exited \(1\)"):
        world.up()


def test_completed_successfully(tmp_path: Path) -> None:
    world = World(tmp_path, APP.replace("service_healthy", "service_completed_successfully"))
    world.client.exit_codes["db"] = 0
    lines = world.up()
    assert lines[-4:] == [" Container demo-db-1  Waiting", " Container demo-db-1  Exited",
                          " Container demo-web-1  Starting", " Container demo-web-1  Started"]


def test_missing_images_are_pulled(tmp_path: Path) -> None:
    world = World(tmp_path, "services:\n  app:\n    image: example/app:1.0\n")
    lines = world.up()
    assert lines[:3] == [" app  Pulling", " app  Pulled", " Network demo_default  Creating"]
    assert world.client.pulled == ["example/app:1.0"]
    world = World(tmp_path, "services:\n  app:\n    image: nothere\n    pull_policy: never\n")
    with pytest.raises(ServiceFailed, match="No such image: nothere"):
        world.up()
    world = World(tmp_path, "services:\n  app:\n    image: mine\n    build: .\n")
    with pytest.raises(Unsupported, match="building images is not supported yet"):
        world.up()


def test_existing_resources_of_another_owner_are_warned_about(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.client.create_network("demo_default", labels={})
    world.client.create_volume("demo_data", labels={"com.docker.compose.project": "other"})
    lines = world.up()
    assert ("WARN[0000] a network with name demo_default exists but was not created by compose.") in lines
    assert ('WARN[0000] volume "demo_data" already exists but was created for project "other" (expected "demo"). '
            "Use `external: true` to use an existing volume") in lines


def test_external_resources_must_exist(tmp_path: Path) -> None:
    world = World(tmp_path, "services: {a: {image: busybox, networks: [n]}}\nnetworks: {n: {external: true}}\n")
    with pytest.raises(ServiceFailed, match="network n declared as external, but could not be found"):
        world.up()


def test_down_removes_containers_then_networks_and_volumes(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.up()
    world.err.seek(0)
    world.err.truncate()
    removed = Lifecycle(world.converger()).down("demo", world.project(), DownOptions(volumes=True, timeout=1))
    assert removed
    assert world.lines() == [
        " Container demo-web-1  Stopping",
        " Container demo-web-1  Stopped",
        " Container demo-web-1  Removing",
        " Container demo-web-1  Removed",
        " Container demo-db-1  Stopping",
        " Container demo-db-1  Stopped",
        " Container demo-db-1  Removing",
        " Container demo-db-1  Removed",
        " Network demo_default  Removing",
        " Network demo_default  Removed",
        " Volume demo_data  Removing",
        " Volume demo_data  Removed",
    ]
    assert world.client.records == {} and world.client.nets == {} and world.client.vols == {}
    assert not Lifecycle(world.converger()).down("demo", world.project(), DownOptions())


def test_down_without_the_file_uses_labels(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.up()
    world.err.seek(0)
    world.err.truncate()
    Lifecycle(world.converger()).down("demo", None, DownOptions(volumes=True))
    assert [line for line in world.lines() if "Removed" in line] == [
        " Container demo-web-1  Removed", " Container demo-db-1  Removed", " Network demo_default  Removed",
        " Volume demo_data  Removed"]


def test_stop_start_restart_rm(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.up()
    lifecycle = Lifecycle(world.converger())
    project = world.project()
    world.err.seek(0)
    world.err.truncate()
    lifecycle.stop(project, [], None)
    assert world.lines() == [" Container demo-web-1  Stopping", " Container demo-web-1  Stopped",
                             " Container demo-db-1  Stopping", " Container demo-db-1  Stopped"]
    world.err.seek(0)
    world.err.truncate()
    with pytest.raises(ServiceFailed, match=r"dependency failed to start: container demo-db-1 exited \(137\)"):
        lifecycle.start(project, ["web"])
    assert world.lines() == [" Container demo-db-1  Waiting", " Container demo-db-1  Error"]
    world.err.seek(0)
    world.err.truncate()
    lifecycle.start(project, [])
    assert world.lines()[0] == " Container demo-db-1  Starting"
    world.err.seek(0)
    world.err.truncate()
    lifecycle.restart(project, ["web"], 1)
    assert world.lines() == [" Container demo-web-1  Restarting", " Container demo-web-1  Started"]
    lifecycle.stop(project, ["web"], None)
    removable = lifecycle.removable(project, [], stopped_too=False)
    assert [c.name for c in removable] == ["demo-web-1"]
    lifecycle.remove(removable, stop_first=False, volumes=True)
    assert world.client.names() == ["demo-db-1"]


SHARED = """
services:
  vpn:
    image: busybox
    command: sleep 1000
    environment: {LEVEL: "1"}
  app:
    image: busybox
    command: sleep 1000
    network_mode: service:vpn
  backup:
    image: busybox
    command: sleep 1000
    volumes_from: [vpn:ro]
"""


def test_recreating_a_service_recreates_what_shares_its_namespace_or_volumes(tmp_path: Path) -> None:
    """``network_mode: service:x`` and ``volumes_from: [x]`` point at x's container: when x is
    recreated they are too (as Compose does, by hashing the resolved references)."""
    world = World(tmp_path, SHARED)
    world.up()
    before = world.ids()
    world.up()
    assert world.ids() == before  # nothing changed: all kept
    world.write(SHARED.replace('LEVEL: "1"', 'LEVEL: "2"'))
    world.up()
    after = world.ids()
    assert set(after) == set(before) and all(after[n] != before[n] for n in after)
    records = {r["Name"]: r for r in world.client.records.values()}
    vpn = after["demo-vpn-1"]
    assert records["demo-app-1"]["HostConfig"]["NetworkMode"] == f"container:{vpn}"
    assert records["demo-backup-1"]["HostConfig"]["VolumesFrom"] == [f"{vpn}:ro"]
