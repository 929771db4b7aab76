/**
 * A reader thread (demand_paging_test's uffd_handler_thread_fn): poll the uffd, read one message,
 * serve it; until the run says stop. Started by demandPaging as a worker_thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { attachUserfaultfd, attachVm, KvmError } from '@vcpu-rt/core';
import { RUN_STOP, type PostcopyLayout } from '../layout.js';
import { holdUs, PageServer } from '../source/page-server.js';
import { serveFault } from './fault-handler.js';

/** What a reader thread is started with. */
export interface ReaderData {
  layout: PostcopyLayout;
  /** Which uffd of layout.uffds it reads. */
  uffd: number;
  /** This reader's number in the run (PageServer counters come after the vCPUs'). */
  thread: number;
  /** Park on fd_wqh exclusively (Peter Xu's patch) or not (today's kernel). */
  exclusive: boolean;
  /** -d: µs to wait before serving each message. */
  delayUs: number;
}

const { layout, uffd: u, exclusive, delayUs, thread } = workerData as ReaderData;
const view = attachVm(layout.vm);
const uffd = attachUserfaultfd(layout.uffds[u], view.host);
const server = new PageServer(layout.server, thread);
const counters = new Int32Array(layout.counters);
const opts = { exclusive };
let served = 0;
try {
  while (Atomics.load(counters, RUN_STOP) === 0) {
    if (!uffd.wait(20, opts)) continue;
    let msgs;
    try {
      msgs = uffd.read(1);
    } catch (e) {
      if (e instanceof KvmError && e.code === 'EAGAIN') continue; // another reader took it
      throw e;
    }
    for (const m of msgs) {
      if (delayUs > 0) holdUs(delayUs);
      serveFault(m, uffd, server, layout, counters);
    }
    served += msgs.length;
  }
} finally {
  view.detach();
}
parentPort?.postMessage({ served });
