import type { Command } from '../command';
import { runtimeOf } from '../runtime';

const command: Command = {
  name: 'pause',
  describe: 'suspend all processes of a container (freezes its cgroup)',
  positionals: [{ name: 'id', required: true }],
  options: {},
  run: (a) => runtimeOf(a).pause(a.id),
};
export default command;
