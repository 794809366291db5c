import type { CommandModule } from 'yargs';
import type { GlobalOptions } from '../main';

interface Args extends GlobalOptions { id: string; signal?: string; all: boolean }

const command: CommandModule<GlobalOptions, Args> = {
  command: 'kill <id> [signal]',
  describe: 'send a signal (default SIGTERM) to the container init, or with --all to all its processes',
  builder: (y) =>
    y.positional('id', { type: 'string', demandOption: true })
      .positional('signal', { type: 'string' })
      .option('all', { alias: 'a', type: 'boolean', default: false, describe: 'send the signal to all processes in the container' }) as never,
  handler: (a) => {
    const { parseSignal } = require('../../signals') as typeof import('../../signals');
    const { loadContainer } = require('../../state/store') as typeof import('../../state/store');
    const { BerthError } = require('../../errors') as typeof import('../../errors');
    const sig = parseSignal(a.signal ?? 'SIGTERM');
    const c = loadContainer(a.root, a.id);
    const status = c.status();
    if (a.all) {
      // runc accepts --all on a stopped container (the shim sends it after exit).
      (require('../../container/destroy') as typeof import('../../container/destroy')).killAll(c, sig);
      return;
    }
    if (status === 'stopped' || status === 'creating') throw new BerthError('container not running');
    (require('../../container/signal') as typeof import('../../container/signal')).signalInit(c, sig);
  },
};
export default command;
