/**
 * The host's CPU topology, where the simulated threads run on it, and what moving a cache line
 * between two of its hardware threads costs. A line's transfer cost depends on where the two
 * threads are: SMT siblings share a core's L1/L2; cores of one CCX share its L3; CCXs of a socket
 * (one per CCD on Zen 3) talk through the I/O die; sockets through the inter-socket link.
 *
 * Hardware threads are numbered as Linux numbers them on AMD EPYC: thread t runs on core
 * t mod cores, as its (⌊t / cores⌋ + 1)-th SMT thread; core c is in socket ⌊c / coresPerSocket⌋ and
 * CCX ⌊c / coresPerCcx⌋. So the first `cores` threads are one per core, CCX by CCX and socket by
 * socket, and the SMT siblings come last.
 */

/** The shape of the host and how the scheduler places the threads (part of a CostProfile). */
export interface TopologySpec {
  sockets: number;
  ccxPerSocket: number;
  coresPerCcx: number;
  threadsPerCore: number;
  /** See PLACEMENTS. */
  placement: Placement;
}

/**
 * How the n-th thread of a run is placed on an otherwise idle host:
 * - `compact`: on hardware thread n (CCX by CCX, socket by socket, SMT siblings last), as with
 *   vCPU i pinned to CPU i;
 * - `spread`: one thread per CCX in turn — socket 0's CCXs, then socket 1's — then the next core of
 *   each CCX, SMT siblings last: where Linux's fork balancing puts the unpinned threads of
 *   demand_paging_test (find_idlest_group() picks the idlest LLC, then an idle core; it keeps a new
 *   thread on its parent's node while that node runs fewer tasks than imb_numa_nr, which is the
 *   node's LLC count when a node has several LLCs: one thread per CCX before the other socket).
 */
export const PLACEMENTS = ['compact', 'spread'] as const;
/** A placement policy (PLACEMENTS). */
export type Placement = (typeof PLACEMENTS)[number];

/** The transfer cost of each level, µs. */
export interface LineCosts {
  /** Between SMT siblings of a core (through its L1/L2). */
  lineSmtUs: number;
  /** Between cores of one CCX (through its L3). */
  lineCcxUs: number;
  /** Between CCXs (CCDs) of one socket (through the I/O die). */
  lineCcdUs: number;
  /** Between sockets. */
  lineSocketUs: number;
}

/** How far apart two hardware threads are. */
export type Level = 'same' | 'smt' | 'ccx' | 'ccd' | 'socket';

/** A host topology with its placement and line-transfer costs. */
export class Topology {
  /** Hardware threads. */
  readonly threads: number;
  /** Cores. */
  readonly cores: number;
  private readonly coresPerSocket: number;
  private readonly costOf: Record<Level, number>;

  constructor(readonly spec: TopologySpec, costs: LineCosts) {
    for (const k of ['sockets', 'ccxPerSocket', 'coresPerCcx', 'threadsPerCore'] as const) {
      if (!Number.isInteger(spec[k]) || spec[k] < 1) throw new RangeError(`topology: ${k} must be a positive integer (got ${spec[k]})`);
    }
    this.coresPerSocket = spec.ccxPerSocket * spec.coresPerCcx;
    this.cores = spec.sockets * this.coresPerSocket;
    this.threads = this.cores * spec.threadsPerCore;
    this.costOf = { same: 0, smt: costs.lineSmtUs, ccx: costs.lineCcxUs, ccd: costs.lineCcdUs, socket: costs.lineSocketUs };
  }

  /** The hardware thread the `slot`-th placed thread runs on (slots beyond the host wrap around). */
  place(slot: number): number {
    const s = slot % this.threads;
    if (this.spec.placement === 'compact') return s;
    const { ccxPerSocket, coresPerCcx } = this.spec;
    const ccxs = this.spec.sockets * ccxPerSocket;
    const sibling = Math.floor(s / this.cores);
    const i = s % this.cores;
    // The i-th core: one per CCX in turn (socket 0's CCXs, then socket 1's, …), then the next core of each.
    const k = i % ccxs;
    const core = Math.floor(k / ccxPerSocket) * this.coresPerSocket + (k % ccxPerSocket) * coresPerCcx + Math.floor(i / ccxs);
    return sibling * this.cores + core;
  }

  /**
   * Where a thread that serves the thread on `hw` runs (a uffd reader beside the vCPUs it is woken
   * by): its SMT sibling, or the next hardware thread on a host without SMT.
   */
  beside(hw: number): number {
    return this.spec.threadsPerCore > 1 ? (hw + this.cores) % this.threads : (hw + 1) % this.threads;
  }

  /** How far apart hardware threads `a` and `b` are. */
  level(a: number, b: number): Level {
    if (a === b) return 'same';
    const ca = a % this.cores;
    const cb = b % this.cores;
    if (ca === cb) return 'smt';
    const cc = this.spec.coresPerCcx;
    if (Math.floor(ca / cc) === Math.floor(cb / cc)) return 'ccx';
    if (Math.floor(ca / this.coresPerSocket) === Math.floor(cb / this.coresPerSocket)) return 'ccd';
    return 'socket';
  }

  /** µs to move a line last written on hardware thread `a` to `b`. */
  transferUs(a: number, b: number): number {
    return this.costOf[this.level(a, b)];
  }

  /** The mean transfer cost between distinct threads among `hw` (a line bouncing among them in random order), µs. */
  meanTransferUs(hw: readonly number[]): number {
    let sum = 0;
    let n = 0;
    for (let i = 0; i < hw.length; i++) {
      for (let j = 0; j < hw.length; j++) {
        if (i === j) continue;
        sum += this.transferUs(hw[i], hw[j]);
        n++;
      }
    }
    return n ? sum / n : 0;
  }
}
