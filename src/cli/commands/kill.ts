import type { Command } from '../command';

const command: Command = {
  name: 'kill',
  describe: 'send a signal (default SIGTERM) to the container init, or with --all to all its processes',
  positionals: [{ name: 'id', required: true }, { name: 'signal', required: false }],
  options: {
    all: { alias: 'a', type: 'boolean', default: false, describe: 'send the signal to all processes in the container' },
  },
  run: (a) => {
    const { parseSignal } = require('../../signals') as typeof import('../../signals');
    const { loadContainer } = require('../../state/store') as typeof import('../../state/store');
    const { BerthError } = require('../../errors') as typeof import('../../errors');
    const sig = parseSignal(a.signal ?? 'SIGTERM');
    const c = loadContainer(a.root, a.id);
    if (a.all) {
      // runc accepts --all on a stopped container (the shim sends it after exit).
      (require('../../container/destroy') as typeof import('../../container/destroy')).killAll(c, sig);
      return;
    }
    const status = c.status();
    if (status === 'stopped' || status === 'creating') throw new BerthError('container not running');
    (require('../../container/signal') as typeof import('../../container/signal')).signalInit(c, sig);
    // As runc: other signals wait in the frozen cgroup until resume; SIGKILL thaws
    // it, since v1 frozen tasks would not die before that.
    if (sig === 9 && status === 'paused') {
      try {
        (require('../../cgroups/manager') as typeof import('../../cgroups/manager')).cgroupManager(c.saved.cgroups).setFrozen(false);
      } catch {
        // the cgroup went with the container
      }
    }
  },
};
export default command;
