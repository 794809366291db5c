import type { Command } from '../command';

const command: Command = {
  name: 'events',
  describe: 'display container events: OOM notifications and cpu, memory, pids and IO statistics',
  positionals: [{ name: 'id', required: true }],
  options: {
    interval: { type: 'string', default: '5s', describe: 'the stats collection interval' },
    stats: { type: 'boolean', default: false, describe: "display the container's stats then exit" },
  },
  run: (a) => {
    // The library's event source (src/lib/runtime.ts events()), waited on in poll(2)
    // here: a CLI process has nothing else to do, and needs no thread for it.
    const { loadContainer } = require('../../state/store') as typeof import('../../state/store');
    const ev = require('../../container/events') as typeof import('../../container/events');
    ev.streamEvents(loadContainer(a.root, a.id), ev.parseDuration(String(a.interval)), a.stats);
  },
};
export default command;
