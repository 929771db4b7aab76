/**
 * Table A of Anish Moorthy's series (v1/v3/v4/v6/v7 cover letters, identical in each): overall
 * demand paging rate in thousands of pages/s, `demand_paging_test -b 64M -u MINOR -s shmem -a
 * -v <n> -r <n> [-w]` on "an x86 machine with 256 cores" (AMD EPYC 7B13: 2 sockets, SMT, 256 CPUs; docs/model.md §3), n = 5.
 */
import { TABLE_A_ROWS, type TableARow } from '@vcpu-rt/uffd';


/** One published row: vCPUs, and the overall rate without and with the memory-fault exits, K pages/s. */
export type PublishedPostcopyRow = TableARow;

/** Table A (the model fits its published profile to the same rows: one copy, in @vcpu-rt/uffd). */
export const TABLE_A: readonly PublishedPostcopyRow[] = TABLE_A_ROWS;

/** Where table A comes from, for reports. */
export const TABLE_A_SOURCE = 'Anish Moorthy, "Improve scalability of KVM + userfaultfd live migration via annotated\n' +
  '  memory faults" (kvm@vger v3, 2023-04-12; same table in v1-v7): demand_paging_test -b 64M -u MINOR -s shmem -a -v n\n' +
  '  -r n [-w] on a 256-core AMD EPYC 7B13 host';
