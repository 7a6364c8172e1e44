"""A stand-in for Neutron, enough for Nova servers created with "networks": "none".

Nova talks to Neutron even for servers without a network: it lists the ports of a server on delete, shelve,
unshelve and when it refreshes its network info cache, and it reads the extension list. This answers every
collection GET (/v2.0/ports, /v2.0/networks, /v2.0/extensions, ...) with an empty list, a GET of one item
with 404, and anything that would change something with 404 too, so a server that asks for a real network
fails loudly instead of getting a fake one. No authentication is checked.

    /usr/bin/python3 neutron_stub.py PORT          (binds 127.0.0.1 only)
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "warmpool-neutron-stub/1"

    def _send(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Openstack-Request-Id", "req-warmpool-neutron-stub")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _not_found(self, what):
        self._send(404, {"NeutronError": {"type": "HTTPNotFound", "message": f"{what} not found (stub)",
                                          "detail": ""}})

    def _drain(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)

    def do_GET(self):
        self._drain()
        path = urlsplit(self.path).path.rstrip("/")
        if path.endswith(".json"):
            path = path[: -len(".json")]
        base = f"http://{self.headers.get('Host', '127.0.0.1')}"
        if path == "":
            self._send(200, {"versions": [{"id": "v2.0", "status": "CURRENT",
                                           "links": [{"href": f"{base}/v2.0/", "rel": "self"}]}]})
            return
        if path == "/v2.0":
            self._send(200, {"resources": []})
            return
        parts = [p for p in path.split("/") if p]
        if parts[0] != "v2.0":
            self._not_found(path)
            return
        parts = parts[1:]
        # /v2.0/<collection>, also nested ones such as /v2.0/qos/policies: an empty list named after the
        # last segment (dashes become underscores: security-groups -> security_groups).
        if len(parts) == 1 or (len(parts) == 2 and parts[0] in ("qos", "lbaas", "fw", "vpn")):
            self._send(200, {parts[-1].replace("-", "_"): []})
            return
        if parts[0] == "quotas" and len(parts) == 2:
            self._send(200, {"quota": {"network": -1, "subnet": -1, "port": -1, "router": -1,
                                       "floatingip": -1, "security_group": -1,
                                       "security_group_rule": -1}})
            return
        self._not_found("/".join(parts))

    do_HEAD = do_GET

    def do_POST(self):
        self._drain()
        self._not_found(urlsplit(self.path).path)

    do_PUT = do_POST
    do_DELETE = do_POST

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.log_date_time_string(), fmt % args))
        sys.stderr.flush()


def main():
    port = int(sys.argv[1])
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    sys.stderr.write(f"neutron stub listening on 127.0.0.1:{port}\n")
    sys.stderr.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
