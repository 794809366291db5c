// Hooks berth runs itself, in the runtime's namespaces: prestart, createRuntime,
// poststart, poststop. Each gets the container state on stdin, its own env only,
// and is killed at its timeout.
import { BerthError } from '../errors';
import { logWarn } from '../log/log';
import type { HookSpec } from '../state/store';

export function runHooks(kind: string, hooks: HookSpec[] | undefined, state: object, opts: { warnOnly?: boolean } = {}): void {
  if (!hooks?.length) return;
  // Loaded only when there are hooks: child_process costs more than a hook-less create.
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  hooks.forEach((h, i) => {
    const args = h.args?.length ? h.args : [h.path];
    const r = spawnSync(h.path, args.slice(1), {
      argv0: args[0],
      env: Object.fromEntries((h.env ?? []).map((e) => [e.slice(0, e.indexOf('=') >>> 0), e.slice(e.indexOf('=') + 1)])),
      input: JSON.stringify(state),
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: h.timeout ? h.timeout * 1000 : undefined,
      killSignal: 'SIGKILL',
    });
    let why = '';
    if (r.error) why = (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT' ? `timed out after ${h.timeout} s` : r.error.message;
    else if (r.signal) why = `killed by ${r.signal}`;
    else if (r.status !== 0) why = `exit status ${r.status}`;
    if (!why) return;
    const out = Buffer.concat([r.stdout ?? Buffer.alloc(0), r.stderr ?? Buffer.alloc(0)]).toString().trim();
    const msg = `running hook hooks.${kind}[${i}] (${h.path}): ${why}${out ? `: ${out.slice(0, 500)}` : ''}`;
    if (opts.warnOnly) logWarn(msg);
    else throw new BerthError(msg);
  });
}
