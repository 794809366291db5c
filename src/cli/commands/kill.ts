import type { CommandModule } from 'yargs';
import type { GlobalOptions } from '../main';
import { BerthError } from '../../errors';

const command: CommandModule<GlobalOptions, GlobalOptions> = {
  command: 'kill',
  describe: 'kill (not yet implemented)',
  handler: () => {
    throw new BerthError('kill: not implemented yet');
  },
};
export default command;
