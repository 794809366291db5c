import type { CommandModule } from 'yargs';
import type { GlobalOptions } from '../main';
import { BerthError } from '../../errors';

const command: CommandModule<GlobalOptions, GlobalOptions> = {
  command: 'list',
  describe: 'list (not yet implemented)',
  handler: () => {
    throw new BerthError('list: not implemented yet');
  },
};
export default command;
