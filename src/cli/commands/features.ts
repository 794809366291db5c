import type { Command } from '../command';
import { writeOut } from '../output';

const command: Command = {
  name: 'features',
  describe: 'show what berth implements on this host (runtime-spec features.md)',
  positionals: [],
  options: {},
  run: (a) => {
    const { features } = require('../../features') as typeof import('../../features');
    writeOut(JSON.stringify(features(a.root), null, 2) + '\n');
  },
};
export default command;
