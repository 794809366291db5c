import type { Command } from '../command';

const command: Command = {
  name: 'start',
  describe: 'start the user process of a created container',
  positionals: [{ name: 'id', required: true }],
  options: {},
  run: (a) => {
    const { withContainer } = require('../../state/store') as typeof import('../../state/store');
    const { startContainer } = require('../../container/start') as typeof import('../../container/start');
    withContainer(a.root, a.id, (c) => {
      startContainer(c);
    });
  },
};
export default command;
