import type { Command } from '../command';

const command: Command = {
  name: 'spec',
  describe: 'create a new specification file (config.json) for a bundle',
  positionals: [],
  options: {
    bundle: { alias: 'b', type: 'string', describe: 'path to the root of the bundle directory (default: current directory)' },
    rootless: { type: 'boolean', default: false, describe: 'generate a configuration for a rootless container' },
  },
  run: (a) => {
    const { writeFileSync, statSync } = require('node:fs') as typeof import('node:fs');
    const { join, resolve } = require('node:path') as typeof import('node:path');
    const { BerthError, errnoText } = require('../../errors') as typeof import('../../errors');
    const { defaultSpec, formatSpec } = require('../../spec/defaults') as typeof import('../../spec/defaults');

    const dir = resolve(a.bundle ?? '.');
    try {
      if (!statSync(dir).isDirectory()) throw Object.assign(new Error(), { code: 'ENOTDIR' });
    } catch (e) {
      throw new BerthError(`spec: bundle ${dir}: ${errnoText(e)}`);
    }
    // (the global --rootless of runc, before the command, is a string: only this flag is true)
    const data = formatSpec(defaultSpec({ rootless: (a.rootless as unknown) === true }));
    try {
      // 'wx' refuses an existing file (or a symlink there) atomically.
      writeFileSync(join(dir, 'config.json'), data, { flag: 'wx', mode: 0o666 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new BerthError('File config.json exists. Remove it first');
      throw new BerthError(`spec: write ${join(dir, 'config.json')}: ${errnoText(e)}`);
    }
  },
};
export default command;
