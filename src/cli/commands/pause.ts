import type { Command } from '../command';

const command: Command = {
  name: 'pause',
  describe: 'suspend all processes of a container (freezes its cgroup)',
  positionals: [{ name: 'id', required: true }],
  options: {},
  run: (a) => {
    const { withContainer } = require('../../state/store') as typeof import('../../state/store');
    const { BerthError } = require('../../errors') as typeof import('../../errors');
    const { cgroupManager } = require('../../cgroups/manager') as typeof import('../../cgroups/manager');
    withContainer(a.root, a.id, (c) => {
      // As runc: a created container can be paused too.
      const status = c.status();
      if (status !== 'running' && status !== 'created') throw new BerthError(`container not running: ${a.id} is ${status}`);
      cgroupManager(c.saved.cgroups).setFrozen(true);
    });
  },
};
export default command;
