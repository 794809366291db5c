import type { Command } from '../command';
import { createFlags, createOptions } from './create';

const command: Command = {
  name: 'run',
  describe: 'create and start a container; without --detach, wait for it and exit with its status',
  positionals: [{ name: 'id', required: true }],
  options: {
    ...createFlags,
    detach: { alias: 'd', type: 'boolean', default: false, describe: 'detach from the container process' },
    keep: { type: 'boolean', default: false, describe: 'do not delete the container after it exits' },
  },
  run: async (a) => {
    const { runContainer } = require('../../container/run') as typeof import('../../container/run');
    process.exitCode = await runContainer(createOptions(a), { detach: a.detach, keep: a.keep });
  },
};
export default command;
