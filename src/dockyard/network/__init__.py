"""Container networking: the default ``bridge`` network (more network drivers come later).

    ipam       addresses and subnets (Docker's default pools), allocations in an injected store
    bridge     Linux bridge and veth endpoints over netlink (our own rtnetlink client, _netlink)
    netns      named network namespace files the runtime joins through config.json
    firewall   masquerade/forward rules: nftables (nftables.py) + narrow iptables accepts (iptables.py)
    files      /etc/hosts, /etc/resolv.conf and /etc/hostname contents

Importing this package is cheap; the netlink client (socket + struct) loads only with ``bridge``.
"""

from __future__ import annotations

DEFAULT_NETWORK = "bridge"  # Docker's name for the default network
DEFAULT_BRIDGE = "dockyard0"
DEFAULT_MTU = 1500
