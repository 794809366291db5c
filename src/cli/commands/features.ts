import type { Command } from '../command';
import { runtimeOf } from '../runtime';
import { writeOut } from '../output';

const command: Command = {
  name: 'features',
  describe: 'show what berth implements on this host (runtime-spec features.md)',
  positionals: [],
  options: {},
  run: async (a) => {
    writeOut(JSON.stringify(await runtimeOf(a).features(), null, 2) + '\n');
  },
};
export default command;
