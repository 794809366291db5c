import type { CommandModule } from 'yargs';
import type { GlobalOptions } from '../main';
import { BerthError } from '../../errors';

const command: CommandModule<GlobalOptions, GlobalOptions> = {
  command: 'create',
  describe: 'create (not yet implemented)',
  handler: () => {
    throw new BerthError('create: not implemented yet');
  },
};
export default command;
