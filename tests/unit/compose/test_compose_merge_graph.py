"""Merging files, and the dependency graph."""

from __future__ import annotations

import pytest

from dockyard.compose.errors import InvalidProject
from dockyard.compose.graph import check_cycles, dependents, start_order, stop_order, with_dependencies
from dockyard.compose.merge import merge_files, merge_service
from dockyard.compose.model import Dependency, Service


def test_merge_service_rules() -> None:
    base = {"image": "a", "command": ["x", "y"], "environment": ["A=1", "B=2"], "ports": ["80:80"],
            "depends_on": {"db": {"condition": "service_healthy"}}, "networks": ["front"],
            "volumes": ["./a:/data", "/cache"], "dns": ["1.1.1.1"], "healthcheck": {"test": "a", "interval": "1s"},
            "logging": {"driver": "json-file", "options": {"max-size": "1m"}}, "deploy": {"replicas": 2}}
    override = {"image": "b", "command": "z", "environment": {"B": "3"}, "ports": ["80:80", "90:90"],
                "depends_on": ["db", "cache"], "networks": {"back": {"aliases": ["x"]}},
                "volumes": ["./b:/data"], "dns": "8.8.8.8", "healthcheck": {"interval": "2s"},
                "logging": {"options": {"max-file": "3"}}, "deploy": {"resources": {}}}
    merged = merge_service(base, override)
    assert merged == {
        "image": "b", "command": "z", "environment": {"A": "1", "B": "3"}, "ports": ["80:80", "90:90"],
        "depends_on": {"db": {"condition": "service_healthy"}, "cache": None},
        "networks": {"front": None, "back": {"aliases": ["x"]}},
        "volumes": ["./b:/data", "/cache"], "dns": ["1.1.1.1", "8.8.8.8"],
        "healthcheck": {"test": "a", "interval": "2s"},
        "logging": {"driver": "json-file", "options": {"max-size": "1m", "max-file": "3"}},
        "deploy": {"replicas": 2, "resources": {}},
    }


def test_logging_driver_change_replaces_options() -> None:
    merged = merge_service({"logging": {"driver": "json-file", "options": {"a": "1"}}},
                           {"logging": {"driver": "syslog"}})
    assert merged["logging"] == {"driver": "syslog"}


def test_merge_files_adds_services_and_resources() -> None:
    merged = merge_files({"services": {"a": {"image": "x"}}, "volumes": {"v": {"driver": "local"}}},
                         {"services": {"b": {"image": "y"}}, "volumes": {"v": {"labels": {"k": "v"}}}, "name": "n"})
    assert merged == {"services": {"a": {"image": "x"}, "b": {"image": "y"}},
                      "volumes": {"v": {"driver": "local", "labels": {"k": "v"}}}, "name": "n"}


def svc(name: str, *deps: str, network_mode: str = "") -> Service:
    return Service(name=name, image="busybox", depends_on=tuple(Dependency(d) for d in deps),
                   network_mode=network_mode)


def test_orders() -> None:
    services = [svc("web", "api"), svc("api", "db", "cache"), svc("db"), svc("cache"), svc("proxy", network_mode="service:web")]
    assert start_order(services) == ["db", "cache", "api", "web", "proxy"]
    assert stop_order(services) == ["proxy", "web", "api", "cache", "db"]
    assert with_dependencies(services, ["api"]) == {"api", "db", "cache"}
    assert dependents(services, "db") == ["api", "web", "proxy"]


def test_cycles() -> None:
    with pytest.raises(InvalidProject, match="dependency cycle detected: a -> b -> c -> a"):
        check_cycles([svc("a", "b"), svc("b", "c"), svc("c", "a")])
