// The command table. Each module declares its flags; the work it does is loaded
// only when that command runs, so `berth state` pays for nothing else.
import type { CommandModule } from 'yargs';
import create from './create';
import start from './start';
import state from './state';
import kill from './kill';
import del from './delete';
import run from './run';
import list from './list';
import spec from './spec';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [create, start, state, kill, del, run, list, spec];
