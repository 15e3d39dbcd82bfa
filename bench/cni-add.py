#!/usr/bin/env python3
"""Start time of bin/vesicle-cni, exec to exit, JVM included: VERSION with and without the AppCDS
archive, then ADD (100 sequential, 100 as 8 in parallel) against a stub agent on a unix socket
that answers at once. The agent's own work (veth, namespace, datapath) is not in these figures;
they are what the plugin costs the runtime on top of it."""
import json, os, socket, socketserver, statistics, subprocess, sys, tempfile, threading, time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLUGIN = os.path.join(ROOT, "bin", "vesicle-cni")


class Stub(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        line = self.rfile.readline().decode()
        method, path, _ = line.split(" ", 2)
        length = 0
        while True:
            h = self.rfile.readline().decode().strip()
            if not h:
                break
            k, v = h.split(":", 1)
            if k.lower() == "content-length":
                length = int(v)
        body = json.loads(self.rfile.read(length) or b"{}")
        if path == "/v1/endpoints" and method == "PUT":
            answer = {"id": 1, "containerID": body["containerID"], "ifname": body["ifname"],
                      "netns": body["netns"], "hostIf": "lxc0123456789a", "hostMac": "02:00:00:00:00:01",
                      "mac": "02:00:00:00:00:02", "address": "10.244.0.2/24", "gateway": "10.244.0.1",
                      "mtu": 1450, "ipamOwned": True}
        else:
            answer = {"status": "ok"}
        data = json.dumps(answer).encode()
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                         b"Connection: close\r\n\r\n" % len(data) + data)


def run(env, stdin=b""):
    start = time.perf_counter()
    p = subprocess.run([PLUGIN], input=stdin, env=env, capture_output=True)
    elapsed = (time.perf_counter() - start) * 1000
    if p.returncode != 0:
        sys.exit("plugin failed: %s %s" % (p.stdout, p.stderr))
    return elapsed


def summary(name, samples):
    s = sorted(samples)
    p = lambda q: s[min(len(s) - 1, int(round(q * (len(s) - 1))))]
    print("%-34s n=%3d  p50 %6.1f ms  p99 %6.1f ms  min %6.1f ms" % (name, len(s), p(0.50), p(0.99), s[0]))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    base = {k: v for k, v in os.environ.items() if not k.startswith("CNI_")}
    version = dict(base, CNI_COMMAND="VERSION")
    run(version)  # page cache
    summary("VERSION, AppCDS archive", [run(version) for _ in range(n)])
    summary("VERSION, no archive", [run(dict(version, VESICLE_CNI_CDS="0")) for _ in range(n)])
    with tempfile.TemporaryDirectory() as tmp:
        sock = os.path.join(tmp, "agent.sock")
        server = Stub(sock, Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        conf = json.dumps({"cniVersion": "1.1.0", "name": "bench", "type": "vesicle", "agentSocket": sock}).encode()

        def add(i, extra=None):
            env = dict(base, CNI_COMMAND="ADD", CNI_CONTAINERID="bench%d" % i, CNI_NETNS="/proc/self/ns/net",
                       CNI_IFNAME="eth0", CNI_PATH="/opt/cni/bin",
                       CNI_ARGS="K8S_POD_NAMESPACE=default;K8S_POD_NAME=bench-%d" % i)
            env.update(extra or {})
            return run(env, conf)

        summary("ADD sequential, AppCDS archive", [add(i) for i in range(n)])
        summary("ADD sequential, no archive", [add(i, {"VESICLE_CNI_CDS": "0"}) for i in range(n)])
        with ThreadPoolExecutor(8) as pool:
            summary("ADD 8 in parallel, AppCDS archive", list(pool.map(add, range(n))))
        server.shutdown()


if __name__ == "__main__":
    main()
