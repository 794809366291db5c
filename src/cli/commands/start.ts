import type { Command } from '../command';

const command: Command = {
  name: 'start',
  describe: 'start the user process of a created container',
  positionals: [{ name: 'id', required: true }],
  options: {},
  run: (a) => (require('../../container/start') as typeof import('../../container/start')).startById(a.root, a.id),
};
export default command;
