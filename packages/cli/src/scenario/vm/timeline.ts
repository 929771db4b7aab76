/**
 * The host side of a `vm` step: its timeline's actions, each at its time or every period, run on
 * the main thread (the VMM's) while the vCPU threads run the guests. An action that the engine
 * refuses ends the step with the engine's error at the action's line.
 */
import { PAGE_SIZE } from '@vcpu-rt/core';
import { ScenarioError } from '../errors.js';
import { engineRule, stepError, type StepContext } from '../run/context.js';
import { memslotFlags } from '../schema/vm-names.js';
import type { VmStep } from '../schema/vm.js';
import type { BuiltVm } from './build.js';
import type { Recorder } from './recorder.js';

type Action = VmStep['timeline'][number];

interface Job {
  index: number;
  action: Action;
  /** Seconds of the next occurrence. */
  next: number;
  until: number;
  /** Churn: each pool slot's phase (0 absent, 1 created, 2 moved) and the next slot to step. */
  phases?: Uint8Array;
  cursor?: number;
}

const us = (t0: number) => (performance.now() - t0) * 1000;

/** The step's timeline. */
export class Timeline {
  private readonly jobs: Job[];

  constructor(private readonly ctx: StepContext, step: VmStep, private readonly built: BuiltVm, private readonly rec: Recorder) {
    this.jobs = step.timeline.map((action, index) => ({
      index, action,
      next: action.at ?? action.from ?? 0,
      until: action.at ?? action.until ?? step.duration,
      ...(action.action === 'churn' ? { phases: new Uint8Array(action.count), cursor: 0 } : {}),
    }));
  }

  /** Seconds of the next occurrence of any action (Infinity when none is left). */
  nextTime(): number {
    let t = Infinity;
    for (const j of this.jobs) if (j.next <= j.until && j.next < t) t = j.next;
    return t;
  }

  /** Runs every occurrence due by `now` (seconds), in time order; a late clock catches up. */
  runDue(now: number): void {
    for (;;) {
      let job: Job | undefined;
      for (const j of this.jobs) if (j.next <= j.until && j.next <= now && (!job || j.next < job.next)) job = j;
      if (!job) return;
      try {
        this.occur(job, now);
      } catch (e) {
        if (e instanceof ScenarioError) throw e;
        throw stepError(this.ctx, ['timeline', job.index], `at ${now.toFixed(3)} s: ${engineRule(e)}`);
      }
      const a = job.action;
      job.next = a.every === undefined ? Infinity : job.next + a.every;
    }
  }

  private hva(region: string | undefined, offset: number): number {
    return region === undefined ? 0 : this.built.regions.get(region)!.hva + offset;
  }

  private occur(job: Job, now: number): void {
    const a = job.action;
    const { vm } = this.built;
    switch (a.action) {
      case 'churn': {
        const phases = job.phases!;
        const moveBy = a.moveBy ?? a.count * a.size;
        for (let b = 0; b < a.batch; b++) {
          const k = job.cursor!;
          job.cursor = (k + 1) % a.count;
          const id = a.slot + k;
          const home = a.gpa + k * a.size;
          const op = (['create', 'move', 'delete'] as const)[phases[k]];
          const region = {
            slot: (a.asId << 16) | id, flags: memslotFlags(a.flags), userspaceAddr: this.hva(a.region, a.offset + k * a.size),
            guestPhysAddr: op === 'create' ? home : home + moveBy, memorySize: op === 'delete' ? 0 : a.size,
          };
          const t0 = performance.now();
          vm.setUserMemoryRegion(region);
          this.rec.churn(now, op, id, us(t0));
          phases[k] = (phases[k] + 1) % 3;
        }
        return;
      }
      case 'memslot': {
        const t0 = performance.now();
        vm.setUserMemoryRegion({
          slot: (a.asId << 16) | a.slot, flags: memslotFlags(a.flags), guestPhysAddr: a.gpa, memorySize: a.size, userspaceAddr: this.hva(a.region, a.offset),
        });
        this.rec.actions.push({ t: now, action: 'memslot', detail: `slot ${a.slot}: ${a.size === 0 ? 'delete' : `gpa 0x${a.gpa.toString(16)}, ${a.size} bytes`}`, us: us(t0) });
        return;
      }
      case 'dontneed': {
        const r = this.built.regions.get(a.region)!;
        const size = a.size ?? r.size - a.offset;
        const t0 = performance.now();
        vm.host.madvise(r.hva + a.offset, size, 'dontneed');
        this.rec.actions.push({ t: now, action: 'dontneed', detail: `${a.region} +${a.offset}, ${size / PAGE_SIZE} pages`, us: us(t0) });
        return;
      }
      case 'dirty-log': {
        const slot = (a.asId << 16) | a.slot;
        const t0 = performance.now();
        const bitmap = vm.getDirtyLog(slot);
        const getUs = us(t0);
        let dirtyPages = 0;
        for (const byte of bitmap) dirtyPages += POPCOUNT[byte];
        const info = vm.memslots(a.asId).find((m) => m.id === a.slot)!;
        let clearUs = 0;
        if (a.clear ?? this.built.manualProtect) {
          const t1 = performance.now();
          vm.clearDirtyLog({ slot, firstPage: 0, numPages: info.npages, bitmap });
          clearUs = us(t1);
        }
        this.rec.dirty({ t: now, slot: a.slot, dirtyPages, slotPages: info.npages, getUs, clearUs });
        return;
      }
    }
  }
}

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, i) => {
  let n = 0;
  for (let v = i; v; v >>= 1) n += v & 1;
  return n;
});
