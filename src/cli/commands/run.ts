import type { Command } from '../command';
import { runtimeOf } from '../runtime';
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
    const { status } = await runtimeOf(a).run(a.id, {
      ...createOptions(a), detach: a.detach, keep: a.keep, stdio: 'inherit', proxyTerminal: true, forwardSignals: true,
    });
    process.exitCode = status;
  },
};
export default command;
