import { readFileSync, statSync } from 'node:fs';
import type { Command } from '../command';
import { writeOut } from '../output';

const command: Command = {
  name: 'list',
  aliases: ['ls'],
  describe: 'list the containers under --root',
  positionals: [],
  options: {
    format: { alias: 'f', type: 'string', choices: ['table', 'json'], default: 'table', describe: 'output format' },
    quiet: { alias: 'q', type: 'boolean', default: false, describe: 'print only the ids' },
  },
  run: (a) => {
    const { listContainers } = require('../../state/store') as typeof import('../../state/store');
    // As runc: the owner is the user who owns the container's state directory.
    const states = listContainers(a.root).map((c) => Object.assign(c.publicState(), { owner: ownerOf(c.dir) }));
    if (a.quiet) {
      writeOut(states.map((s) => `${s.id}\n`).join(''));
    } else if (a.format === 'json') {
      writeOut(JSON.stringify(states) + '\n');
    } else {
      const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'],
        ...states.map((s) => [s.id, s.pid, s.status, s.bundle, s.created, s.owner].map(String))];
      const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
      writeOut(rows.map((r) => r.map((v, i) => (i < r.length - 1 ? v.padEnd(widths[i] + 3) : v)).join('') + '\n').join(''));
    }
  },
};
export default command;

/** The name of the user owning path (/etc/passwd), or "#UID" as runc has it. */
function ownerOf(path: string): string {
  const uid = statSync(path).uid;
  try {
    for (const line of readFileSync('/etc/passwd', 'latin1').split('\n')) {
      const f = line.split(':');
      if (f.length > 2 && Number(f[2]) === uid && f[2] !== '') return f[0];
    }
  } catch {
    // no passwd: the number
  }
  return `#${uid}`;
}
