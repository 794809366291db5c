import type { Command } from '../command';

const command: Command = {
  name: 'resume',
  describe: 'resume all processes of a paused container',
  positionals: [{ name: 'id', required: true }],
  options: {},
  run: (a) => {
    const { loadContainer } = require('../../state/store') as typeof import('../../state/store');
    const { BerthError } = require('../../errors') as typeof import('../../errors');
    const { setFrozen } = require('../../cgroups/freeze') as typeof import('../../cgroups/freeze');
    const c = loadContainer(a.root, a.id);
    const unlock = c.lock();
    try {
      const status = c.status();
      if (status !== 'paused') throw new BerthError(`container not paused: ${a.id} is ${status}`);
      setFrozen(c.saved.cgroups, false);
    } finally {
      unlock();
    }
  },
};
export default command;
