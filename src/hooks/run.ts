// Hooks berth runs itself, in the runtime's namespaces: prestart, createRuntime,
// poststart, poststop. Each gets the container state on stdin, its own env only,
// the bundle as its working directory (as under runc, which runs in the bundle),
// and is killed at its timeout.
import { statSync } from 'node:fs';
import { getSystemErrorName } from 'node:util';
import { BerthError } from '../errors';
import { logWarn } from '../log/log';
import { native } from '../native/addon';
import { signalName } from '../signals';
import type { HookSpec } from '../state/store';

export interface HookState {
  ociVersion: string;
  id: string;
  status: string;
  pid: number;
  bundle: string;
  annotations: Record<string, string>;
}

/** What the addon's runHook reports (addon/napi/hook.cc). */
interface HookRun {
  spawnErrno?: number;
  status?: number;
  signal?: number;
  stdout: Buffer;
  stderr: Buffer;
  timedOut: boolean;
}

export function runHooks(kind: string, hooks: HookSpec[] | undefined, state: HookState, opts: { warnOnly?: boolean } = {}): void {
  if (!hooks?.length) return;
  // The addon runs each hook: Node's child_process (net and streams with it) would
  // cost more than a hook-less create.
  const { runHook } = native() as unknown as { runHook(path: string, argv: string[], env: string[], cwd: string | null, input: Buffer, timeoutMs: number): HookRun };
  // A bundle removed before `delete` leaves the hooks berth's own directory.
  const cwd = isDirectory(state.bundle) ? state.bundle : null;
  const input = Buffer.from(JSON.stringify(state));
  hooks.forEach((h, i) => {
    const args = h.args?.length ? h.args : [h.path];
    // As an object first: a later entry for a name wins, an entry without "=" is NAME=NAME (as before with spawnSync).
    const env = Object.entries(Object.fromEntries((h.env ?? []).map((e) => [e.slice(0, e.indexOf('=') >>> 0), e.slice(e.indexOf('=') + 1)]))).map(([k, v]) => `${k}=${v}`);
    const r = runHook(h.path, args, env, cwd, input, h.timeout ? h.timeout * 1000 : 0);
    let why = '';
    if (r.spawnErrno !== undefined) why = `spawnSync ${h.path} ${errnoName(r.spawnErrno)}`;
    else if (r.timedOut) why = `timed out after ${h.timeout} s`;
    else if (r.signal !== undefined) why = `killed by ${signalName(r.signal)}`;
    else if (r.status !== 0) why = `exit status ${r.status}`;
    if (!why) return;
    const out = Buffer.concat([r.stdout ?? Buffer.alloc(0), r.stderr ?? Buffer.alloc(0)]).toString().trim();
    const msg = `running hook hooks.${kind}[${i}] (${h.path}): ${why}${out ? `: ${out.slice(0, 500)}` : ''}`;
    if (opts.warnOnly) logWarn(msg);
    else throw new BerthError(msg);
  });
}

/** "ENOENT" for 2, as Node names a failed spawn's errno (node:util is loaded with Node; node:os is not). */
function errnoName(n: number): string {
  try {
    return getSystemErrorName(-n);
  } catch {
    return `errno ${n}`;
  }
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
