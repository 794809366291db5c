import type { CommandModule } from 'yargs';
import type { GlobalOptions } from '../main';

interface Args extends GlobalOptions { id: string }

const command: CommandModule<GlobalOptions, Args> = {
  command: 'start <id>',
  describe: 'start the user process of a created container',
  builder: (y) => y.positional('id', { type: 'string', demandOption: true }) as never,
  handler: (a) => {
    const { loadContainer } = require('../../state/store') as typeof import('../../state/store');
    const { startContainer } = require('../../container/start') as typeof import('../../container/start');
    const c = loadContainer(a.root, a.id);
    const unlock = c.lock();
    try {
      startContainer(c);
    } finally {
      unlock();
    }
  },
};
export default command;
