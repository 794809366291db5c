import type { CommandModule } from 'yargs';
import type { GlobalOptions } from '../main';

interface Args extends GlobalOptions { id: string }

const command: CommandModule<GlobalOptions, Args> = {
  command: 'state <id>',
  describe: 'output the state of a container',
  builder: (y) => y.positional('id', { type: 'string', demandOption: true }) as never,
  handler: (a) => {
    const { loadContainer } = require('../../state/store') as typeof import('../../state/store');
    const c = loadContainer(a.root, a.id);
    process.stdout.write(JSON.stringify(c.publicState(), null, 2) + '\n');
  },
};
export default command;
