import type { Command, OptionSpec } from '../command';
import { runtimeOf } from '../runtime';

const n = (describe: string): OptionSpec => ({ type: 'string', describe });

const command: Command = {
  name: 'update',
  describe: "update a container's resource limits (from --resources and/or flags)",
  positionals: [{ name: 'id', required: true }],
  options: {
    resources: { alias: 'r', type: 'string', describe: 'path to a JSON file with the resources (linux.resources), or - for stdin' },
    'blkio-weight': n('block IO weight (10..1000)'),
    'cpu-period': n('CPU CFS period in microseconds'),
    'cpu-quota': n('CPU CFS quota in microseconds per period (-1: none)'),
    'cpu-share': { ...n('CPU shares (relative weight)'), alias: 'cpu-shares' },
    'cpu-burst': n('CPU CFS burst in microseconds'),
    'cpu-rt-period': n('CPU realtime period in microseconds (cgroup v1)'),
    'cpu-rt-runtime': n('CPU realtime runtime in microseconds (cgroup v1)'),
    'cpu-idle': n('1: SCHED_IDLE for the cgroup'),
    'cpuset-cpus': n('CPUs to run on (e.g. 0-3,7)'),
    'cpuset-mems': n('memory nodes to use (e.g. 0-1)'),
    memory: n('memory limit (e.g. 512m; -1: unlimited)'),
    'memory-reservation': n('memory soft limit (memory.low on v2)'),
    'memory-swap': n('memory + swap limit (-1: unlimited)'),
    'kernel-memory': n('kernel memory limit (deprecated, ignored)'),
    'kernel-memory-tcp': n('kernel TCP memory limit (deprecated, ignored)'),
    'pids-limit': n('maximum number of tasks (0 or -1: unlimited)'),
    'l3-cache-schema': n('Intel RDT L3 cache schema (not supported)'),
    'mem-bw-schema': n('Intel RDT memory bandwidth schema (not supported)'),
  },
  run: async (a) => {
    const u = require('../../container/update') as typeof import('../../container/update');
    const rt = runtimeOf(a);
    await rt.state(a.id); // a missing container is reported before a bad --resources
    let r = {};
    if (a.resources) {
      const v = require('../../spec/validate') as typeof import('../../spec/validate');
      r = v.loadResources(a.resources);
    }
    await rt.update(a.id, u.mergeResources(r, u.resourcesFromFlags(a)), { checked: true });
  },
};
export default command;
