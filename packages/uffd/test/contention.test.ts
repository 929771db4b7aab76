/** Contention is visible: with one uffd, the wake walk grows with the blocked vCPUs and fault_pending_wqh.lock is contended. */
import test from 'ava';
import { demandPaging } from '@vcpu-rt/uffd';

test.serial('demand_paging_test -a -r n: waiters walked per wake grow with the vCPU count; fault_pending_wqh.lock is contended', async (t) => {
  const run = (vcpus: number) => demandPaging({ vcpus, bytesPerVcpu: 2 << 20, mode: 'minor', singleUffd: true, readers: 'per-vcpu', warmupPages: 64 });
  const one = await run(1);
  const eight = await run(8);
  t.is(one.uffd.wakes.meanWalked, 1);
  t.is(one.uffd.wakes.maxWalked, 1);
  t.true(eight.uffd.wakes.meanWalked > one.uffd.wakes.meanWalked, `mean walked: 1 vCPU ${one.uffd.wakes.meanWalked}, 8 vCPUs ${eight.uffd.wakes.meanWalked}`);
  t.true(eight.uffd.wakes.maxWalked >= 3, `max walked at 8 vCPUs: ${eight.uffd.wakes.maxWalked}`);
  const lp = eight.uffd.locks.faultPendingWqh;
  t.true(lp.contended > 0 && lp.waitUs > 0, JSON.stringify(lp));
  t.true(lp.acquisitions >= 3 * eight.uffd.faults, JSON.stringify(lp));
  t.is(eight.verify.badPages, 0);
});
