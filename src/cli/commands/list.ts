import type { CommandModule } from 'yargs';
import type { GlobalOptions } from '../main';

interface Args extends GlobalOptions { format: 'table' | 'json'; quiet: boolean }

const command: CommandModule<GlobalOptions, Args> = {
  command: 'list',
  aliases: ['ls'],
  describe: 'list the containers under --root',
  builder: (y) =>
    y.option('format', { alias: 'f', choices: ['table', 'json'] as const, default: 'table' as const, describe: 'output format' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'print only the ids' }) as never,
  handler: (a) => {
    const { listContainers } = require('../../state/store') as typeof import('../../state/store');
    const states = listContainers(a.root).map((c) => c.publicState());
    if (a.quiet) {
      process.stdout.write(states.map((s) => `${s.id}\n`).join(''));
    } else if (a.format === 'json') {
      process.stdout.write(JSON.stringify(states) + '\n');
    } else {
      const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'],
        ...states.map((s) => [s.id, s.pid, s.status, s.bundle, s.created, s.owner || 'root'].map(String))];
      const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
      process.stdout.write(rows.map((r) => r.map((v, i) => (i < r.length - 1 ? v.padEnd(widths[i] + 3) : v)).join('') + '\n').join(''));
    }
  },
};
export default command;
