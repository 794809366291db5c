import type { Command } from '../command';

const command: Command = {
  name: 'kill',
  describe: 'send a signal (default SIGTERM) to the container init, or with --all to all its processes',
  positionals: [{ name: 'id', required: true }, { name: 'signal', required: false }],
  options: {
    all: { alias: 'a', type: 'boolean', default: false, describe: 'send the signal to all processes in the container' },
  },
  run: (a) => (require('../../container/signal') as typeof import('../../container/signal')).killById(a.root, a.id, a.signal ?? 'SIGTERM', { all: a.all }),
};
export default command;
