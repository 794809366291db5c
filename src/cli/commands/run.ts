import type { CommandModule } from 'yargs';
import type { GlobalOptions } from '../main';
import { type CreateArgs, createFlags, createOptions } from './create';

interface Args extends CreateArgs { detach: boolean; 'keep': boolean }

const command: CommandModule<GlobalOptions, Args> = {
  command: 'run <id>',
  describe: 'create and start a container; without --detach, wait for it and exit with its status',
  builder: (y) =>
    y.options(createFlags)
      .option('detach', { alias: 'd', type: 'boolean', default: false, describe: 'detach from the container process' })
      .option('keep', { type: 'boolean', default: false, describe: 'do not delete the container after it exits' })
      .positional('id', { type: 'string', demandOption: true }) as never,
  handler: async (a) => {
    const { runContainer } = require('../../container/run') as typeof import('../../container/run');
    process.exitCode = await runContainer(createOptions(a), { detach: a.detach, keep: a.keep });
  },
};
export default command;
