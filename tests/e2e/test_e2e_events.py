"""Container events: a flow through the docker CLI v28 while ``docker events`` listens; every
action dockerd reports comes with its attributes and the legacy ``status``/``id``/``from``
fields, and each body of ``GET /events`` matches the v1.44 EventMessage definition.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from api_schema import validate_response
from unix_http import UnixHTTPConnection

from conftest import DOCKER_CLI, DaemonHandle

pytestmark = pytest.mark.e2e

T = 60
ACTIONS = {"create", "start", "die", "stop", "kill", "destroy", "attach", "exec_create", "exec_start",
           "exec_die", "pause", "unpause", "rename", "restart", "oom", "update", "resize"}


def api(d: DaemonHandle, method: str, path: str) -> bytes:
    conn = UnixHTTPConnection(d.socket)
    try:
        conn.request(method, "/v1.44" + path)
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    assert resp.status < 300, (resp.status, data)
    return data


def the_flow(d: DaemonHandle) -> dict[str, str]:
    """Every container action once at least; the container IDs by name."""
    ids: dict[str, str] = {}
    ids["ev"] = d.docker("create", "--name", "ev", "-l", "team=blue", "busybox", "sh", "-c",
                         'trap "exit 7" USR1; while :; do sleep 0.1; done', timeout=T).stdout.strip()
    d.docker("start", "ev", timeout=T)
    d.docker("rename", "ev", "ev2", timeout=T)
    assert d.docker("exec", "ev2", "sh", "-c", "exit 3", check=False, timeout=T).returncode == 3
    d.docker("exec", "ev2", "true", timeout=T)
    d.docker("pause", "ev2", timeout=T)
    d.docker("unpause", "ev2", timeout=T)
    d.docker("update", "--pids-limit", "99", "ev2", timeout=T)
    d.docker("kill", "-s", "USR1", "ev2", timeout=T)  # its trap exits: kill, then die
    d.docker("wait", "ev2", timeout=T)
    d.docker("start", "ev2", timeout=T)
    d.docker("restart", "-t", "1", "ev2", timeout=T)
    d.docker("stop", "-t", "1", "ev2", timeout=T)
    d.docker("rm", "ev2", timeout=T)
    # attach comes with an attached run; resize with a tty
    d.docker("run", "--name", "att", "busybox", "true", timeout=T)
    ids["att"] = d.docker("inspect", "-f", "{{.Id}}", "att", timeout=T).stdout.strip()
    ids["tty"] = d.docker("run", "-dit", "--name", "tty", "busybox", "sh", timeout=T).stdout.strip()
    api(d, "POST", "/containers/tty/resize?h=30&w=100")
    proc = d.docker("run", "--name", "oomy", "-m", "8m", "--memory-swap", "8m", "busybox", "tail", "/dev/zero",
                    check=False, timeout=T)
    assert proc.returncode == 137, proc.stderr
    ids["oomy"] = d.docker("inspect", "-f", "{{.Id}}", "oomy", timeout=T).stdout.strip()
    return ids


def test_every_container_action_is_published_in_dockers_shape(d: DaemonHandle) -> None:
    since = time.time()
    listener = subprocess.Popen([DOCKER_CLI, "events", "--filter", "type=container", "--format", "{{json .}}"],
                                env=d.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)  # the listener has subscribed
        ids = the_flow(d)
        time.sleep(0.5)
        until = time.time()
    finally:
        listener.terminate()
        cli_out, _ = listener.communicate(timeout=T)

    raw = api(d, "GET", f"/events?since={since:.9f}&until={until:.9f}&filters="
                        + '{"type":["container"]}'.replace('"', "%22"))
    events = [json.loads(line) for line in raw.splitlines() if line.strip()]
    for event in events:
        validate_response("EventMessage", event)
        assert event["Type"] == "container" and event["scope"] == "local", event
        assert event["status"] == event["Action"] and event["id"] == event["Actor"]["ID"], event
        assert event["from"] == event["Actor"]["Attributes"]["image"] == "busybox", event
        assert event["time"] == event["timeNano"] // 10**9, event
        assert event["Actor"]["Attributes"]["name"], event
    seen = {e["Action"].split(":")[0] for e in events}
    assert seen >= ACTIONS, ACTIONS - seen

    # the docker CLI got the same stream
    cli_events = [json.loads(line) for line in cli_out.splitlines() if line.strip()]
    assert [(e["Action"], e["Actor"]["ID"]) for e in cli_events] == [(e["Action"], e["Actor"]["ID"])
                                                                     for e in events]

    ev = [e for e in events if e["Actor"]["ID"] == ids["ev"]]
    actions = [e["Action"] for e in ev]
    attrs = {a: next(e["Actor"]["Attributes"] for e in ev if e["Action"] == a) for a in actions}
    assert actions[:2] == ["create", "start"], actions
    assert attrs["create"]["team"] == "blue" and attrs["create"]["name"] == "ev"
    assert attrs["rename"]["oldName"] == "/ev" and attrs["rename"]["name"] == "ev2"
    execs = [e for e in ev if e["Action"].startswith("exec_")]
    assert [e["Action"] for e in execs] == ["exec_create: sh -c exit 3", "exec_start: sh -c exit 3", "exec_die",
                                            "exec_create: true ", "exec_start: true ", "exec_die"], execs
    exec_id = execs[0]["Actor"]["Attributes"]["execID"]
    assert len(exec_id) == 64 and all(e["Actor"]["Attributes"]["execID"] == exec_id for e in execs[:3])
    assert execs[2]["Actor"]["Attributes"]["exitCode"] == "3"
    assert execs[5]["Actor"]["Attributes"]["exitCode"] == "0"
    kills = [e["Actor"]["Attributes"]["signal"] for e in ev if e["Action"] == "kill"]
    assert kills[0] == "10", kills  # SIGUSR1
    assert "15" in kills and "9" in kills, kills  # restart/stop: SIGTERM, then SIGKILL after -t 1
    dies = [e["Actor"]["Attributes"] for e in ev if e["Action"] == "die"]
    assert dies[0]["exitCode"] == "7" and dies[0]["execDuration"].isdigit(), dies
    assert all(a["exitCode"] == "137" for a in dies[1:]), dies
    # start; restart = stop (kill 15, kill 9, die, stop) + start + restart; stop; rm: destroy
    tail = [a for a in actions if a != "kill"][-8:]
    assert tail == ["start", "die", "stop", "start", "restart", "die", "stop", "destroy"], actions
    assert attrs["update"]["name"] == "ev2" and "pause" in actions and "unpause" in actions

    att = [e["Action"] for e in events if e["Actor"]["ID"] == ids["att"]]
    assert att[:3] == ["create", "attach", "start"] and "die" in att, att
    resize = next(e for e in events if e["Actor"]["ID"] == ids["tty"] and e["Action"] == "resize")
    assert (resize["Actor"]["Attributes"]["height"], resize["Actor"]["Attributes"]["width"]) == ("30", "100")
    oomy = [e["Action"] for e in events if e["Actor"]["ID"] == ids["oomy"]]
    assert oomy.index("oom") < oomy.index("die"), oomy


def test_network_events_and_dockerd_s_filter_rules(d: DaemonHandle) -> None:
    since = time.time()
    d.docker("run", "--name", "netev-one", "busybox", "true", timeout=T)
    cid = d.docker("inspect", "-f", "{{.Id}}", "netev-one", timeout=T).stdout.strip()
    d.docker("rm", "netev-one", timeout=T)
    until = time.time() + 0.5
    window = ("--since", f"{since:.3f}", "--until", f"{until:.3f}")

    def actions(*args: str) -> list[str]:
        out = d.docker("events", *window, *args, "--format", "{{.Type}} {{.Action}}", timeout=T).stdout
        return out.splitlines()

    # the bridge's connect and disconnect frame the run, as dockerd's
    flow = actions("--filter", "container=netev")  # a prefix of the name matches, as of the ID
    assert flow == ["container create", "container attach", "container start", "container die", "container destroy"]
    everything = actions()
    assert everything.index("network connect") < everything.index("container start")
    assert everything.index("container die") < everything.index("network disconnect") < \
        everything.index("container destroy")
    raw = d.docker("events", *window, "--filter", "type=network", "--format", "{{json .}}", timeout=T).stdout
    connect = json.loads(raw.splitlines()[0])
    assert connect["Actor"]["Attributes"] == {"container": cid, "name": "bridge", "type": "bridge"}
    # unknown filter keys are ignored; since after until is an error
    assert actions("--filter", "bogus=1") == everything
    bad = d.docker("events", "--since", "200", "--until", "100", check=False, timeout=T)
    assert bad.returncode == 1 and "cannot be after `until` time" in bad.stderr
