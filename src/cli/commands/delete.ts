import type { Command } from '../command';

const command: Command = {
  name: 'delete',
  describe: 'delete a container and the resources it holds',
  positionals: [{ name: 'id', required: true }],
  options: {
    force: { alias: 'f', type: 'boolean', default: false, describe: 'kill the container first if it still runs' },
  },
  run: (a) => (require('../../container/destroy') as typeof import('../../container/destroy')).deleteById(a.root, a.id, { force: a.force }),
};
export default command;
