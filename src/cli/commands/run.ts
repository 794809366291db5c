import type { CommandModule } from 'yargs';
import type { GlobalOptions } from '../main';
import { BerthError } from '../../errors';

const command: CommandModule<GlobalOptions, GlobalOptions> = {
  command: 'run',
  describe: 'run (not yet implemented)',
  handler: () => {
    throw new BerthError('run: not implemented yet');
  },
};
export default command;
