import type { Command } from '../command';
import { runtimeOf } from '../runtime';
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
  run: async (a) => {
    const states = await runtimeOf(a).list();
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

