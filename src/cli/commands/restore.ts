import type { Command } from '../command';
import { criuFlags, criuFlagValues } from './checkpoint';

const command: Command = {
  name: 'restore',
  describe: 'restore a container from a checkpoint (with CRIU); without --detach, wait for it and exit with its status',
  positionals: [{ name: 'id', required: true }],
  options: {
    ...criuFlags,
    bundle: { alias: 'b', type: 'string', describe: 'path to the root of the bundle directory (default: current directory)' },
    detach: { alias: 'd', type: 'boolean', default: false, describe: 'detach from the container\'s process' },
    'pid-file': { type: 'string', describe: 'file to write the process id to' },
    'console-socket': { type: 'string', describe: 'AF_UNIX socket to receive the pty master fd' },
    'no-subreaper': { type: 'boolean', default: false, describe: 'do not reap the processes the container leaves behind' },
    'no-pivot': { type: 'boolean', default: false, describe: 'accepted for runc compatibility (CRIU restores the root itself)' },
    'lsm-profile': { type: 'string', describe: 'LSM profile for the restored processes, TYPE:NAME' },
    'lsm-mount-context': { type: 'string', describe: 'LSM mount context for the restored mounts' },
  },
  run: async (a) => {
    const { restoreContainer } = require('../../checkpoint/restore') as typeof import('../../checkpoint/restore');
    process.exitCode = await restoreContainer({
      ...criuFlagValues(a), root: a.root, id: a.id, bundle: a.bundle, pidFile: a['pid-file'], consoleSocket: a['console-socket'],
      detach: !!a.detach, noSubreaper: !!a['no-subreaper'], noPivot: !!a['no-pivot'], lsmProfile: a['lsm-profile'],
      lsmMountContext: a['lsm-mount-context'], systemdCgroup: a['systemd-cgroup'],
    });
  },
};
export default command;
