import type { CommandModule } from 'yargs';
import type { GlobalOptions } from '../main';
import { BerthError } from '../../errors';

const command: CommandModule<GlobalOptions, GlobalOptions> = {
  command: 'spec',
  describe: 'spec (not yet implemented)',
  handler: () => {
    throw new BerthError('spec: not implemented yet');
  },
};
export default command;
