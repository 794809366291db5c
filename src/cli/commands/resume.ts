import type { Command } from '../command';

const command: Command = {
  name: 'resume',
  describe: 'resume all processes of a paused container',
  positionals: [{ name: 'id', required: true }],
  options: {},
  run: (a) => {
    const { withContainer } = require('../../state/store') as typeof import('../../state/store');
    const { BerthError } = require('../../errors') as typeof import('../../errors');
    const { cgroupManager } = require('../../cgroups/manager') as typeof import('../../cgroups/manager');
    withContainer(a.root, a.id, (c) => {
      const status = c.status();
      if (status !== 'paused') throw new BerthError(`container not paused: ${a.id} is ${status}`);
      cgroupManager(c.saved.cgroups).setFrozen(false);
    });
  },
};
export default command;
