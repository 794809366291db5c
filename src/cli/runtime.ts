// Each command is a layer over the library (src/lib/): the global flags make the Runtime.
import type { Runtime } from '../lib/runtime';
import type { Args } from './command';

export function runtimeOf(a: Args): Runtime {
  const { Runtime } = require('../lib/runtime') as typeof import('../lib/runtime');
  return new Runtime({
    root: a.root, log: { file: a.log, format: a['log-format'], debug: a.debug }, systemdCgroup: !!a['systemd-cgroup'], rootless: a.rootless,
  });
}
