// The command table. Each module declares its arguments; the work it does is
// loaded only when that command runs, so `berth state` pays for nothing else.
import type { Command } from '../command';
import checkpoint from './checkpoint';
import create from './create';
import del from './delete';
import events from './events';
import exec from './exec';
import features from './features';
import kill from './kill';
import list from './list';
import pause from './pause';
import ps from './ps';
import restore from './restore';
import resume from './resume';
import run from './run';
import spec from './spec';
import start from './start';
import state from './state';
import update from './update';

export const commands: Command[] = [create, start, state, kill, del, run, exec, list, spec, features, pause, resume, update, ps, events, checkpoint, restore];
