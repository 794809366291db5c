import type { Command } from '../command';

const command: Command = {
  name: 'start',
  describe: 'start the user process of a created container',
  positionals: [{ name: 'id', required: true }],
  options: {},
  run: (a) => {
    const { loadContainer } = require('../../state/store') as typeof import('../../state/store');
    const { startContainer } = require('../../container/start') as typeof import('../../container/start');
    const c = loadContainer(a.root, a.id);
    const unlock = c.lock();
    try {
      startContainer(c);
    } finally {
      unlock();
    }
  },
};
export default command;
