"""One-time database setup of infra/openstack/up, each in ONE /usr/bin/python3 process.

Importing Keystone or Nova costs 4-5 s of CPU; keystone-manage and nova-manage do one command per process,
so on a 2-core machine their four or five runs are most of the time `up` takes from empty. These call the
same code the tools do (Debian's Zed packages), one after the other, in one process:

    setup_db.py keystone KEYSTONE-MANAGE-BOOTSTRAP-ARGS...   db_sync, bootstrap with those arguments, then
                                                             the identities the stack needs (provision())
    setup_db.py nova CONF[,CONF...] CELL0_DB_URL             api_db sync, cell_v2 map_cell0,
                                                             cell_v2 create_cell --name cell1, db sync
"""

import sys


def keystone(argv):
    # keystone-manage's own entry point, run for `bootstrap`; its command class is wrapped so that the
    # schema is brought up to date first (what `keystone-manage db_sync` does), with the same config.
    from keystone.cmd import cli
    from keystone.common.sql import upgrades

    bootstrap = cli.BootStrap.main

    def sync_then_bootstrap(cls):
        upgrades.offline_sync_database_to_version(None)
        print("keystone: database synced", flush=True)
        bootstrap()
        print("keystone: bootstrapped", flush=True)
        provision()

    cli.BootStrap.main = classmethod(sync_then_bootstrap)
    cli.main(argv=["keystone-manage"] + argv)
    return 0


def provision():
    """After bootstrap, in the same process and through the same managers it uses (no HTTP, no tokens):
    the `service` project and the service users (admin there), the catalog (compute, placement, image,
    network in WP_REGION), the tests' project and member user `warmpool`, and an application credential
    `warmpool-tests` of that user (a new one each run: its secret is known only when made). Writes
    KEY=VALUE lines (ids, the credential) to the file WP_IDS_FILE. Settings come from the environment
    that up sets (WP_*)."""
    import base64
    import os
    import secrets
    import uuid

    from keystone.common import driver_hints
    from keystone.common import provider_api
    import keystone.conf
    from keystone import exception

    apis = provider_api.ProviderAPIs
    env = os.environ
    domain_id = keystone.conf.CONF.identity.default_domain_id

    def hints(**filters):
        h = driver_hints.Hints()
        for key, value in filters.items():
            h.add_filter(key, value)
        return h

    def role(name):
        found = apis.role_api.list_roles(hints(name=name, domain_id=None))
        if found:
            return found[0]
        rid = uuid.uuid4().hex
        return apis.role_api.create_role(rid, {"id": rid, "name": name})

    def project(name, description):
        try:
            return apis.resource_api.get_project_by_name(name, domain_id)
        except exception.ProjectNotFound:
            pid = uuid.uuid4().hex
            return apis.resource_api.create_project(pid, {
                "id": pid, "name": name, "domain_id": domain_id, "enabled": True, "description": description})

    def user(name, password, default_project_id=None):
        try:
            return apis.identity_api.get_user_by_name(name, domain_id)
        except exception.UserNotFound:
            ref = {"name": name, "domain_id": domain_id, "enabled": True, "password": password}
            if default_project_id:
                ref["default_project_id"] = default_project_id
            return apis.identity_api.create_user(ref)

    def grant(user_ref, project_ref, role_ref):
        try:
            apis.assignment_api.add_role_to_user_and_project(
                user_id=user_ref["id"], project_id=project_ref["id"], role_id=role_ref["id"])
        except exception.Conflict:
            pass

    admin, member, reader = role("admin"), role("member"), role("reader")
    service_project = project("service", "OpenStack services")
    for name in ("nova", "placement", "glance"):
        grant(user(name, env["WP_SERVICE_PASSWORD"]), service_project, admin)

    for name, kind, url in (("nova", "compute", env["WP_NOVA_URL"]),
                            ("placement", "placement", env["WP_PLACEMENT_URL"]),
                            ("glance", "image", env["WP_GLANCE_URL"]),
                            ("neutron", "network", env["WP_NEUTRON_URL"])):
        services = apis.catalog_api.list_services(hints(type=kind))
        if services:
            service = services[0]
        else:
            sid = uuid.uuid4().hex
            service = apis.catalog_api.create_service(
                sid, {"id": sid, "name": name, "type": kind, "enabled": True})
        existing = {e["interface"]: e
                    for e in apis.catalog_api.list_endpoints(hints(service_id=service["id"]))}
        for interface in ("public", "internal", "admin"):
            if interface in existing:
                if existing[interface]["url"] != url:
                    apis.catalog_api.update_endpoint(existing[interface]["id"], {"url": url})
                continue
            eid = uuid.uuid4().hex
            apis.catalog_api.create_endpoint(eid, {
                "id": eid, "interface": interface, "url": url, "service_id": service["id"],
                "region_id": env["WP_REGION"], "enabled": True})

    tests = project("warmpool", "warmpool tests")
    tester = user("warmpool", env["WP_MEMBER_PASSWORD"], tests["id"])
    grant(tester, tests, member)

    creds = apis.application_credential_api
    for old in creds.list_application_credentials(tester["id"], hints=hints(name="warmpool-tests")):
        creds.delete_application_credential(old["id"])
    # As POST /v3/users/{id}/application_credentials makes it: a 64-byte secret, the roles of the user's
    # token on the project (member, and reader that member implies).
    secret = base64.urlsafe_b64encode(secrets.token_bytes(64)).rstrip(b"=").decode()
    cred = creds.create_application_credential({
        "id": uuid.uuid4().hex, "name": "warmpool-tests", "description": "warmpool tests (dev stack)",
        "secret": secret, "user_id": tester["id"], "project_id": tests["id"],
        "roles": [{"id": member["id"], "name": member["name"]}, {"id": reader["id"], "name": reader["name"]}],
        "expires_at": None, "unrestricted": False})

    admin_project = apis.resource_api.get_project_by_name("admin", domain_id)
    ids = {"APP_CRED_ID": cred["id"], "APP_CRED_SECRET": secret, "PROJECT_ID": tests["id"],
           "USER_ID": tester["id"], "ADMIN_PROJECT_ID": admin_project["id"],
           "SERVICE_PROJECT_ID": service_project["id"]}
    path = env["WP_IDS_FILE"]
    with open(path + ".tmp", "w") as out:
        os.fchmod(out.fileno(), 0o600)
        out.writelines(f"{k}={v}\n" for k, v in ids.items())
    os.replace(path + ".tmp", path)
    print("keystone: service users, catalog, project and user warmpool, application credential", flush=True)


def nova(conf_files, cell0_url):
    from nova.cmd import manage
    from nova import config
    from nova import objects
    from oslo_log import log as logging

    args = ["nova-manage"]
    for conf_file in conf_files.split(","):
        args += ["--config-file", conf_file]
    config.parse_args(args)
    logging.setup(manage.CONF, "nova")
    objects.register_all()

    def check(what, rc, ok=(0, None)):
        if rc not in ok:
            raise SystemExit(f"nova: {what} failed ({rc})")
        print(f"nova: {what} done", flush=True)

    check("api_db sync", manage.ApiDbCommands().sync())
    check("cell_v2 map_cell0", manage.CellV2Commands().map_cell0(database_connection=cell0_url))
    # 2: a cell with this transport URL and database exists already (a run cut short before).
    check("cell_v2 create_cell", manage.CellV2Commands().create_cell(name="cell1", verbose=True),
          ok=(0, 2, None))
    check("db sync (cell0 and cell1)", manage.DbCommands().sync())
    return 0


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "keystone":
        return keystone(sys.argv[2:])
    if len(sys.argv) == 4 and sys.argv[1] == "nova":
        return nova(sys.argv[2], sys.argv[3])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
