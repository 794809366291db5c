import type { Command } from '../command';
import { writeOut } from '../output';

const command: Command = {
  name: 'state',
  describe: 'output the state of a container',
  positionals: [{ name: 'id', required: true }],
  options: {},
  run: async (a) => {
    const { loadContainer } = require('../../state/store') as typeof import('../../state/store');
    writeOut(JSON.stringify(loadContainer(a.root, a.id).publicState(), null, 2) + '\n');
  },
};
export default command;
