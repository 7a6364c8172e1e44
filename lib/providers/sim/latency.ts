/**
 * The sim cloud's latency model: how long each Nova action takes, from published figures. The numbers are
 * those of a modest private cloud of the VMThunder era (10 GbE image store, 1 GbE compute links, no base-image
 * cache warm on the hosts), which is the setting in which OpenStack's cold launch hurts most and the one the
 * warm pool is built for. Override any field through `SimCloudOptions.latency`.
 *
 * Calibration, on the virtual clock with the defaults below (see test/unit/sim-cloud.test.ts):
 * - cold launch of 1 instance ≈ 48 s (0.4 s scheduling + 17 s image transfer at 1 GbE + 30 s boot);
 * - cold launch of 100 over 10 hosts ≈ 260 s: 100 × 2 GiB leave the image store at 1 GB/s (≈ 215 s) while
 *   the scheduler takes them one by one, then the last boots. VMThunder (Zhang et al., "VMThunder: Fast
 *   Provisioning of Large-Scale Virtual Machine Clusters", IEEE TPDS 25(12), 2014) reports that OpenStack
 *   takes 200–700 s to launch 100 instances; we sit at the quiet end of that range, and a busier cloud
 *   (larger images, slower store) moves towards the other end.
 */
export interface LatencyModel {
  /** Fastest acceptance of an API call (request → 202), ms. */
  apiMinMs: number;
  /** Slowest acceptance of an API call, ms. Each call draws uniformly in [apiMinMs, apiMaxMs]. */
  apiMaxMs: number;
  /** Time the scheduler spends on one request, ms. The scheduler serves requests one at a time. */
  scheduleMs: number;
  /** Size of the image a launch (and an unshelve) pulls from the image store, bytes. */
  imageBytes: number;
  /** Egress bandwidth of the image store, shared by every transfer in flight, bytes/s. */
  storeBytesPerSec: number;
  /** Link bandwidth of one compute host, shared by the transfers to that host, bytes/s. */
  hostBytesPerSec: number;
  /** Guest boot, from power-on to a running guest, ms. Also what a start from `stopped` takes. */
  bootMs: number;
  /** Pause and unpause: freeze or thaw the vCPUs, memory stays on the host, ms. */
  pauseMs: number;
  /** Guest memory that suspend and hibernate write to disk and resume reads back, bytes. */
  memoryBytes: number;
  /** Host disk rate for saving or restoring guest memory, bytes/s. */
  diskBytesPerSec: number;
  /** Clean guest shutdown for a stop, ms. */
  shutdownMs: number;
  /** Shelve: snapshot the disk and upload it to the image store, then free the host, ms. */
  shelveMs: number;
  /** From an accepted delete to the instance being gone and its slot free, ms. */
  deleteMs: number;
  /** Relative jitter applied to each duration (0.15 = ±15 %), drawn from the seeded PRNG. */
  jitter: number;
}

const GiB = 1024 ** 3;

/**
 * Defaults, and where each number comes from:
 * - API 30–150 ms: nova-api answers an action with 202 Accepted once it has validated the request and cast
 *   it to the compute service (Nova API reference), before any work is done: a LAN round trip plus Keystone
 *   token validation and a few database queries, tens of ms to ~0.15 s.
 * - Scheduling 0.4 s: "Profiling the Nova scheduler" (OpenStack Summit, Fall 2012) found the Essex filter
 *   scheduler took ~26 s for 100 VMs, i.e. ~0.26 s each, handled one request at a time; the placement-era
 *   scheduler does a similar amount of work per request. We round up to 0.4 s.
 * - Image 2 GiB, store 1 GB/s, host link 125 MB/s: Nova copies the image from Glance to each compute node
 *   (the bottleneck the VMThunder Nova blueprint, openstack-dev April 2014, describes: "booting a single VM
 *   needs to read a large amount of image data from the image storage server"). A 10 GbE Glance backend
 *   delivers ~1 GB/s in practice, a 1 GbE compute link 125 MB/s; 2 GiB sits between a minimal Linux cloud
 *   image and a full distribution or Windows image.
 * - Boot 30 s: Mao & Humphrey, "A Performance Study on the VM Startup Time in the Cloud" (IEEE CLOUD 2012)
 *   measured VM startup on EC2, Azure and Rackspace in tens of seconds to minutes, growing with image size
 *   and with the number of instances requested at once; Peter Feiner's "Scaling the Boot Barrier"
 *   (OpenStack Summit 2013) shows one instance ACTIVE in seconds on an idle host with a cached image but 20
 *   in parallel taking minutes. We take the guest's own boot (kernel, init, cloud-init) as 30 s.
 * - Pause 0.3 s: Nova's pause is libvirt virDomainSuspend, which stops the vCPUs and keeps memory in RAM;
 *   unpause is virDomainResume. Both are a QMP command, well under a second.
 * - Suspend/resume 4 GiB at 500 MB/s ≈ 8.6 s: Nova's suspend is libvirt managedSave, which writes guest
 *   memory to a file on the host's disk and frees RAM; resume reads it back (libvirt application
 *   development guide, "Save / restore"). Hibernate (EC2 hibernation, guest-initiated suspend-to-disk)
 *   writes the same RAM to the root volume, so it costs the same here.
 * - Shutdown 7 s: an ACPI shutdown of a Linux guest; Nova waits up to `shutdown_timeout` (60 s) for it.
 * - Shelve 30 s: a snapshot of the root disk uploaded to Glance before the host is freed (Nova API
 *   reference, "Shelve server"). Unshelve pulls the image back through the store like a launch and boots.
 * - Delete 2 s: tearing down the domain, ports and disks on the compute node.
 * - Jitter ±15 %: spread of repeated measurements of the same action on an otherwise idle cloud.
 */
export const DEFAULT_LATENCY: Readonly<LatencyModel> = Object.freeze({
  apiMinMs: 30,
  apiMaxMs: 150,
  scheduleMs: 400,
  imageBytes: 2 * GiB,
  storeBytesPerSec: 1e9,
  hostBytesPerSec: 125e6,
  bootMs: 30_000,
  pauseMs: 300,
  memoryBytes: 4 * GiB,
  diskBytesPerSec: 500e6,
  shutdownMs: 7_000,
  shelveMs: 30_000,
  deleteMs: 2_000,
  jitter: 0.15,
});

/** The defaults with `overrides` applied; throws RangeError on a value that makes no sense. */
export function resolveLatency(overrides: Partial<LatencyModel> = {}): LatencyModel {
  const model: LatencyModel = { ...DEFAULT_LATENCY, ...overrides };
  for (const [key, value] of Object.entries(model)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new RangeError(`latency.${key} must be a finite number >= 0 (got ${String(value)})`);
    }
  }
  if (model.apiMaxMs < model.apiMinMs) {
    throw new RangeError(`latency.apiMaxMs (${model.apiMaxMs}) must be >= apiMinMs (${model.apiMinMs})`);
  }
  for (const key of ['storeBytesPerSec', 'hostBytesPerSec', 'diskBytesPerSec'] as const) {
    if (model[key] <= 0) throw new RangeError(`latency.${key} must be > 0 (got ${model[key]})`);
  }
  if (model.jitter >= 1) throw new RangeError(`latency.jitter must be < 1 (got ${model.jitter})`);
  return model;
}

/** Time to write (suspend, hibernate) or read back (resume) guest memory, ms. */
export function memoryImageMs(model: LatencyModel): number {
  return (model.memoryBytes / model.diskBytesPerSec) * 1000;
}
