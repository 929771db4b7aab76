/** demand_paging_test's knobs, by their letters, with their defaults and bounds. */

/** Options of a demand-paging run (docs/api.md). */
export interface DemandPagingOptions {
  /** -v: vCPUs. */
  vcpus: number;
  /** -b: guest memory per vCPU, bytes (a multiple of 4096). */
  bytesPerVcpu: number;
  /** -u: MISSING (anonymous memory, UFFDIO_COPY) or MINOR (a memfd whose page cache holds the pages, UFFDIO_CONTINUE). */
  mode: 'missing' | 'minor';
  /** -a: one uffd for all guest memory (else one per vCPU). */
  singleUffd: boolean;
  /** -r: reader threads per uffd; 'per-vcpu' = as many as vCPUs (table A's -v n -r n). */
  readers: number | 'per-vcpu';
  /** -d: µs a reader waits before serving each message ("to simulate demand paging overheads"). */
  handlerDelayUs: number;
  /** -w: KVM_MEM_ABSENT_MAPPING_FAULT slots; faults exit and are resolved in the vCPU's thread. */
  exits: boolean;
  /** -o: every vCPU touches the same memory (implies one uffd, as -a). */
  overlap: boolean;
  /** The source's per-page fetch latency, µs: a named, reported parameter. */
  fetchLatencyUs: number;
  /** Readers park on fd_wqh non-exclusively ('all': today's kernel, every fault wakes every parked reader) or exclusively (Peter Xu's patch). */
  wake: 'all' | 'exclusive';
  /**
   * Pages each vCPU faults through the same path, in a region of its own, before the measured pass:
   * every vCPU and reader thread compiles its fault path anew, and a cold one is several times slower.
   */
  warmupPages: number;
}

/** The defaults: table A's configuration (-b 64M -u MINOR -a -r n). */
export const DEMAND_PAGING_DEFAULTS: DemandPagingOptions = {
  vcpus: 1, bytesPerVcpu: 64 << 20, mode: 'minor', singleUffd: true, readers: 'per-vcpu', handlerDelayUs: 0,
  exits: false, overlap: false, fetchLatencyUs: 0, wake: 'all', warmupPages: 8192,
};

/** Largest vCPU count of a real-thread run (the discrete-event model goes further). */
export const MAX_REAL_VCPUS = 64;
/** Largest guest memory of a run: the host model's physical memory is at most 4 GiB. */
export const MAX_GUEST_BYTES = 3 * 2 ** 30;
/** Most reader threads of a run, all uffds together. */
export const MAX_READER_THREADS = 256;

function fail(field: string, rule: string, got: unknown): never {
  throw new RangeError(`demandPaging: ${field} ${rule} (got ${JSON.stringify(got)})`);
}

function int(o: Record<string, unknown>, field: string, min: number, max: number): void {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(field, `must be an integer in [${min}, ${max}]`, v);
}

/** The options with defaults filled in; an unknown or out-of-range option is a RangeError naming it. */
export function demandPagingOptions(partial: Partial<DemandPagingOptions> = {}): DemandPagingOptions {
  if (typeof partial !== 'object' || partial === null) fail('options', 'must be an object', partial);
  for (const k of Object.keys(partial)) {
    if (!(k in DEMAND_PAGING_DEFAULTS)) fail(k, `is not an option (options: ${Object.keys(DEMAND_PAGING_DEFAULTS).join(', ')})`, (partial as Record<string, unknown>)[k]);
  }
  const o = { ...DEMAND_PAGING_DEFAULTS, ...partial } as DemandPagingOptions;
  const r = o as unknown as Record<string, unknown>;
  int(r, 'vcpus', 1, MAX_REAL_VCPUS);
  int(r, 'bytesPerVcpu', 4096, MAX_GUEST_BYTES);
  if (o.bytesPerVcpu % 4096 !== 0) fail('bytesPerVcpu', 'must be a multiple of 4096', o.bytesPerVcpu);
  int(r, 'warmupPages', 0, 65536);
  if ((o.overlap ? 1 : o.vcpus) * o.bytesPerVcpu + o.vcpus * o.warmupPages * 4096 > MAX_GUEST_BYTES) {
    fail('bytesPerVcpu', `times vcpus, with the warm-up pages, must be at most ${MAX_GUEST_BYTES} bytes`, o.bytesPerVcpu);
  }
  if (o.mode !== 'missing' && o.mode !== 'minor') fail('mode', "must be 'missing' or 'minor'", o.mode);
  for (const b of ['singleUffd', 'exits', 'overlap'] as const) if (typeof o[b] !== 'boolean') fail(b, 'must be a boolean', o[b]);
  if (o.readers !== 'per-vcpu') int(r, 'readers', 1, MAX_READER_THREADS);
  const uffds = o.singleUffd || o.overlap ? 1 : o.vcpus;
  const readers = (o.readers === 'per-vcpu' ? o.vcpus : o.readers) * uffds;
  if (readers > MAX_READER_THREADS) fail('readers', `times uffds (${uffds}) must be at most ${MAX_READER_THREADS} threads`, o.readers);
  int(r, 'handlerDelayUs', 0, 1_000_000);
  int(r, 'fetchLatencyUs', 0, 1_000_000);
  if (o.wake !== 'all' && o.wake !== 'exclusive') fail('wake', "must be 'all' or 'exclusive'", o.wake);
  return o;
}
