import type { Command } from '../command';
import { runtimeOf } from '../runtime';

const command: Command = {
  name: 'kill',
  describe: 'send a signal (default SIGTERM) to the container init, or with --all to all its processes',
  positionals: [{ name: 'id', required: true }, { name: 'signal', required: false }],
  options: {
    all: { alias: 'a', type: 'boolean', default: false, describe: 'send the signal to all processes in the container' },
  },
  run: (a) => runtimeOf(a).kill(a.id, a.signal ?? 'SIGTERM', { all: a.all }),
};
export default command;
