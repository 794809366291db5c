import type { Command } from '../command';
import { runtimeOf } from '../runtime';
import { writeOut } from '../output';

const command: Command = {
  name: 'state',
  describe: 'output the state of a container',
  positionals: [{ name: 'id', required: true }],
  options: {},
  run: async (a) => {
    writeOut(JSON.stringify(await runtimeOf(a).state(a.id), null, 2) + '\n');
  },
};
export default command;
