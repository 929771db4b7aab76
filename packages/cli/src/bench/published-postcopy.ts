/**
 * Table A of Anish Moorthy's series (v1/v3/v4/v6/v7 cover letters, identical in each): overall
 * demand paging rate in thousands of pages/s, `demand_paging_test -b 64M -u MINOR -s shmem -a
 * -v <n> -r <n> [-w]` on "an x86 machine with 256 cores" (4x AMD EPYC 7B13), n = 5.
 */

/** One published row: vCPUs, and the overall rate without and with the memory-fault exits, K pages/s. */
export interface PublishedPostcopyRow {
  vcpus: number;
  uffdK: number;
  exitK: number;
}

/** Table A. */
export const TABLE_A: readonly PublishedPostcopyRow[] = [
  { vcpus: 1, uffdK: 150, exitK: 340 },
  { vcpus: 2, uffdK: 191, exitK: 477 },
  { vcpus: 4, uffdK: 210, exitK: 809 },
  { vcpus: 8, uffdK: 155, exitK: 1239 },
  { vcpus: 16, uffdK: 130, exitK: 1595 },
  { vcpus: 32, uffdK: 108, exitK: 2299 },
  { vcpus: 64, uffdK: 86, exitK: 3482 },
  { vcpus: 128, uffdK: 62, exitK: 4134 },
  { vcpus: 256, uffdK: 36, exitK: 4012 },
];

/** Where table A comes from, for reports. */
export const TABLE_A_SOURCE = 'Anish Moorthy, "Improve scalability of KVM + userfaultfd live migration via annotated\n' +
  '  memory faults" (kvm@vger v3, 2023-04-12; same table in v1-v7): demand_paging_test -b 64M -u MINOR -s shmem -a -v n\n' +
  '  -r n [-w] on a 256-core AMD EPYC 7B13 host';
