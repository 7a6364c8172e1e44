"""nova-compute for infra/openstack/up: Nova's own entry point (nova.cmd.compute), with one shortcut.

Nova Zed's resource tracker, on every change of a host's usage (each build, each delete), asks Placement for
the allocations of EVERY consumer on the host (GET /allocations/{uuid}, one request per server) to hand them
to the driver in case it must reshape its inventory. The fake driver never reshapes, so with 100 servers on
a host each build cost ~100 Placement requests and a bulk create of 120 servers took minutes on 2 cores.
The shortcut answers "no allocations" to that one question (used nowhere else); what a client of the API
sees does not change. WARMPOOL_OS_FAST_COMPUTE=0 in up's environment runs nova-compute unchanged.

    /usr/bin/python3 nova_compute.py --config-file ... (nova-compute's arguments)
"""

import os
import sys

# First: nova.cmd sets up eventlet's monkey patching before anything else of Nova is imported.
from nova.cmd.compute import main  # noqa: E402

if os.environ.get("WARMPOOL_OS_FAST_COMPUTE", "1") != "0":
    from nova.scheduler.client import report

    def _no_reshape_allocations(self, context, nodename):
        return {}

    report.SchedulerReportClient.get_allocations_for_provider_tree = _no_reshape_allocations

sys.exit(main())
