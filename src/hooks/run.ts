// Hooks berth runs itself, in the runtime's namespaces: prestart, createRuntime,
// poststart, poststop. Each gets the container state on stdin, its own env only,
// the bundle as its working directory (as under runc, which runs in the bundle),
// and is killed at its timeout.
import { statSync } from 'node:fs';
import { BerthError } from '../errors';
import { logWarn } from '../log/log';
import type { HookSpec } from '../state/store';

export interface HookState {
  ociVersion: string;
  id: string;
  status: string;
  pid: number;
  bundle: string;
  annotations: Record<string, string>;
}

export function runHooks(kind: string, hooks: HookSpec[] | undefined, state: HookState, opts: { warnOnly?: boolean } = {}): void {
  if (!hooks?.length) return;
  // Loaded only when there are hooks: child_process costs more than a hook-less create.
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  // A bundle removed before `delete` leaves the hooks berth's own directory.
  const cwd = isDirectory(state.bundle) ? state.bundle : undefined;
  hooks.forEach((h, i) => {
    const args = h.args?.length ? h.args : [h.path];
    const r = spawnSync(h.path, args.slice(1), {
      argv0: args[0],
      cwd,
      env: Object.fromEntries((h.env ?? []).map((e) => [e.slice(0, e.indexOf('=') >>> 0), e.slice(e.indexOf('=') + 1)])),
      input: JSON.stringify(state),
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: h.timeout ? h.timeout * 1000 : undefined,
      killSignal: 'SIGKILL',
    });
    let why = '';
    const code = (r.error as NodeJS.ErrnoException | undefined)?.code;
    // EPIPE: the hook exited without reading all of the state, which it may (as under
    // runc); its exit status still says how it went.
    if (r.error && code !== 'EPIPE') why = code === 'ETIMEDOUT' ? `timed out after ${h.timeout} s` : r.error.message;
    else if (r.signal) why = `killed by ${r.signal}`;
    else if (r.status !== 0) why = `exit status ${r.status}`;
    if (!why) return;
    const out = Buffer.concat([r.stdout ?? Buffer.alloc(0), r.stderr ?? Buffer.alloc(0)]).toString().trim();
    const msg = `running hook hooks.${kind}[${i}] (${h.path}): ${why}${out ? `: ${out.slice(0, 500)}` : ''}`;
    if (opts.warnOnly) logWarn(msg);
    else throw new BerthError(msg);
  });
}

/**
 * Whether a failed poststart hook is an error that stops the container. runtime-spec
 * 1.3 says so (and runc always did); before 1.3 runtime.md said "log a warning, but
 * the remaining hooks and lifecycle continue": a bundle gets the lifecycle of the
 * version it says it complies with (config.md ociVersion).
 */
export function poststartFailureStops(ociVersion: string): boolean {
  const [major, minor] = ociVersion.split('.').map((n) => parseInt(n, 10));
  return major > 1 || (major === 1 && minor >= 3);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
