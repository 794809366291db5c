import type { Command } from '../command';
import { runtimeOf } from '../runtime';
import { writeOut } from '../output';

const command: Command = {
  name: 'ps',
  describe: 'list the processes of a container: json, the host pids; table, ps(1) lines (ps options after the id, default -ef)',
  positionals: [{ name: 'id', required: true }, { name: 'psArgs', required: false, rest: true }],
  options: {
    format: { alias: 'f', type: 'string', choices: ['table', 'json'], default: 'table', describe: 'output format' },
  },
  run: async (a) => {
    const { BerthError } = require('../../errors') as typeof import('../../errors');
    // As runc: the processes in the container's cgroup, stopped container or not.
    const pids = await runtimeOf(a).ps(a.id);
    if (a.format === 'json') {
      writeOut(JSON.stringify(pids) + '\n');
      return;
    }
    const psArgs: string[] = a.psArgs?.length ? a.psArgs : ['-ef'];
    const r = (require('node:child_process') as typeof import('node:child_process')).spawnSync('ps', psArgs, { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.error) throw new BerthError(`running ps: ${r.error.message}`);
    if (r.status !== 0) throw new BerthError(`ps ${psArgs.join(' ')} failed: ${(r.stderr || '').trim() || `exit code ${r.status}`}`);
    const lines = r.stdout.split('\n');
    const col = lines[0].trim().split(/\s+/).indexOf('PID');
    if (col < 0) throw new BerthError(`ps ${psArgs.join(' ')}: no PID column in its output`);
    const want = new Set(pids);
    const out = [lines[0], ...lines.slice(1).filter((l) => l.trim() && want.has(Number(l.trim().split(/\s+/)[col])))];
    writeOut(out.join('\n') + '\n');
  },
};
export default command;
