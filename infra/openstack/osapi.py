"""REST steps of infra/openstack/up, run with /usr/bin/python3 (standard library only).

    osapi.py resources    flavors and the image: prints KEY=VALUE lines on stdout
    osapi.py wait-ready S waits up to S seconds until Nova would schedule a server: the conductor, the
                          scheduler and both computes up (and reported after WP_SINCE, epoch seconds,
                          when set), both hypervisors up, both resource providers in Placement, and
                          (when OS_APPLICATION_CREDENTIAL_ID is set) a token for it
    osapi.py check        one quick try of wait-ready (exit 0 when ready)

Everything comes from the environment that up sets: WP_KEYSTONE_URL, WP_NOVA_URL, WP_PLACEMENT_URL,
WP_GLANCE_URL, WP_ADMIN_PASSWORD, WP_HOSTS (comma separated), WP_SINCE. (The identities are made by
setup_db.py, in Keystone's bootstrap process.) Progress and errors go to stderr.
"""

import calendar
import json
import os
import sys
import time
import urllib.error
import urllib.request

ENV = os.environ
KEYSTONE = ENV.get("WP_KEYSTONE_URL", "").rstrip("/")
if KEYSTONE.endswith("/v3"):
    KEYSTONE = KEYSTONE[: -len("/v3")]
IMAGE_NAME = "warmpool-tiny"
# id, name, vcpus, ram MB, disk GB. A flavor with 0 GB of disk is refused for a non-admin boot from an
# image (policy os_compute_api:servers:create:zero_disk_flavor), hence 1 GB.
FLAVORS = (("wp.tiny", "wp.tiny", 1, 64, 1), ("wp.small", "wp.small", 1, 128, 1),
           ("wp.medium", "wp.medium", 2, 256, 1))


TRACE = False  # set for the one-time setup commands: each call and its time goes to their log


def log(msg):
    sys.stderr.write(f"openstack/osapi: {msg}\n")
    sys.stderr.flush()


class ApiError(Exception):
    def __init__(self, method, url, status, body):
        super().__init__(f"{method} {url} -> {status}: {body[:400]}")
        self.status = status


def call(method, url, token=None, body=None, headers=None, raw=None, timeout=30):
    hdrs = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    if raw is not None:
        data = raw
        hdrs["Content-Type"] = "application/octet-stream"
    if token:
        hdrs["X-Auth-Token"] = token
    hdrs.update(headers or {})
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            text = resp.read().decode() or "null"
            if TRACE:
                log(f"{method} {url} -> {resp.status} in {time.monotonic() - t0:.2f}s")
            return resp.status, json.loads(text) if text.strip()[:1] in "{[n" else text, resp.headers
    except urllib.error.HTTPError as err:
        raise ApiError(method, url, err.code, err.read().decode(errors="replace")) from None


def token_password(user, password, project, domain="Default"):
    _, body, headers = call("POST", f"{KEYSTONE}/v3/auth/tokens", body={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"name": domain}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"name": domain}}}}})
    return headers["X-Subject-Token"], body["token"]


def token_app_cred(cred_id, secret):
    _, body, headers = call("POST", f"{KEYSTONE}/v3/auth/tokens", body={"auth": {"identity": {
        "methods": ["application_credential"],
        "application_credential": {"id": cred_id, "secret": secret}}}})
    return headers["X-Subject-Token"], body["token"]


def admin_token():
    return token_password("admin", ENV["WP_ADMIN_PASSWORD"], "admin")[0]


def resources():
    tok = admin_token()
    nova = ENV["WP_NOVA_URL"].rstrip("/")
    glance = ENV["WP_GLANCE_URL"].rstrip("/")
    for fid, name, vcpus, ram, disk in FLAVORS:
        try:
            call("GET", f"{nova}/flavors/{fid}", tok)
        except ApiError as err:
            if err.status != 404:
                raise
            call("POST", f"{nova}/flavors", tok, {"flavor": {
                "id": fid, "name": name, "vcpus": vcpus, "ram": ram, "disk": disk,
                "os-flavor-access:is_public": True}})
            log(f"flavor {name}: {vcpus} vCPU, {ram} MB, {disk} GB")

    _, body, _ = call("GET", f"{glance}/v2/images?name={IMAGE_NAME}", tok)
    image = next((i for i in body["images"] if i["status"] == "active"), None)
    for stale in body["images"]:
        if image is None or stale["id"] != image["id"]:
            call("DELETE", f"{glance}/v2/images/{stale['id']}", tok)
    if image is None:
        _, image, _ = call("POST", f"{glance}/v2/images", tok, {
            "name": IMAGE_NAME, "disk_format": "raw", "container_format": "bare", "visibility": "public",
            "min_disk": 0, "min_ram": 0})
        # 4 KiB of zeros: the fake driver never boots it.
        call("PUT", f"{glance}/v2/images/{image['id']}/file", tok, raw=b"\0" * 4096)
        for _ in range(100):
            _, image, _ = call("GET", f"{glance}/v2/images/{image['id']}", tok)
            if image["status"] == "active":
                break
            time.sleep(0.1)
        else:
            raise SystemExit(f"image {image['id']} is {image['status']}, not active")
        log(f"image {IMAGE_NAME} ({image['id']})")
    print(f"IMAGE_ID={image['id']}")
    print(f"FLAVOR_ID={FLAVORS[0][0]}")


_ADMIN_TOKEN = []


def reported_at(service):
    """Epoch seconds of a service's last report (its updated_at, UTC), 0 when it has none yet."""
    stamp = service.get("updated_at")
    if not stamp:
        return 0
    return calendar.timegm(time.strptime(stamp.split(".")[0], "%Y-%m-%dT%H:%M:%S"))


def readiness():
    """None when Nova would schedule a server now, else why not."""
    hosts = ENV["WP_HOSTS"].split(",")
    try:
        if not _ADMIN_TOKEN:
            _ADMIN_TOKEN.append(admin_token())
        tok = _ADMIN_TOKEN[0]
        nova = ENV["WP_NOVA_URL"].rstrip("/")
        _, body, _ = call("GET", f"{nova}/os-services", tok, timeout=10)
        # A service counts once it has reported after WP_SINCE (when up started services): its first report
        # comes after its RPC server is listening, while a record left by a process that is gone still
        # reads "up" for service_down_time (60 s).
        since = float(ENV.get("WP_SINCE") or 0)
        up = {(s["binary"], s["host"]) for s in body["services"] if s["state"] == "up"
              and s["status"] == "enabled" and reported_at(s) >= since}
        binaries = {b for b, _ in up}
        for binary in ("nova-conductor", "nova-scheduler"):
            if binary not in binaries:
                return f"{binary} is not up"
        for host in hosts:
            if ("nova-compute", host) not in up:
                return f"nova-compute on {host} is not up"
        _, body, _ = call("GET", f"{nova}/os-hypervisors/detail", tok, timeout=10)
        hyp = {h["hypervisor_hostname"]: h for h in body["hypervisors"]}
        for host in hosts:
            if host not in hyp or hyp[host]["state"] != "up" or hyp[host]["status"] != "enabled":
                return f"hypervisor {host} is not up"
        _, body, _ = call("GET", f"{ENV['WP_PLACEMENT_URL'].rstrip('/')}/resource_providers", tok,
                          headers={"OpenStack-API-Version": "placement 1.14"}, timeout=10)
        names = {rp["name"] for rp in body["resource_providers"]}
        for host in hosts:
            if host not in names:
                return f"no resource provider for {host} in Placement"
        if ENV.get("OS_APPLICATION_CREDENTIAL_ID"):
            token_app_cred(ENV["OS_APPLICATION_CREDENTIAL_ID"], ENV["OS_APPLICATION_CREDENTIAL_SECRET"])
    except ApiError as err:
        if err.status == 401:
            _ADMIN_TOKEN.clear()
        return str(err)
    except (OSError, KeyError, ValueError) as err:
        return f"{type(err).__name__}: {err}"
    return None


def wait_ready(seconds):
    deadline = time.monotonic() + seconds
    while True:
        why = readiness()
        if why is None:
            return 0
        if time.monotonic() >= deadline:
            log(f"not ready: {why}")
            return 1
        time.sleep(1)


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    try:
        global TRACE
        if cmd == "resources":
            TRACE = True
            resources()
        elif cmd == "wait-ready":
            return wait_ready(float(sys.argv[2]))
        elif cmd == "check":
            return 0 if readiness() is None else 1
        else:
            log(f"unknown command '{cmd}'")
            return 2
    except ApiError as err:
        log(str(err))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
