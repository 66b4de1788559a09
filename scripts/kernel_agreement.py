#!/usr/bin/env python3
"""Check portaudit's verdicts against the Linux kernel itself.

For each iptables-save (and nftables) fixture, the ruleset is loaded into its own network namespace,
probe packets for boundary and random flows are sent through it, and what the kernel accepts is
compared with what `portaudit trace` says for the same packets. Every disagreement is a bug in
portaudit or in this harness: fix it, do not tune the probes.

Topology (IPv4):

    ns pa-src  a0 ---- eth0  ns pa-fw  eth1 ---- b0  ns pa-dst
                       198.18.0.1      198.19.0.1

Probes are crafted with a raw socket in pa-src (any source address), enter the firewall on eth0 and
are routed out of eth1 (forward hook) or delivered locally to 198.18.0.1 (input hook). What the
ruleset accepts is observed without touching it: an nftables table of our own has base chains on the
same hooks at priority 100, after the filter chains (priority 0), with one counting rule per probe; a
packet dropped by the ruleset never reaches them.

Needs root, iproute2, iptables (nft backend) and nft. When namespaces cannot be created it says so
loudly and exits 3 (or 0 with --allow-skip).
"""

import argparse
import ipaddress
import json
import os
import random
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile

NS_SRC, NS_FW, NS_DST = "pa-src", "pa-fw", "pa-dst"
FW_ADDR = "198.18.0.1"
FW_PEER = "198.18.0.2"
FW_OUT = "198.19.0.1"
DST_PEER = "198.19.0.2"


def sh(*args, ns=None, check=True, input=None):
    cmd = list(args)
    if ns:
        cmd = ["ip", "netns", "exec", ns] + cmd
    r = subprocess.run(cmd, input=input, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {r.stderr.strip()}")
    return r


def teardown():
    for ns in (NS_SRC, NS_FW, NS_DST):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def interfaces_of(text):
    """The ingress and egress interface names the ruleset's forward rules use (eth0/eth1 by default),
    so the namespace's interfaces carry the names the rules match."""
    ins = [m for m in re.findall(r"-i\s+(\w[\w.-]*)", text) if m != "lo"]
    outs = [m for m in re.findall(r"-o\s+(\w[\w.-]*)", text) if m != "lo"]
    ins += [m for m in re.findall(r'iifname\s+"?(\w[\w.-]*)', text) if m != "lo"]
    outs += [m for m in re.findall(r'oifname\s+"?(\w[\w.-]*)', text) if m != "lo"]
    ingress = ins[0] if ins else "eth0"
    egress = next((o for o in outs if o != ingress), "eth1" if ingress != "eth1" else "eth0")
    return ingress, egress


def setup(ingress="eth0", egress="eth1"):
    teardown()
    for ns in (NS_SRC, NS_FW, NS_DST):
        sh("ip", "netns", "add", ns)
    sh("ip", "link", "add", "a0", "netns", NS_SRC, "type", "veth", "peer", "name", ingress, "netns", NS_FW)
    sh("ip", "link", "add", "b0", "netns", NS_DST, "type", "veth", "peer", "name", egress, "netns", NS_FW)
    sh("ip", "addr", "add", FW_PEER + "/24", "dev", "a0", ns=NS_SRC)
    sh("ip", "addr", "add", FW_ADDR + "/24", "dev", ingress, ns=NS_FW)
    sh("ip", "addr", "add", FW_OUT + "/24", "dev", egress, ns=NS_FW)
    sh("ip", "addr", "add", DST_PEER + "/24", "dev", "b0", ns=NS_DST)
    for ns, dev in ((NS_SRC, "a0"), (NS_FW, ingress), (NS_FW, egress), (NS_DST, "b0")):
        sh("ip", "link", "set", dev, "up", ns=ns)
        sh("ip", "link", "set", "lo", "up", ns=ns)
    sh("ip", "route", "add", "default", "via", FW_ADDR, "dev", "a0", ns=NS_SRC)
    # Everything not local leaves the firewall through eth1, so probes take the forward hook.
    sh("ip", "route", "add", "default", "via", DST_PEER, "dev", egress, ns=NS_FW)
    sh("ip", "route", "add", "default", "via", FW_OUT, "dev", "b0", ns=NS_DST)
    for key, value in (
        ("net.ipv4.ip_forward", "1"),
        ("net.ipv4.conf.all.rp_filter", "0"),
        ("net.ipv4.conf.default.rp_filter", "0"),
        (f"net.ipv4.conf.{ingress}.rp_filter", "0"),
        (f"net.ipv4.conf.{egress}.rp_filter", "0"),
        ("net.ipv4.conf.all.accept_local", "1"),
    ):
        sh("sysctl", "-qw", f"{key}={value}", ns=NS_FW)


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return (~s) & 0xFFFF


def packet(proto, src, dst, sport, dport, ident):
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    if proto == 17:
        payload = b"portaudit-probe"
        length = 8 + len(payload)
        hdr = struct.pack("!HHHH", sport, dport, length, 0)
        pseudo = s + d + struct.pack("!BBH", 0, 17, length)
        csum = checksum(pseudo + hdr + payload) or 0xFFFF
        l4 = struct.pack("!HHHH", sport, dport, length, csum) + payload
    else:
        seq = 1000 + ident
        hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
        pseudo = s + d + struct.pack("!BBH", 0, 6, len(hdr))
        csum = checksum(pseudo + hdr)
        l4 = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02, 64240, csum, 0)
    total = 20 + len(l4)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, ident & 0xFFFF, 0, 64, proto, 0, s, d)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + l4


SENDER = r"""
import json, socket, sys
pkts = json.load(sys.stdin)
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
for hexpkt, dst in pkts:
    s.sendto(bytes.fromhex(hexpkt), (dst, 0))
"""


# ----------------------------------------------------------------------------------------------
# Probes


def edges_of(text):
    """Ports and networks written in a ruleset (an independent reading: a regex over the text)."""
    ports, nets = set(), set()
    for m in re.finditer(r"--(?:dport|sport|dports|sports|ports)\s+!?\s*([\w,:]+)", text):
        for item in m.group(1).split(","):
            for x in item.split(":"):
                if x.isdigit():
                    ports.add(int(x))
    for m in re.finditer(r"\b(?:dport|sport)\s+(?:!=\s*)?\{?\s*([\d,\s-]+)", text):
        for x in re.split(r"[,\s-]+", m.group(1)):
            if x.isdigit():
                ports.add(int(x))
    for m in re.finditer(r"(\d+\.\d+\.\d+\.\d+(?:/\d+)?)", text):
        try:
            nets.add(ipaddress.ip_network(m.group(1), strict=False))
        except ValueError:
            pass
    return ports, nets


def port_edges(ports):
    out = set()
    for p in ports:
        for q in (p - 1, p, p + 1):
            if 1 <= q <= 65535:
                out.add(q)
    return out


def addr_edges(nets):
    out = set()
    for n in nets:
        if n.prefixlen == 0 or n.version != 4:
            continue
        first, last = int(n.network_address), int(n.broadcast_address)
        for v in (first - 1, first, first + 1, last - 1, last, last + 1):
            if 0 < v < 2**32:
                a = ipaddress.IPv4Address(v)
                if not (a.is_multicast or a.is_loopback or a.is_unspecified or a.is_reserved or a.is_link_local):
                    out.add(str(a))
    return out


# Ports the packs require (each required-flow edge), so they are probed on every ruleset.
PACK_PORTS = [80, 443, 943, 2010, 2012, 2015, 3478, 4510, 5060, 5061, 5634, 5638, 8089, 10000, 20000, 23, 21, 161]


def probes_for(text, rng, n_random, ingress="eth0", egress="eth1"):
    ports, nets = edges_of(text)
    ports = sorted(port_edges(ports | set(PACK_PORTS)))
    addrs = sorted(addr_edges(nets) - {FW_ADDR, FW_PEER, FW_OUT, DST_PEER})
    srcs = addrs + ["203.0.113.77", "100.64.0.9"]
    dsts = addrs + ["192.0.2.55"]
    probes = []
    for proto in (6, 17):
        for port in ports:
            # Each port edge from a few sources, forward and input.
            for src in [srcs[(port * 7) % len(srcs)], srcs[(port * 13 + 5) % len(srcs)]]:
                dst = dsts[(port * 3) % len(dsts)]
                probes.append(dict(hook="forward", proto=proto, src=src, dst=dst, dport=port))
                probes.append(dict(hook="input", proto=proto, src=src, dst=FW_ADDR, dport=port))
        for src in srcs:
            for dst in dsts[:40]:
                probes.append(dict(hook="forward", proto=proto, src=src, dst=dst, dport=ports[(len(probes) * 31) % len(ports)]))
    # Each rule's own corners: its source and destination networks' edges with its port edges.
    for line in text.splitlines():
        if not re.match(r"\s*(-A|add rule|ip |tcp |udp |meta )", line) and "dport" not in line:
            continue
        lports, lnets = edges_of(line)
        s_nets = [ipaddress.ip_network(m, strict=False) for m in re.findall(r"(?:-s|saddr)\s+(?:!=\s*)?(\d+\.\d+\.\d+\.\d+(?:/\d+)?)", line)]
        d_nets = [ipaddress.ip_network(m, strict=False) for m in re.findall(r"(?:-d|daddr)\s+(?:!=\s*)?(\d+\.\d+\.\d+\.\d+(?:/\d+)?)", line)]
        l_srcs = sorted(addr_edges(s_nets)) or rng.sample(srcs, min(8, len(srcs)))
        l_dsts = sorted(addr_edges(d_nets)) or rng.sample(dsts, min(8, len(dsts)))
        l_ports = sorted(port_edges(lports)) or [rng.choice(ports)]
        protos = [6] if re.search(r"-p\s+tcp|\btcp\b", line) else [17] if re.search(r"-p\s+udp|\budp\b", line) else [6, 17]
        for proto in protos:
            for src in l_srcs[:6]:
                for dst in l_dsts[:6]:
                    for port in l_ports[:8]:
                        probes.append(dict(hook="forward", proto=proto, src=src, dst=dst, dport=port))
                        probes.append(dict(hook="input", proto=proto, src=src, dst=FW_ADDR, dport=port))
    for _ in range(n_random):
        proto = rng.choice((6, 17))
        hook = rng.choice(("forward", "input"))
        src = rng.choice(srcs) if rng.random() < 0.7 else str(ipaddress.IPv4Address(rng.randrange(0x01000000, 0xDF000000)))
        dst = FW_ADDR if hook == "input" else (rng.choice(dsts) if rng.random() < 0.7 else str(ipaddress.IPv4Address(rng.randrange(0x01000000, 0xDF000000))))
        port = rng.choice(ports) if rng.random() < 0.5 else rng.randrange(1, 65536)
        probes.append(dict(hook=hook, proto=proto, src=src, dst=dst, dport=port))
    # Drop probes the topology cannot carry (sources or destinations that are our own links).
    bad = ipaddress.ip_network("198.18.0.0/15")
    out = []
    for p in probes:
        s, d = ipaddress.IPv4Address(p["src"]), ipaddress.IPv4Address(p["dst"])
        if s in bad or s.is_multicast or s.is_loopback or s.is_unspecified or s.is_reserved or s.is_link_local:
            continue
        if p["hook"] == "forward" and (d in bad or d.is_multicast or d.is_loopback or d.is_reserved or d.is_link_local or d.is_unspecified):
            continue
        out.append(p)
    for i, p in enumerate(out):
        p["sport"] = 20000 + i % 40000
        p["iif"] = ingress
        if p["hook"] == "forward":
            p["oif"] = egress
    return out


# ----------------------------------------------------------------------------------------------


def load_ruleset(path, kind):
    if kind == "iptables":
        sh("iptables-restore", ns=NS_FW, input=open(path).read())
    else:
        sh("nft", "-f", path, ns=NS_FW)


def observe(probes):
    """Install one counting rule per probe after the filter chains; return the nft script."""
    lines = ["table ip portaudit_probe {"]
    for hook in ("input", "forward"):
        lines.append(f"  chain {hook} {{ type filter hook {hook} priority 100; policy accept;")
        for i, p in enumerate(probes):
            if p["hook"] != hook:
                continue
            l4 = "tcp" if p["proto"] == 6 else "udp"
            lines.append(
                f"    ip saddr {p['src']} ip daddr {p['dst']} {l4} sport {p['sport']} {l4} dport {p['dport']} counter comment \"p{i}\""
            )
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def counters():
    out = sh("nft", "-j", "list", "table", "ip", "portaudit_probe", ns=NS_FW).stdout
    seen = {}
    for item in json.loads(out)["nftables"]:
        rule = item.get("rule")
        if not rule or "comment" not in rule:
            continue
        packets = sum(e["counter"]["packets"] for e in rule["expr"] if "counter" in e)
        seen[int(rule["comment"][1:])] = packets
    return seen


def portaudit_verdicts(binary, path, probes):
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for p in probes:
            f.write(json.dumps(p) + "\n")
        name = f.name
    try:
        r = sh(binary, "trace", path, "--probes", name, check=False)
        if r.returncode != 0:
            raise RuntimeError(f"portaudit trace failed: {r.stderr}")
    finally:
        os.unlink(name)
    verdicts = []
    for line in r.stdout.splitlines():
        v = json.loads(line)["verdicts"]
        verdicts.append(v[0] if v else {"fate": "none", "by": "no filter", "line": 0, "uncertain": False})
    return verdicts


def check_file(binary, path, kind, rng, n_random):
    text = open(path).read()
    ingress, egress = interfaces_of(text)
    probes = probes_for(text, rng, n_random, ingress, egress)
    verdicts = portaudit_verdicts(binary, path, probes)
    setup(ingress, egress)
    try:
        load_ruleset(path, kind)
        sh("nft", "-f", "-", ns=NS_FW, input=observe(probes))
        pkts = [[packet(p["proto"], p["src"], p["dst"], p["sport"], p["dport"], i).hex(), p["dst"]] for i, p in enumerate(probes)]
        sh(sys.executable, "-c", SENDER, ns=NS_SRC, input=json.dumps(pkts))
        seen = counters()
    finally:
        teardown()
    disagreements, uncertain, allowed = [], 0, 0
    for i, (p, v) in enumerate(zip(probes, verdicts)):
        kernel = "allow" if seen.get(i, 0) > 0 else "deny"
        allowed += kernel == "allow"
        if v["uncertain"] or v["fate"] == "unknown":
            uncertain += 1
            continue
        if v["fate"] != kernel:
            disagreements.append((p, v, kernel))
    return len(probes), allowed, uncertain, disagreements


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--portaudit", default="target/debug/portaudit")
    ap.add_argument("--random", type=int, default=300, help="random probes per ruleset")
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--allow-skip", action="store_true", help="exit 0 when namespaces cannot be created")
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()
    files = args.files or sorted(
        [os.path.join("fixtures/iptables", f) for f in os.listdir("fixtures/iptables") if f.endswith(".rules")]
        + ["fixtures/exports/wfo-gateway.rules"]
        + ([os.path.join("fixtures/nftables", f) for f in os.listdir("fixtures/nftables") if f.endswith(".nft")] if os.path.isdir("fixtures/nftables") else [])
    )
    missing = [t for t in ("ip", "iptables-restore", "nft") if not shutil.which(t)]
    problem = None
    if os.geteuid() != 0:
        problem = "not running as root"
    elif missing:
        problem = f"missing tools: {', '.join(missing)} (apt-get install iproute2 iptables nftables)"
    else:
        r = subprocess.run(["ip", "netns", "add", "pa-probe-check"], capture_output=True, text=True)
        subprocess.run(["ip", "netns", "del", "pa-probe-check"], capture_output=True)
        if r.returncode != 0:
            problem = f"cannot create network namespaces: {r.stderr.strip()}"
    if problem:
        print("!" * 78)
        print(f"!! KERNEL AGREEMENT CHECK SKIPPED: {problem}")
        print("!! portaudit's verdicts were NOT compared with the Linux kernel in this run.")
        print("!" * 78)
        sys.exit(0 if args.allow_skip else 3)
    rng = random.Random(args.seed)
    total = total_unc = 0
    bad = []
    for path in files:
        kind = "nftables" if path.endswith((".nft",)) else "iptables"
        try:
            n, allowed, unc, dis = check_file(args.portaudit, path, kind, rng, args.random)
        except RuntimeError as e:
            print(f"{path}: could not run: {e}")
            bad.append((path, None, None, str(e)))
            continue
        total += n
        total_unc += unc
        print(f"{path}: {n} probes ({allowed} accepted by the kernel), {unc} uncertain (not compared), {len(dis)} disagreements")
        for p, v, kernel in dis[:20]:
            print(f"  DISAGREE {json.dumps(p)}: portaudit {v['fate']} by {v['by']} (line {v['line']}), kernel {kernel}")
        bad.extend((path, p, v, k) for p, v, k in dis)
    print(f"kernel agreement: {len(files)} rulesets, {total} probes sent, {total_unc} uncertain, {len(bad)} disagreements")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
