import type { Command } from '../command';
import { runtimeOf } from '../runtime';

const command: Command = {
  name: 'exec',
  describe: 'run a process in a container',
  positionals: [{ name: 'id', required: true }, { name: 'command', required: false, rest: true }],
  options: {
    process: { alias: 'p', type: 'string', describe: 'path to a process.json describing the process' },
    detach: { alias: 'd', type: 'boolean', default: false, describe: 'detach from the process' },
    'pid-file': { type: 'string', describe: 'file to write the process id to' },
    tty: { alias: 't', type: 'boolean', default: false, describe: 'allocate a pseudo-TTY' },
    'console-socket': { type: 'string', describe: 'AF_UNIX socket to receive the pty master fd' },
    'preserve-fds': { type: 'number', default: 0, describe: 'pass N additional file descriptors (from 3) to the process' },
    cwd: { type: 'string', describe: 'working directory in the container' },
    env: { alias: 'e', type: 'string', repeat: true, describe: 'set an environment variable (NAME=value)' },
    user: { alias: 'u', type: 'string', describe: 'UID[:GID] to run as' },
    'additional-gids': { alias: 'g', type: 'string', repeat: true, describe: 'an additional group id' },
    cap: { alias: 'c', type: 'string', repeat: true, describe: 'add a capability to the bounding, effective and permitted sets' },
    'no-new-privs': { type: 'boolean', default: false, describe: 'set no_new_privs for the process' },
    apparmor: { type: 'string', describe: 'AppArmor profile for the process' },
    'process-label': { type: 'string', describe: 'SELinux label for the process' },
    'ignore-paused': { type: 'boolean', default: false, describe: 'try to exec even in a paused container' },
    cgroup: { type: 'string', repeat: true, describe: 'run in an existing sub-cgroup of the container\'s: PATH, or CONTROLLER[,CONTROLLER]:PATH (v1)' },
  },
  run: async (a) => {
    const list = (v: unknown): string[] => (v === undefined ? [] : ([] as string[]).concat(v as string[]).map(String));
    try {
      const { resolve } = require('node:path') as typeof import('node:path');
      const { loadProcess } = require('../../spec/validate') as typeof import('../../spec/validate');
      const process_ = a.process ? loadProcess(resolve(a.process)) : list(a.command);
      const { status } = await runtimeOf(a).exec(a.id, process_, {
        detach: a.detach, pidFile: a['pid-file'], tty: a.process ? undefined : a.tty, consoleSocket: a['console-socket'],
        preserveFds: Number(a['preserve-fds'] ?? 0), cwd: a.cwd, env: list(a.env), user: a.user, additionalGids: list(a['additional-gids']),
        caps: list(a.cap), noNewPrivs: a['no-new-privs'], apparmor: a.apparmor, processLabel: a['process-label'], ignorePaused: a['ignore-paused'],
        cgroups: list(a.cgroup), stdio: 'inherit', proxyTerminal: true, forwardSignals: true,
      });
      process.exitCode = status;
    } catch (e) {
      const { BerthError } = require('../../errors') as typeof import('../../errors');
      // As runc: 255 when exec itself failed, so callers tell it from the process's
      // own status (0-254, 128+N).
      throw new BerthError(e instanceof Error ? e.message : String(e), 255);
    }
  },
};
export default command;
