import type { Command } from '../command';

const command: Command = {
  name: 'delete',
  describe: 'delete a container and the resources it holds',
  positionals: [{ name: 'id', required: true }],
  options: {
    force: { alias: 'f', type: 'boolean', default: false, describe: 'kill the container first if it still runs' },
  },
  run: (a) => {
    const { containerDir, loadContainer, lockDir } = require('../../state/store') as typeof import('../../state/store');
    const { BerthError } = require('../../errors') as typeof import('../../errors');
    const { destroy } = require('../../container/destroy') as typeof import('../../container/destroy');
    const { existsSync, rmSync } = require('node:fs') as typeof import('node:fs');
    const dir = containerDir(a.root, a.id);
    // Locked before the state is read: a create of the id in flight is waited for,
    // and what it left is what is deleted (never a state read before it finished).
    const unlock = lockDir(dir);
    // As runc: --force succeeds for a container that does not exist.
    if (!unlock) {
      if (a.force) return;
      throw new BerthError(`container ${a.id} does not exist`);
    }
    try {
      // Under the lock, a directory without a state file is a create killed at its
      // first step: --force removes it.
      if (a.force && !existsSync(`${dir}/state.json`)) {
        rmSync(dir, { recursive: true, force: true });
        return;
      }
      const c = loadContainer(a.root, a.id);
      const status = c.status();
      // runtime.md: deleting a container that is not stopped MUST fail (runc deletes
      // created ones; engines always pass --force for those).
      if (status !== 'stopped' && !a.force)
        throw new BerthError(`cannot delete container ${a.id} that is not stopped: ${status}`);
      (require('../../trace') as typeof import('../../trace')).mark('locked, status');
      destroy(c, { runPoststop: status !== 'creating' });
    } finally {
      unlock();
    }
  },
};
export default command;
