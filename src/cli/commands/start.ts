import type { Command } from '../command';
import { runtimeOf } from '../runtime';

const command: Command = {
  name: 'start',
  describe: 'start the user process of a created container',
  positionals: [{ name: 'id', required: true }],
  options: {},
  run: (a) => runtimeOf(a).start(a.id),
};
export default command;
