/**
 * The table of bad scenarios: each case's files, overrides, the fragment its message must contain
 * and the line:col it must point at (null: a message with no place in a file).
 */
import { yaml } from './helpers.js';

/** One bad scenario. */
export interface ErrorCase {
  name: string;
  /** File name → text; the first is the scenario (absent: the scenario file does not exist). */
  files?: Record<string, string>;
  overrides?: string[];
  fragment: string | RegExp;
  /** `line:col` the message starts with after the file name, or null for an override or a missing file. */
  at: string | null;
  /** Only running the scenario finds it (the engine's rules). */
  run?: boolean;
}

const head = ['name: bad', 'description: a scenario with a mistake', 'steps:'];
const vm = (...rest: string[]) => yaml(...head,
  '  - kind: vm',
  '    regions:',
  '      - { name: ram, size: 1M }',
  ...rest,
  '    duration: 0.05');
const opsVcpu = ['    vcpus:', '      - guest: ops', '        args: { ops: [] }'];
const moduleVcpu = (file: string, exp = 'main') => ['    vcpus:', '      - guest: module', `        module: ${file}`, `        export: ${exp}`];

/** Every case. */
export const ERROR_CASES: ErrorCase[] = [
  { name: 'YAML syntax error', files: { 's.yaml': yaml(...head, '  - kind: bench', '    bench: [vcpu', '') }, fragment: 'Flow sequence in block collection must be sufficiently indented and end with a ]', at: '7:1' },
  { name: 'duplicate key', files: { 's.yaml': yaml('name: a', 'name: b', 'description: d', 'steps: []') }, fragment: 'YAML: Map keys must be unique', at: '2:1' },
  { name: 'unknown top-level key', files: { 's.yaml': yaml(...head, '  - { kind: bench, bench: vcpu }', 'nmae: typo') }, fragment: "nmae: unknown key 'nmae'", at: '5:1' },
  { name: 'unknown key in a step', files: { 's.yaml': yaml(...head, '  - kind: bench', '    bench: vcpu', '    repet: 3') }, fragment: "steps[0].repet: unknown key 'repet'", at: '6:5' },
  { name: 'wrong type', files: { 's.yaml': yaml(...head, '  - kind: postcopy', '    repeat: three') }, fragment: 'steps[0].repeat: must be an integer in [1, 100] (got "three")', at: '5:13' },
  { name: 'out-of-range value in a list', files: { 's.yaml': yaml(...head, '  - kind: postcopy', '    vcpus: [1, 65]') }, fragment: 'steps[0].vcpus[1]: must be an integer in [1, 64] (got 65)', at: '5:16' },
  { name: 'a value twice in a list', files: { 's.yaml': yaml(...head, '  - kind: postcopy', '    vcpus: [2, 2]') }, fragment: 'steps[0].vcpus[1]: 2 appears twice', at: '5:16' },
  { name: 'unknown step kind', files: { 's.yaml': yaml(...head, '  - kind: benchmark') }, fragment: 'steps[0].kind: must be one of bench, model, postcopy, vm (got "benchmark")', at: '4:11' },
  { name: 'unknown bench', files: { 's.yaml': yaml(...head, '  - kind: bench', '    bench: memslot') }, fragment: 'steps[0].bench: must be one of memslots, pci-hole, vcpu, demand-paging', at: '5:12' },
  { name: 'missing description', files: { 's.yaml': yaml('name: bad', 'steps:', '  - { kind: bench, bench: vcpu }') }, fragment: 'description: is required', at: '1:1' },
  { name: 'bad byte size', files: { 's.yaml': yaml(...head, '  - kind: postcopy', '    bytesPerVcpu: 5000') }, fragment: 'must be a multiple of 4096 bytes in [4K, 3G]', at: '5:19' },
  { name: 'vm step without duration', files: { 's.yaml': yaml(...head, '  - kind: vm', '    regions: [{ name: ram, size: 1M }]', '    vcpus: [{ guest: ops, args: { ops: [] } }]') }, fragment: 'steps[0].duration: is required', at: '4:5' },
  { name: 'memslot naming no region', files: { 's.yaml': vm('    memslots:', '      - { slot: 1, gpa: 0, size: 1M, region: rom }', ...opsVcpu) }, fragment: 'steps[0].memslots[0].region: names no region (regions: ram)', at: '8:46' },
  { name: 'duplicate slot', files: { 's.yaml': vm('    memslots:', '      - { slot: 1, gpa: 0, size: 512K, region: ram }', '      - { slot: 1, gpa: 1M, size: 512K, region: ram, offset: 512K }', ...opsVcpu) }, fragment: 'slot 1 of address space 0 is already declared by memslots[0]', at: '9:17' },
  { name: 'action after the duration', files: { 's.yaml': vm(...opsVcpu, '    timeline:', '      - { action: dontneed, at: 3, region: ram }') }, fragment: "steps[0].timeline[0].at: must not be after the step's duration (0.05 s)", at: '11:33' },
  { name: 'memstress arguments that contradict', files: { 's.yaml': vm('    vcpus:', '      - guest: memstress', '        args: { slot: 1, gpa: 0, pages: 4 }') }, fragment: 'steps[0].vcpus[0].args: needs either slot, or gpa and pages', at: '9:15' },
  { name: 'missing scenario file', fragment: 'scenario file not found (no such file)', at: null },
  { name: 'module guest not found', files: { 's.yaml': vm(...moduleVcpu('guests/none.mjs')) }, fragment: /steps\[0\]\.vcpus\[0\]\.module: module file not found: .*guests\/none\.mjs/, at: '9:9' },
  { name: 'module guest that does not load', files: { 's.yaml': vm(...moduleVcpu('broken.mjs')), 'broken.mjs': 'export function main(ctx) {\n  ctx.read8(\n' }, fragment: /steps\[0\]\.vcpus\[0\]\.module: cannot load .*broken\.mjs: /, at: '9:9' },
  { name: 'module guest without the export', files: { 's.yaml': vm(...moduleVcpu('guest.mjs', 'run')), 'guest.mjs': 'export function main() {}\n' }, fragment: "has no function export 'run' (functions it exports: main)", at: '10:9' },
  { name: 'guest memory over every vCPU beyond the engine\'s bound', files: { 's.yaml': yaml(...head, '  - kind: postcopy', '    vcpus: [1, 64]', '    bytesPerVcpu: 1G') }, fragment: 'steps[0].bytesPerVcpu: at 64 vCPUs: bytesPerVcpu times vcpus, with the warm-up pages, must be at most 3221225472 bytes', at: '6:19' },
  { name: 'missing cost profile', files: { 's.yaml': yaml(...head, '  - kind: model', '    costs: nope.json') }, fragment: /steps\[0\]\.costs: .*nope\.json does not exist/, at: '5:12' },
  { name: 'override out of range', files: { 's.yaml': yaml(...head, '  - kind: postcopy') }, overrides: ['steps[0].repeat=200'], fragment: '--set steps[0].repeat=200: steps[0].repeat: must be an integer in [1, 100] (got 200)', at: null },
  { name: 'override of a step that does not exist', files: { 's.yaml': yaml(...head, '  - kind: postcopy') }, overrides: ['steps[3].repeat=1'], fragment: '--set steps[3].repeat=1: steps[3]: does not exist (the list has 1 entries)', at: null },
  { name: 'override that is not a path', files: { 's.yaml': yaml(...head, '  - kind: postcopy') }, overrides: ['steps[0]repeat=1'], fragment: "is not a field path", at: null },
  { name: 'override of an unknown key', files: { 's.yaml': yaml(...head, '  - kind: postcopy') }, overrides: ['steps[0].bogus=1'], fragment: "--set steps[0].bogus=1: steps[0].bogus: unknown key 'bogus'", at: null },
  { name: 'override whose value is not YAML', files: { 's.yaml': yaml(...head, '  - kind: postcopy') }, overrides: ['steps[0].vcpus=[1,'], fragment: '--set steps[0].vcpus=[1,: steps[0].vcpus: the value is not YAML', at: null },
  {
    name: 'overlapping memslots (the engine)', run: true, at: '9:9', fragment: /steps\[0\]\.memslots\[1\]: EEXIST: gfns \[0x40, 0xc0\) overlap another slot/,
    files: { 's.yaml': vm('    memslots:', '      - { slot: 1, gpa: 0, size: 512K, region: ram }', '      - { slot: 2, gpa: 256K, size: 512K, region: ram, offset: 512K }', ...opsVcpu) },
  },
  {
    name: 'a flag whose capability is disabled (the engine)', run: true, at: '9:9', fragment: /steps\[0\]\.memslots\[0\]: EINVAL: flags 0x4 has bits outside the valid set/,
    files: { 's.yaml': vm('    disabledCaps: [KVM_CAP_PCI_HOLE_MEM]', '    memslots:', '      - { slot: 1, gpa: 0, size: 1M, flags: [PCI_HOLE] }', ...opsVcpu) },
  },
  {
    name: 'dirty log of a slot that logs nothing (the engine, while running)', run: true, at: '13:9', fragment: /steps\[0\]\.timeline\[0\]: at [\d.]+ s: ENOENT: getDirtyLog: slot 1 does not log dirty pages/,
    files: { 's.yaml': vm('    memslots:', '      - { slot: 1, gpa: 0, size: 1M, region: ram }', ...opsVcpu, '    timeline:', '      - { action: dirty-log, at: 0, slot: 1 }') },
  },
  {
    name: 'a module guest that throws (while running)', run: true, at: '11:9', fragment: /steps\[0\]\.vcpus\[0\]\.module: vCPU 0: GuestError: .*no gpa here/,
    files: { 's.yaml': vm('    memslots:', '      - { slot: 1, gpa: 0, size: 1M, region: ram }', ...moduleVcpu('throws.mjs')), 'throws.mjs': "export function main() { throw new Error('no gpa here'); }\n" },
  },
];
