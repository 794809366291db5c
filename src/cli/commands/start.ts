import type { CommandModule } from 'yargs';
import type { GlobalOptions } from '../main';
import { BerthError } from '../../errors';

const command: CommandModule<GlobalOptions, GlobalOptions> = {
  command: 'start',
  describe: 'start (not yet implemented)',
  handler: () => {
    throw new BerthError('start: not implemented yet');
  },
};
export default command;
