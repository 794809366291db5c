import type { Command } from '../command';
import { runtimeOf } from '../runtime';

const command: Command = {
  name: 'resume',
  describe: 'resume all processes of a paused container',
  positionals: [{ name: 'id', required: true }],
  options: {},
  run: (a) => runtimeOf(a).resume(a.id),
};
export default command;
