"""``GET /containers/json`` filters on real container records, with dockerd's semantics and errors."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.api.container_filters import LIST_FILTERS, select
from dockyard.engine.containers.networking import BRIDGE_NETWORK_ID
from dockyard.engine.containers.record import ContainerRecord, NetworkAttachment
from dockyard.engine.containers.state import ContainerState
from dockyard.errors import InvalidArgument, NotFound

BUSYBOX_ID = "sha256:" + "b" * 64
DEBIAN_ID = "sha256:" + "d" * 64


def rec(cid: str, name: str, created: float, *, status: str = "running", exit_code: int = 0,
        started: bool = True, image: str = "busybox", image_id: str = BUSYBOX_ID, health: str = "",
        config: dict[str, Any] | None = None, host: dict[str, Any] | None = None,
        attached: bool = False) -> ContainerRecord:
    full_id = (cid * 64)[:64]
    state = ContainerState(status=status, pid=100 if status in ("running", "paused") else 0, exit_code=exit_code,
                           started_at=created + 1 if started else 0.0,
                           finished_at=created + 2 if status == "exited" else 0.0, health=health)
    network = NetworkAttachment("bridge", BRIDGE_NETWORK_ID, "e" * 64, "10.0.0.2", 24, "10.0.0.1",
                                "02:42:0a:00:00:02", "veth0") if attached else None
    return ContainerRecord(id=full_id, name=name, created=created, image=image, image_id=image_id,
                           request={"Config": {"Image": image, **(config or {})}, "HostConfig": host or {},
                                    "NetworkingConfig": {}},
                           state=state, network=network)


def names(records: list[ContainerRecord]) -> list[str]:
    return [r.name for r in records]


def pick(records: list[ContainerRecord], show_all: bool = True, **filters: list[str]) -> list[str]:
    return names(select(records, {k.replace("_", "-"): v for k, v in filters.items()}, show_all=show_all))


# oldest first; the list order given to select is kept in the output
A = rec("a", "alpha", 100, status="exited", exit_code=0, config={"Labels": {"tier": "db", "env": "prod"}})
B = rec("b", "beta", 200, status="exited", exit_code=3)
C = rec("c", "gamma", 300, status="created", started=False)
D = rec("d", "delta", 400, attached=True, config={"Labels": {"tier": "web"}})
E = rec("e", "epsilon", 500, status="paused", attached=True)
ALL = [E, D, C, B, A]  # newest first, as the store lists them


def test_every_docker_filter_key_is_accepted() -> None:
    docker = {"ancestor", "before", "exited", "id", "label", "name", "status", "health", "since", "volume",
              "network", "is-task", "publish", "expose", "isolation"}
    assert docker == LIST_FILTERS


def test_all_flag_and_running_only_default() -> None:
    assert pick(ALL, show_all=False) == ["epsilon", "delta"]  # paused counts as running
    assert pick(ALL) == ["epsilon", "delta", "gamma", "beta", "alpha"]


def test_before_and_since_by_name_and_full_id() -> None:
    assert pick(ALL, before=["gamma"]) == ["beta", "alpha"]
    assert pick(ALL, since=["gamma"]) == ["epsilon", "delta"]
    assert pick(ALL, before=[D.id]) == ["gamma", "beta", "alpha"]
    assert pick(ALL, since=["/beta"]) == ["epsilon", "delta", "gamma"]
    assert pick(ALL, since=["alpha"], before=["epsilon"]) == ["delta", "gamma", "beta"]


def test_before_and_since_follow_creation_time_not_list_order() -> None:
    assert pick([A, C, E, B, D], before=["delta"]) == ["alpha", "gamma", "beta"]


def test_before_and_since_do_not_imply_all() -> None:
    # dockerd cuts the list at the container, then still applies `all` (docker/for-linux#258)
    assert pick(ALL, show_all=False, before=["epsilon"]) == ["delta"]
    assert pick(ALL, show_all=False, since=["alpha"]) == ["epsilon", "delta"]


def test_before_and_since_need_a_full_id_or_an_exact_name() -> None:
    with pytest.raises(NotFound, match="^no such container dddd$"):
        select(ALL, {"before": ["dddd"]}, show_all=True)  # a short ID is not enough, as in dockerd
    with pytest.raises(NotFound, match="^no such container nope$"):
        select(ALL, {"since": ["nope"]}, show_all=True)
    with pytest.raises(NotFound):
        select(ALL, {"since": ["elt"]}, show_all=True)  # no substring match either


def test_status_implies_all_and_is_validated() -> None:
    assert pick(ALL, show_all=False, status=["exited"]) == ["beta", "alpha"]
    assert pick(ALL, show_all=False, status=["created", "paused"]) == ["epsilon", "gamma"]
    assert pick(ALL, status=["dead"]) == []
    for bad in ("foo", "Running", "run", "up"):
        with pytest.raises(InvalidArgument, match=rf"^Invalid filter 'status={bad}'$"):
            select(ALL, {"status": [bad]}, show_all=False)


def test_exited_needs_a_started_stopped_container_and_an_integer() -> None:
    assert pick(ALL, exited=["0"]) == ["alpha"]  # the created container's 0 does not count
    assert pick(ALL, exited=["3", "0"]) == ["beta", "alpha"]
    assert pick(ALL, show_all=False, exited=["0"]) == []  # exited does not imply all
    with pytest.raises(InvalidArgument, match=r'^strconv.Atoi: parsing "x": invalid syntax$'):
        select(ALL, {"exited": ["x"]}, show_all=True)


def test_health_defaults_to_none_and_is_validated() -> None:
    sick = rec("f", "sick", 600, health="unhealthy")
    fine = rec("9", "fine", 700, health="healthy")
    records = [fine, sick, *ALL]
    assert pick(records, health=["none"]) == names(ALL)
    assert pick(records, health=["unhealthy"]) == ["sick"]
    assert pick(records, health=["healthy", "starting"]) == ["fine"]
    with pytest.raises(InvalidArgument, match="^Unrecognised filter value for health: sick$"):
        select(records, {"health": ["sick"]}, show_all=True)


def test_is_task_true_matches_nothing_false_everything() -> None:
    assert pick(ALL, is_task=["true"]) == []
    assert pick(ALL, is_task=["false"]) == names(ALL)
    with pytest.raises(InvalidArgument, match=r"^Invalid filter 'is-task=\[maybe\]'$"):
        select(ALL, {"is-task": ["maybe"]}, show_all=True)


def test_id_is_a_unique_prefix() -> None:
    twin1 = rec("0", "twin1", 10)
    twin2 = ContainerRecord(id="0" * 63 + "1", name="twin2", created=11, image="busybox", image_id=BUSYBOX_ID,
                            request={}, state=ContainerState(status="running"))
    records = [twin2, twin1, *ALL]
    assert pick(records, id=["dd"]) == ["delta"]
    assert pick(records, id=[D.id]) == ["delta"]
    assert pick(records, id=["000"]) == []  # ambiguous: dockerd ignores it
    assert pick(records, id=["0" * 64]) == ["twin1"]
    assert pick(records, id=["dd", "bb"]) == ["delta", "beta"]
    assert pick(records, id=[""]) == []


def test_name_is_a_regular_expression_with_or_without_slash() -> None:
    assert pick(ALL, name=["elt"]) == ["delta"]
    assert pick(ALL, name=["^/?a"]) == ["alpha"]
    assert pick(ALL, name=["/beta"]) == ["beta"]
    assert pick(ALL, name=["a$"]) == ["delta", "gamma", "beta", "alpha"]
    assert pick(ALL, name=["^(beta|gamma)$"]) == ["gamma", "beta"]
    assert pick(ALL, name=["[invalid"]) == []


def test_id_and_name_together_must_both_match() -> None:
    assert pick(ALL, id=["dd"], name=["delta"]) == ["delta"]
    assert pick(ALL, id=["dd"], name=["beta"]) == []


def test_labels_key_and_key_value_all_required() -> None:
    assert pick(ALL, label=["tier"]) == ["delta", "alpha"]
    assert pick(ALL, label=["tier=db"]) == ["alpha"]
    assert pick(ALL, label=["tier=db", "env=prod"]) == ["alpha"]
    assert pick(ALL, label=["tier=db", "env=dev"]) == []
    assert pick(ALL, label=["tier="]) == []
    # Docker has no `!=` for container labels: `tier!=db` looks for a label named "tier!"
    assert pick(ALL, label=["tier!=db"]) == []
    odd = rec("7", "odd", 50, config={"Labels": {"tier!": "db"}})
    assert pick([odd, *ALL], label=["tier!=db"]) == ["odd"]


def test_ancestor_by_reference_name_and_id() -> None:
    tagged = rec("1", "tagged", 10, image="busybox:latest")
    hub = rec("2", "hub", 11, image="docker.io/library/busybox")
    other_tag = rec("3", "old", 12, image="busybox:1.36", image_id="sha256:" + "c" * 64)
    deb = rec("4", "deb", 13, image="debian:bookworm", image_id=DEBIAN_ID)
    by_id = rec("5", "byid", 14, image=DEBIAN_ID, image_id=DEBIAN_ID)
    records = [by_id, deb, other_tag, hub, tagged]
    assert pick(records, ancestor=["busybox"]) == ["hub", "tagged"]
    assert pick(records, ancestor=["busybox:latest"]) == ["hub", "tagged"]
    assert pick(records, ancestor=["docker.io/library/busybox:latest"]) == ["hub", "tagged"]
    assert pick(records, ancestor=["busybox:1.36"]) == ["old"]
    assert pick(records, ancestor=["debian:bookworm"]) == ["deb"]
    assert pick(records, ancestor=["dddddd"]) == ["byid", "deb"]
    assert pick(records, ancestor=[DEBIAN_ID]) == ["byid", "deb"]
    assert pick(records, ancestor=["sha256:ddd"]) == ["byid", "deb"]
    assert pick(records, ancestor=["nginx", "debian:bookworm"]) == ["deb"]
    assert pick(records, ancestor=["nginx"]) == []
    assert pick(records, ancestor=["Not A Ref!"]) == []


def test_volume_by_name_source_or_destination() -> None:
    binds = rec("1", "binds", 10, host={"Binds": ["/srv/data:/data:ro", "cache:/var/cache", "/anon"]})
    mounts = rec("2", "mounts", 11, host={"Mounts": [
        {"Type": "volume", "Source": "dbdata", "Target": "/var/lib/mysql"},
        {"Type": "bind", "Source": "/etc/app/", "Target": "/config/"},
        {"Type": "tmpfs", "Target": "/run/scratch"}]})
    image_volume = rec("3", "imgvol", 12, config={"Volumes": {"/var/lib/postgresql/data": {}}})
    records = [image_volume, mounts, binds, *ALL]
    assert pick(records, volume=["/data"]) == ["binds"]
    assert pick(records, volume=["/srv/data"]) == ["binds"]
    assert pick(records, volume=["cache"]) == ["binds"]
    assert pick(records, volume=["/var/cache"]) == ["binds"]
    assert pick(records, volume=["/anon"]) == ["binds"]
    assert pick(records, volume=["dbdata"]) == ["mounts"]
    assert pick(records, volume=["/config"]) == ["mounts"]
    assert pick(records, volume=["/etc/app"]) == ["mounts"]
    assert pick(records, volume=["/run/scratch"]) == ["mounts"]
    assert pick(records, volume=["/var/lib/postgresql/data"]) == ["imgvol"]
    assert pick(records, volume=["dbdata", "cache"]) == ["mounts", "binds"]
    assert pick(records, volume=["/srv"]) == []
    assert pick(records, volume=["data"]) == []


def test_network_by_name_or_id_prefix() -> None:
    host = rec("1", "host", 10, host={"NetworkMode": "host"})
    none = rec("2", "none", 11, host={"NetworkMode": "none"})
    shared = rec("3", "shared", 12, host={"NetworkMode": "container:" + "d" * 64})
    bridged = rec("4", "bridged", 13, host={"NetworkMode": "bridge"}, status="exited", attached=False)
    records = [bridged, shared, none, host, *ALL]
    default = ["bridged", "epsilon", "delta", "gamma", "beta", "alpha"]
    assert pick(records, network=["bridge"]) == default
    assert pick(records, network=[BRIDGE_NETWORK_ID[:12]]) == default
    assert pick(records, network=[BRIDGE_NETWORK_ID]) == default
    assert pick(records, network=["host"]) == ["host"]
    assert pick(records, network=["none"]) == ["none"]
    assert pick(records, network=["host", "none"]) == ["none", "host"]
    assert pick(records, network=["container"]) == []
    assert pick(records, network=["nope"]) == []


def web(cid: str, name: str, created: float, status: str = "running", **host: Any) -> ContainerRecord:
    return rec(cid, name, created, status=status, config={"ExposedPorts": {"80/tcp": {}, "53/udp": {}}},
               host=host)


def test_publish_matches_host_ports_and_expose_container_ports() -> None:
    plain = web("1", "plain", 10)
    published = web("2", "published", 11, PortBindings={"80/tcp": [{"HostIp": "", "HostPort": "8080"}],
                                                        "9000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "9001"}]})
    udp = web("3", "udp", 12, PortBindings={"53/udp": [{"HostIp": "", "HostPort": "5353"}]})
    records = [udp, published, plain, *ALL]
    assert pick(records, publish=["8080"]) == ["published"]
    assert pick(records, publish=["8080/tcp"]) == ["published"]
    assert pick(records, publish=["8080/udp"]) == []
    assert pick(records, publish=["80"]) == []  # publish is about the host side
    assert pick(records, publish=["5353/udp"]) == ["udp"]
    assert pick(records, publish=["8000-8100"]) == ["published"]
    assert pick(records, publish=["9001/tcp"]) == ["published"]
    assert pick(records, expose=["80"]) == ["udp", "published", "plain"]
    assert pick(records, expose=["9000"]) == ["published"]  # a binding's container port is exposed too
    assert pick(records, expose=["53/udp"]) == ["udp", "published", "plain"]
    assert pick(records, expose=["53"]) == []
    assert pick(records, expose=["1-100/udp"]) == ["udp", "published", "plain"]
    assert pick(records, expose=["8080"]) == []
    assert pick(records, publish=["8080"], expose=["9000"]) == ["published"]
    assert pick(records, publish=["5353/udp"], expose=["9000"]) == ["udp", "published"]  # either one


def test_ports_are_only_matched_while_the_container_runs_on_its_own_network() -> None:
    binding = {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}
    stopped = web("1", "stopped", 10, status="exited", PortBindings=binding)
    created = web("2", "created", 11, status="created", PortBindings=binding)
    paused = web("3", "paused", 12, status="paused", PortBindings=binding)
    host = web("4", "host", 13, NetworkMode="host", PortBindings=binding)
    records = [host, paused, created, stopped]
    assert pick(records, publish=["8080"]) == ["paused"]
    assert pick(records, expose=["80"]) == ["paused"]


@pytest.mark.parametrize(("key", "value", "message"), [
    ("publish", "8080:80", "filter for 'publish' should not contain ':': 8080:80"),
    ("expose", "abc", 'error while looking up for expose abc: strconv.ParseUint: parsing "abc": invalid syntax'),
    ("publish", "70000", 'error while looking up for publish 70000: strconv.ParseUint: parsing "70000": '
                         "value out of range"),
    ("publish", "90-80", "error while looking up for publish 90-80: invalid range specified for port: 90-80"),
    ("expose", "/tcp", "error while looking up for expose /tcp: empty string specified for ports"),
])
def test_port_filter_errors(key: str, value: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        select(ALL, {key: [value]}, show_all=True)
    assert str(info.value) == message


def test_filters_combine_with_and() -> None:
    assert pick(ALL, status=["exited"], label=["tier"]) == ["alpha"]
    assert pick(ALL, status=["running"], label=["tier"], network=["bridge"]) == ["delta"]
    assert pick(ALL, since=["beta"], status=["created", "running"]) == ["delta", "gamma"]


def test_values_are_checked_even_when_no_container_exists() -> None:
    with pytest.raises(InvalidArgument):
        select([], {"status": ["nope"]}, show_all=False)
    with pytest.raises(NotFound):
        select([], {"before": ["x"]}, show_all=False)
    assert select([], {"name": ["x"], "health": ["none"]}, show_all=False) == []


def test_records_survive_a_round_trip_through_their_document() -> None:
    restored = [ContainerRecord.from_document(r.to_document()) for r in ALL]
    assert pick(restored, network=["bridge"], since=["alpha"], show_all=False) == ["epsilon", "delta"]
