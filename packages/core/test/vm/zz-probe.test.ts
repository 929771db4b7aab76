import test from 'ava';
import { Vm } from '#internal/vm/vm.js';
test('probe', (t) => { t.truthy(Vm); });
