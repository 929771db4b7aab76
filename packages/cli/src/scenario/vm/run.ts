/**
 * Runs a `vm` step: builds the VM, starts the vCPUs with their VMM loops, drives the timeline and
 * the interval samples on one clock for `duration` seconds, then destroys every vCPU and closes the
 * VM — on success and on every error.
 */
import { createVcpu } from '@vcpu-rt/vcpu';
import type { ResultSection } from '../../result/document.js';
import { engineRule, stepError, type StepContext } from '../run/context.js';
import type { VmStep } from '../schema/vm.js';
import { buildVm } from './build.js';
import { vmData } from './data-builder.js';
import { planVcpus } from './guests.js';
import { Recorder } from './recorder.js';
import { Timeline } from './timeline.js';
import { VcpuFailure, VcpuRunner } from './vmm-loop.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/** The step's section for one memslot design. */
export async function runVmStep(ctx: StepContext, step: VmStep, design: 'tree' | 'array', label: string): Promise<ResultSection> {
  const built = buildVm(ctx, step, design);
  const runners: VcpuRunner[] = [];
  const loops: Promise<void>[] = [];
  let stopping = false;
  try {
    for (const plan of planVcpus(step, ctx.loaded.dir)) {
      try {
        runners.push(new VcpuRunner(plan, await createVcpu(built.vm, plan.id, plan.spec, { runPollNs: plan.runPollNs }), built.vm));
      } catch (e) {
        const v = step.vcpus[plan.entry];
        throw stepError(ctx, ['vcpus', plan.entry, ...(v.guest === 'module' ? ['module'] : [])], `vCPU ${plan.id}: ${engineRule(e)}`, v.guest === 'module' ? 'key' : 'value');
      }
    }
    const rec = new Recorder(built.vm, runners, step.interval);
    const timeline = new Timeline(ctx, step, built, rec);
    let failure: unknown;
    let wake: () => void = () => {};
    const t0 = performance.now();
    for (const r of runners) {
      loops.push(r.loop(t0, step.interval, () => stopping).catch((e: unknown) => {
        failure ??= e;
        wake();
      }));
    }
    const now = () => (performance.now() - t0) / 1000;
    let reported = 0;
    for (;;) {
      if (failure) break;
      const t = now();
      timeline.runDue(t);
      rec.sample(t);
      if (t >= step.duration) break;
      if (Math.floor(t) > reported) {
        reported = Math.floor(t);
        ctx.progress.step(`${label}: ${reported} of ${step.duration} s`, reported, Math.ceil(step.duration));
      }
      const next = Math.min(timeline.nextTime(), rec.nextSample(), step.duration, reported + 1);
      await Promise.race([sleep((next - now()) * 1000), new Promise<void>((r) => { wake = r; })]);
    }
    const seconds = now();
    stopping = true;
    if (failure) {
      if (failure instanceof VcpuFailure) {
        const v = step.vcpus[failure.plan.entry];
        throw stepError(ctx, ['vcpus', failure.plan.entry, ...(v.guest === 'module' ? ['module'] : [])], failure.message, v.guest === 'module' ? 'key' : 'value');
      }
      throw failure;
    }
    rec.sample(Math.min(seconds, step.duration), true);
    const data = vmData(ctx, step, design, label, built, runners, rec, seconds);
    return { kind: 'vm', title: label, command: runCommand(ctx), data };
  } finally {
    stopping = true;
    await Promise.all(runners.map((r) => r.vcpu.destroy()));
    await Promise.all(loops);
    await built.vm.close();
  }
}

/** The command that runs the scenario again, overrides included. */
function runCommand(ctx: StepContext): string {
  return ['vcpu-rt run', ctx.loaded.file, ...ctx.loaded.overrides.map((o) => `--set '${o.text}'`)].join(' ');
}
