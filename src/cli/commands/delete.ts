import type { Command } from '../command';

const command: Command = {
  name: 'delete',
  describe: 'delete a container and the resources it holds',
  positionals: [{ name: 'id', required: true }],
  options: {
    force: { alias: 'f', type: 'boolean', default: false, describe: 'kill the container first if it still runs' },
  },
  run: (a) => {
    const { loadContainer, containerDir } = require('../../state/store') as typeof import('../../state/store');
    const { BerthError } = require('../../errors') as typeof import('../../errors');
    const { destroy } = require('../../container/destroy') as typeof import('../../container/destroy');
    let c;
    try {
      c = loadContainer(a.root, a.id);
    } catch (e) {
      // As runc: --force succeeds for a container that does not exist; a directory
      // left without a state file (a create killed at its first step) goes too.
      if (a.force) {
        (require('node:fs') as typeof import('node:fs')).rmSync(containerDir(a.root, a.id), { recursive: true, force: true });
        return;
      }
      throw e;
    }
    const unlock = c.lock();
    try {
      const status = c.status();
      // runtime.md: deleting a container that is not stopped MUST fail (runc deletes
      // created ones; engines always pass --force for those).
      if (status !== 'stopped' && !a.force)
        throw new BerthError(`cannot delete container ${a.id} that is not stopped: ${status}`);
      destroy(c, { runPoststop: status !== 'creating' });
    } finally {
      unlock();
    }
  },
};
export default command;
