// `restore`: a container made anew from --bundle (its state, its cgroups with the
// config's limits), whose processes CRIU restores from --image-path instead of
// berth-init starting them. As runc: CRIU runs in the container's cgroups (the
// restored tasks land there), the rootfs is bound where CRIU wants a root (a
// mount point), external mounts and namespaces get their host side, the init's
// stdio pipes are handed over from berth's own, and a terminal's new pty master
// goes to --console-socket. Once restored, every other command works on it.
import { closeSync, mkdirSync, openSync, readFileSync, realpathSync, rmdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BerthError, errnoText } from '../errors';
import { hierarchies } from '../cgroups/hierarchies';
import { systemdUnavailable } from '../cgroups/manager';
import { checkCgroupsInUse, newState, planCgroupManager } from '../container/create';
import { destroy } from '../container/destroy';
import { forwardSignals } from '../container/forward';
import { signalInit } from '../container/signal';
import { openTerminalProxy, type TerminalProxy } from '../container/terminal';
import { runHooks } from '../hooks/run';
import { logDebug } from '../log/log';
import { native } from '../native/addon';
import { loadConfig } from '../spec/validate';
import { procStat } from '../state/proc';
import { claimContainer, type Container, writeAtomic } from '../state/store';
import { cgroupsMode, type CriuFlags, emptyNsMask, openDir } from './checkpoint';
import { criuRpc, criuSwrk } from './criu';
import { CRIU_NS, externalNsKey, layoutOf, restoreMounts } from './layout';
import { makeMountPoints } from './mountpoints';
import type { Opts } from './rpc';
import { readKernelFile } from '../state/proc';

export interface RestoreOptions extends CriuFlags {
  root: string;
  id: string;
  bundle?: string;
  pidFile?: string;
  consoleSocket?: string;
  detach: boolean;
  noSubreaper: boolean;
  noPivot: boolean;
  lsmProfile?: string;
  lsmMountContext?: string;
  systemdCgroup: boolean;
}

/** Restores the container; in the foreground waits for it and returns its exit status (as `run`), detached 0. */
export async function restoreContainer(o: RestoreOptions): Promise<number> {
  const bundle = resolve(o.bundle ?? process.cwd());
  if (o.systemdCgroup) {
    const why = systemdUnavailable();
    if (why) throw new BerthError(`restore --systemd-cgroup: ${why}; leave it out to use cgroupfs (the config's cgroupsPath as a path)`);
  }
  const spec = loadConfig(bundle);
  const rpc = criuRpc();
  const mode = cgroupsMode(o.manageCgroupsMode);
  const emptyNs = emptyNsMask(o.emptyNs);
  const terminal = !!spec.process?.terminal;
  if (terminal && o.detach && !o.consoleSocket) throw new BerthError('restore: a container with a terminal (process.terminal) restored with --detach needs --console-socket');
  const imagePath = resolve(o.imagePath || join(process.cwd(), 'checkpoint'));
  const layout = layoutOf(spec, bundle, hierarchies());
  const cg = planCgroupManager(spec, o.id, o.systemdCgroup, false);
  const placement = cg.placement;
  checkCgroupsInUse(cg);
  const saved = newState(spec, o.id, bundle, placement);

  // In the foreground without --console-socket berth is the terminal's other end.
  const proxy: TerminalProxy | undefined = terminal && !o.detach && !o.consoleSocket ? openTerminalProxy() : undefined;
  const fds: number[] = [];
  let c: Container | undefined;
  let unlock = () => {};
  let criuRoot: string | undefined;
  try {
    const imageFd = openDir(imagePath, 'restore: image path (--image-path)', false);
    fds.push(imageFd);
    const opts: Opts = {
      images_dir_fd: imageFd,
      evasive_devices: true,
      log_level: 4,
      log_file: 'restore.log',
      rst_sibling: true,
      manage_cgroups: true,
      manage_cgroups_mode: mode,
      notify_scripts: true,
      shell_job: o.shellJob,
      ext_unix_sk: o.extUnixSk,
      tcp_established: o.tcpEstablished,
      file_locks: o.fileLocks,
      empty_ns: emptyNs,
      orphan_pts_master: true,
      auto_dedup: o.autoDedup,
      lazy_pages: o.lazyPages,
    };
    if (o.lsmProfile) opts.lsm_profile = o.lsmProfile;
    if (o.lsmMountContext) opts.lsm_mount_context = o.lsmMountContext;
    let logDir = imagePath;
    if (o.workPath) {
      logDir = resolve(o.workPath);
      opts.work_dir_fd = openDir(logDir, 'restore: work path (--work-path)', true);
      fds.push(opts.work_dir_fd);
    }
    if (layout.criuConfig !== '') opts.config_file = layout.criuConfig ?? '/etc/criu/runc.conf';
    // Namespaces joined by path: network and pid are handed to CRIU (fds from 4 on,
    // under the keys checkpoint gave them); the others it joins itself.
    const extraFds: number[] = [];
    for (const n of layout.joined) {
      if (n.type === 'network' || n.type === 'pid') {
        let fd: number;
        try {
          fd = openSync(n.path, 'r');
        } catch (e) {
          throw new BerthError(`restore: opening namespace path ${n.path} (linux.namespaces, ${n.type}): ${errnoText(e)}`);
        }
        fds.push(fd);
        (opts.inherit_fd ??= []).push({ key: externalNsKey(n.type), fd: 4 + extraFds.length });
        extraFds.push(fd);
      } else if (n.type === 'cgroup') {
        throw new BerthError(`restore: a cgroup namespace joined by path (linux.namespaces) cannot be restored by CRIU`);
      } else {
        (opts.join_ns ??= []).push({ ns: CRIU_NS[n.type], ns_file: n.path });
      }
    }
    // The init's stdio pipes become berth's own (CRIU's fds 0-2), as runc does.
    for (const [i, d] of readDescriptors(imagePath).entries()) {
      if (i < 3 && d.includes('pipe:')) (opts.inherit_fd ??= []).push({ key: d, fd: i });
    }

    ({ c, unlock } = claimContainer(o.root, saved));
    if (!cg.needsPid) cg.create();
    // The rootfs may be a fresh copy (a migration): CRIU mounts on the mount points but makes none.
    makeMountPoints(spec, bundle, saved.rootfs);
    // CRIU wants its root to be a mount point whose parent is not overmounted.
    criuRoot = join(c.dir, 'criu-root');
    mkdirSync(criuRoot, { mode: 0o755 });
    try {
      native().bindMount(saved.rootfs, criuRoot);
    } catch (e) {
      throw new BerthError(`restore: binding the rootfs ${saved.rootfs} at ${criuRoot}: ${errnoText(e)}`);
    }
    opts.root = realpathSync(criuRoot);
    opts.ext_mnt = restoreMounts(layout, saved.rootfs, placement);

    const container = c;
    const state = () => ({ ociVersion: saved.ociVersion, id: saved.id, status: 'created', pid: saved.pid, bundle, annotations: saved.annotations ?? {} });
    const resp = criuSwrk({ type: rpc.REQ.RESTORE, opts }, {
      step: 'restore (criu restore)',
      logPath: join(logDir, 'restore.log'),
      extraFds,
      started: (pid) => {
        // CRIU restores into the cgroups it runs in: the container's, limits set
        // (a systemd unit starts with CRIU in it, as create's with berth-init).
        if (cg.needsPid) cg.create(pid);
        cg.join(pid);
        opts.cg_root = cgroupRoots(pid);
      },
      notify: (script, pid, got) => {
        if (script === 'setup-namespaces' && pid) {
          saved.pid = pid;
          runHooks('prestart', spec.hooks?.prestart, state());
          runHooks('createRuntime', spec.hooks?.createRuntime, state());
        } else if (script === 'post-restore' && pid) {
          saveRestored(container, pid);
        } else if (script === 'orphan-pts-master' && got.length) {
          // The pty CRIU made for the restored terminal: its master goes where create's would.
          const to = o.consoleSocket ?? proxy?.theirs;
          if (to !== undefined) sendMaster(to, got[0], o.consoleSocket);
          else logDebug('restore: the images have a terminal but the config none (process.terminal): its pty master is dropped');
        }
      },
    });
    if (saved.pid !== resp.restore?.pid || saved.phase !== 'created') saveRestored(c, resp.restore?.pid ?? 0);
    if (o.pidFile) writeAtomic(resolve(o.pidFile), String(saved.pid));
  } catch (e) {
    proxy?.close();
    if (c) {
      try {
        destroy(c, { runPoststop: saved.pid > 0 });
      } catch (cleanup) {
        logDebug(`cleanup after a failed restore: ${(cleanup as Error).message}`);
      }
    }
    throw e;
  } finally {
    if (criuRoot) {
      try {
        native().detachMount(criuRoot);
        rmdirSync(criuRoot);
      } catch {
        // gone with a failed restore's state directory
      }
    }
    for (const fd of fds) closeSync(fd);
    unlock();
  }
  if (o.detach) return 0;
  return waitForeground(c, proxy, o.noSubreaper);
}

/** The state once CRIU has restored the init (pid): the container now exists, running. */
function saveRestored(c: Container, pid: number): void {
  c.saved.pid = pid;
  c.saved.pidStartTime = procStat(pid)?.startTime ?? '';
  c.saved.phase = 'created';
  c.saved.created = new Date().toISOString();
  c.save();
  logDebug(`restored container init has pid ${pid}`);
}

/** cg_root: the cgroups CRIU (so the restored tasks) is in, as /proc/PID/cgroup names them. */
function cgroupRoots(pid: number): { ctrl: string; path: string }[] {
  return readKernelFile(`/proc/${pid}/cgroup`).split('\n').filter(Boolean).map((l) => {
    const [, ctrl, path] = /^\d+:([^:]*):(.*)$/.exec(l) ?? [];
    return { ctrl: ctrl ?? '', path: path ?? '/' };
  });
}

/** descriptors.json of the image: what the init's fds 0-2 were (written by checkpoint, berth's or runc's). */
function readDescriptors(imagePath: string): string[] {
  try {
    const d = JSON.parse(readFileSync(join(imagePath, 'descriptors.json'), 'utf8'));
    return Array.isArray(d) ? d.map(String) : [];
  } catch (e) {
    logDebug(`restore: no descriptors.json in ${imagePath} (${errnoText(e)}): the init's pipes are not handed over`);
    return [];
  }
}

function sendMaster(to: string | number, master: number, path: string | undefined): void {
  try {
    native().sendFds(to, Buffer.from('orphan-pts-master'), [master]);
  } catch (e) {
    throw new BerthError(`restore: sending the pty master to the console socket${path ? ` ${path} (--console-socket)` : ''}: ${errnoText(e)}`);
  }
}

/** In the foreground: forward signals, wait for the restored init, then delete the container and return its status (as `run`). */
async function waitForeground(c: Container, proxy: TerminalProxy | undefined, noSubreaper: boolean): Promise<number> {
  const addon = native();
  // As runc: processes the init leaves behind are reaped here, not by the host's init.
  if (!noSubreaper) addon.setChildSubreaper();
  proxy?.attach();
  const stop = forwardSignals((sig) => signalInit(c, sig), { proxiedTerminal: !!proxy });
  let status: number;
  try {
    // CRIU restored the init as our child (rst_sibling).
    const st = await addon.waitExit(c.saved.pid);
    status = st.signal !== undefined ? 128 + st.signal : (st.code ?? 1);
    await proxy?.finish();
  } finally {
    stop();
  }
  const unlock = c.lock();
  try {
    destroy(c, { runPoststop: true });
  } finally {
    unlock();
  }
  return status;
}
