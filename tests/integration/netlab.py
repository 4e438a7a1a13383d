"""Hosts with real network isolation for the multi-host tests.

NetLab(n) creates a bridge in the root network namespace and n network
namespaces, each joined to the bridge by a veth pair and given its own
address in a private /24; the bridge has .1 (the front end in the root
namespace reaches the hosts through it), host i has .(10 + i). Processes
run in a host with `lab.prefix(i)` in front of their command
(`ip netns exec NAME`, which execs, so the pid is the command's).

Names carry this process's pid, so concurrent runs do not collide, and
close() removes everything it created (also after a failed setup);
call it from a finalizer. Needs root (CAP_NET_ADMIN) and iproute2.
"""
import ipaddress
import os
import subprocess


def _ip(*args, check=True):
    r = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        raise AssertionError(f"ip {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


def _used_networks():
    """IPv4 networks routed in the root namespace (ours must not overlap)."""
    nets = []
    for line in _ip("-4", "route", "show", "table", "all").stdout.splitlines():
        word = line.split()[0] if line.split() else ""
        if word in ("default", "broadcast", "local", "unreachable", "prohibit", "blackhole"):
            word = line.split()[1] if len(line.split()) > 1 else ""
        try:
            nets.append(ipaddress.ip_network(word, strict=False))
        except ValueError:
            pass
    return nets


class NetLab:
    def __init__(self, hosts):
        tag = str(os.getpid())
        self.bridge = f"tfbr{tag}"
        self.namespaces = [f"tfpm-host{i}-{tag}" for i in range(1, hosts + 1)]
        self._veths = [f"tfv{tag}h{i}" for i in range(1, hosts + 1)]
        self._created_bridge = False
        self._created = []  # namespaces we added
        used = _used_networks()
        for third in [os.getpid() % 200 + 20] + list(range(20, 220)):
            net = ipaddress.ip_network(f"10.231.{third}.0/24")
            if not any(net.overlaps(u) for u in used):
                break
        else:
            raise AssertionError("no free 10.231.x.0/24 network for the lab")
        self.network = net
        self.gateway = str(net.network_address + 1)
        self.addresses = [str(net.network_address + 10 + i) for i in range(1, hosts + 1)]
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def _build(self):
        for ns in self.namespaces:  # leftovers of an earlier run with our pid
            _ip("netns", "del", ns, check=False)
        _ip("link", "del", self.bridge, check=False)
        _ip("link", "add", self.bridge, "type", "bridge")
        self._created_bridge = True
        _ip("addr", "add", f"{self.gateway}/{self.network.prefixlen}", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for ns, veth, addr in zip(self.namespaces, self._veths, self.addresses):
            _ip("netns", "add", ns)
            self._created.append(ns)
            peer = veth + "p"
            _ip("link", "add", veth, "type", "veth", "peer", "name", peer)
            _ip("link", "set", peer, "netns", ns)
            _ip("-n", ns, "link", "set", peer, "name", "eth0")
            _ip("-n", ns, "addr", "add", f"{addr}/{self.network.prefixlen}", "dev", "eth0")
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "link", "set", "eth0", "up")
            _ip("link", "set", veth, "master", self.bridge)
            _ip("link", "set", veth, "up")

    def prefix(self, i):
        """Command prefix that runs a program in host i (0-based)."""
        return ["ip", "netns", "exec", self.namespaces[i]]

    def netns_of(self, pid):
        """The namespace inode of a process, to check where it runs."""
        return os.stat(f"/proc/{pid}/ns/net").st_ino

    def netns_inode(self, i):
        return os.stat(f"/run/netns/{self.namespaces[i]}").st_ino

    def close(self):
        """Removes the namespaces and the bridge (their veth pairs go with
        them). A namespace whose processes still run lives on unnamed until
        they exit; the caller stops them."""
        for veth in self._veths:
            _ip("link", "del", veth, check=False)
        for ns in self._created:
            _ip("netns", "del", ns, check=False)
        self._created = []
        if self._created_bridge:
            _ip("link", "del", self.bridge, check=False)
            self._created_bridge = False
