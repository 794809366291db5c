import type { CommandModule } from 'yargs';
import type { GlobalOptions } from '../main';

export interface CreateArgs extends GlobalOptions {
  id: string;
  bundle?: string;
  'pid-file'?: string;
  'console-socket'?: string;
  'no-pivot': boolean;
  'no-new-keyring': boolean;
  'preserve-fds': number;
}

/** Flags shared by create and run. */
export const createFlags = {
  bundle: { alias: 'b', type: 'string', describe: 'path to the root of the bundle directory (default: current directory)' },
  'pid-file': { type: 'string', describe: 'file to write the process id to' },
  'console-socket': { type: 'string', describe: 'AF_UNIX socket to receive the pty master fd' },
  'no-pivot': { type: 'boolean', default: false, describe: 'do not use pivot_root (for ramdisk roots)' },
  'no-new-keyring': { type: 'boolean', default: false, describe: 'do not create a new session keyring' },
  'preserve-fds': { type: 'number', default: 0, describe: 'pass N additional file descriptors (from 3) to the container' },
} as const;

export function createOptions(a: CreateArgs) {
  return {
    root: a.root, id: a.id, bundle: a.bundle, pidFile: a['pid-file'], consoleSocket: a['console-socket'],
    noPivot: a['no-pivot'], noNewKeyring: a['no-new-keyring'], preserveFds: a['preserve-fds'], systemdCgroup: a['systemd-cgroup'],
  };
}

const command: CommandModule<GlobalOptions, CreateArgs> = {
  command: 'create <id>',
  describe: 'create a container',
  builder: (y) => y.options(createFlags).positional('id', { type: 'string', demandOption: true }) as never,
  handler: async (a) => {
    const { createContainer } = require('../../container/create') as typeof import('../../container/create');
    await createContainer(createOptions(a));
  },
};
export default command;
