// `create`: validate, plan, claim the id, make cgroups, start berth-init and talk
// to it until the container waits in "created". What exists at each moment is
// recorded first, so a failure (or a SIGKILL of this process) leaves nothing that
// `delete --force` cannot find; on an error we remove it all ourselves.
import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { applyLimits, DEFAULT_ALLOWED_DEVICES, type DeviceRule, joinCgroups, makeCgroups, planCgroups } from '../cgroups/cgroups';
import { hierarchies } from '../cgroups/hierarchies';
import { BerthError } from '../errors';
import { runHooks } from '../hooks/run';
import { logDebug } from '../log/log';
import { helperPath } from '../native/addon';
import { buildPlan, rootfsPath } from '../plan/build';
import * as K from '../plan/generated';
import { decodeItems, encodeMessage, encodePlan } from '../plan/message';
import { loadConfig } from '../spec/validate';
import { procStat } from '../state/proc';
import { claimContainer, containerDir, type Container, type Saved, writeAtomic } from '../state/store';
import { destroy } from './destroy';

export interface CreateOptions {
  root: string;
  id: string;
  bundle?: string;
  pidFile?: string;
  consoleSocket?: string;
  noPivot: boolean;
  noNewKeyring: boolean;
  preserveFds: number;
  systemdCgroup: boolean;
}

export async function createContainer(o: CreateOptions): Promise<Container> {
  const bundle = resolve(o.bundle ?? process.cwd());
  const dir = containerDir(o.root, o.id);
  if (o.systemdCgroup) throw new BerthError('--systemd-cgroup: the systemd cgroup driver is not supported yet');
  const spec = loadConfig(bundle);
  if (o.consoleSocket) throw new BerthError('--console-socket: terminals are not supported yet');
  const hs = hierarchies();
  const plan = buildPlan(spec, {
    bundle, execFifo: join(dir, 'exec.fifo'), preserveFds: o.preserveFds, noPivot: o.noPivot, hierarchies: hs,
    sessionKeyring: o.noNewKeyring ? undefined : `_ses.${o.id}`,
  });
  const placement = planCgroups(spec.linux?.cgroupsPath ?? `/berth/${o.id}`);
  const namespaces = spec.linux?.namespaces ?? [];
  const saved: Saved = {
    ociVersion: spec.ociVersion,
    id: o.id,
    bundle,
    rootfs: rootfsPath(spec, bundle),
    created: new Date().toISOString(),
    owner: '',
    annotations: spec.annotations as Record<string, string> | undefined,
    phase: 'creating',
    pid: 0,
    pidStartTime: '',
    cgroups: placement,
    hooks: { poststart: spec.hooks?.poststart, poststop: spec.hooks?.poststop },
    ownPidNs: namespaces.some((n) => n.type === 'pid' && !n.path),
    noProcess: spec.process ? undefined : true,
  };

  const c = claimContainer(o.root, saved);
  let unlock = () => {};
  try {
    unlock = c.lock();
    makeCgroups(placement);
    const resources = spec.linux?.resources;
    applyLimits(placement, resources && {
      ...(resources as never),
      devices: resources.devices && [...(resources.devices as DeviceRule[]), ...DEFAULT_ALLOWED_DEVICES],
    });
    await runInit(c, encodePlan(plan), o, spec.hooks);
    if (o.pidFile) writeAtomic(resolve(o.pidFile), String(c.saved.pid));
    return c;
  } catch (e) {
    try {
      // runtime.md: after a failed hook the lifecycle goes on at poststop; as runc,
      // berth runs them whenever the container's init had come to exist.
      destroy(c, { runPoststop: c.saved.pid > 0 });
    } catch (cleanupError) {
      logDebug(`cleanup after a failed create: ${(cleanupError as Error).message}`);
    }
    throw e;
  } finally {
    unlock();
  }
}

type Hooks = NonNullable<ReturnType<typeof loadConfig>['hooks']>;

function ociState(c: Container, status: string): object {
  const s = c.saved;
  return { ociVersion: s.ociVersion, id: s.id, status, pid: s.pid, bundle: s.bundle, annotations: s.annotations ?? {} };
}

function runInit(c: Container, planMsg: Buffer, o: CreateOptions, hooks: Hooks | undefined): Promise<void> {
  const preserved = Array.from({ length: o.preserveFds }, (_, i) => 3 + i);
  const syncFd = 3 + o.preserveFds;
  const child = spawn(helperPath(), ['create', String(syncFd), String(process.pid)], {
    stdio: ['inherit', 'inherit', 'inherit', ...preserved, 'pipe'],
  });
  const sock = child.stdio[syncFd] as unknown as Socket;
  return new Promise<void>((resolvePromise, reject) => {
    let buf = Buffer.alloc(0);
    let ready = false;
    let failed = false;
    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      sock.destroy();
      reject(e);
    };
    child.on('error', (e) => fail(new BerthError(`starting berth-init: ${e.message}`)));
    child.on('spawn', () => {
      try {
        // berth-init joins the cgroups before it clones the init, so the init
        // never runs outside them.
        joinCgroups(c.saved.cgroups, child.pid!);
        sock.write(planMsg);
      } catch (e) {
        child.kill('SIGKILL');
        fail(e);
      }
    });
    sock.on('error', () => {});
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 8 && buf.length >= 8 + buf.readUInt32LE(4)) {
        const type = buf.readUInt32LE(0);
        const payload = buf.subarray(8, 8 + buf.readUInt32LE(4));
        buf = buf.subarray(8 + payload.length);
        try {
          handle(type, payload);
        } catch (e) {
          fail(e);
          return;
        }
      }
    });
    sock.on('close', () => {
      if (ready) resolvePromise();
      else fail(new BerthError('berth-init exited before the container was ready (see the messages above)'));
    });

    const handle = (type: number, payload: Buffer) => {
      const items = decodeItems(payload);
      switch (type) {
        case K.MSG_PID: {
          const pid = Number(items[0]);
          c.saved.pid = pid;
          c.saved.pidStartTime = procStat(pid)?.startTime ?? '';
          c.save();
          logDebug(`container init has pid ${pid}`);
          break;
        }
        case K.MSG_ERROR: {
          const [step, field, , detail, text] = items as [string, string, bigint, string, string];
          // As Go (and so runc) words it: "open /x: no such file or directory".
          const cause = [detail, text && text[0].toLowerCase() + text.slice(1)].filter(Boolean).join(': ');
          throw new BerthError(`${step}${field ? ` (${field})` : ''}: ${cause}`);
        }
        case K.MSG_HOOKS: {
          // Lifecycle steps 3-5 come after the environment was created (step 2), so
          // the hooks see "created" (runtime.md; runc passes "creating").
          const st = ociState(c, 'created');
          runHooks('prestart', hooks?.prestart, st);
          runHooks('createRuntime', hooks?.createRuntime, st);
          sock.write(encodeMessage(K.MSG_HOOKS_DONE, JSON.stringify(st)));
          break;
        }
        case K.MSG_READY: {
          c.saved.phase = 'created';
          c.save();
          ready = true;
          // The init clears its parent-death signal on this message, then closes
          // the socket; we return when it has.
          sock.write(encodeMessage(K.MSG_COMMIT, JSON.stringify(ociState(c, 'created'))));
          break;
        }
        default:
          throw new BerthError(`unexpected message ${type} from berth-init`);
      }
    };
  });
}
