import type { Args, Command, OptionSpec } from '../command';
import { runtimeOf } from '../runtime';

/** Flags shared by create and run. */
export const createFlags: Record<string, OptionSpec> = {
  bundle: { alias: 'b', type: 'string', describe: 'path to the root of the bundle directory (default: current directory)' },
  'pid-file': { type: 'string', describe: 'file to write the process id to' },
  'console-socket': { type: 'string', describe: 'AF_UNIX socket to receive the pty master fd' },
  'no-pivot': { type: 'boolean', default: false, describe: 'do not use pivot_root (for ramdisk roots)' },
  'no-new-keyring': { type: 'boolean', default: false, describe: 'do not create a new session keyring' },
  'preserve-fds': { type: 'number', default: 0, describe: 'pass N additional file descriptors (from 3) to the container' },
};

export function createOptions(a: Args) {
  return {
    bundle: a.bundle ?? process.cwd(), pidFile: a['pid-file'] as string | undefined, consoleSocket: a['console-socket'] as string | undefined,
    noPivot: !!a['no-pivot'], noNewKeyring: !!a['no-new-keyring'], preserveFds: Number(a['preserve-fds'] ?? 0),
  };
}

const command: Command = {
  name: 'create',
  describe: 'create a container',
  positionals: [{ name: 'id', required: true }],
  options: createFlags,
  run: async (a) => {
    await runtimeOf(a).create(a.id, createOptions(a));
  },
};
export default command;
