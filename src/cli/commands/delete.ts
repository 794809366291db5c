import type { CommandModule } from 'yargs';
import type { GlobalOptions } from '../main';
import { BerthError } from '../../errors';

const command: CommandModule<GlobalOptions, GlobalOptions> = {
  command: 'delete',
  describe: 'delete (not yet implemented)',
  handler: () => {
    throw new BerthError('delete: not implemented yet');
  },
};
export default command;
