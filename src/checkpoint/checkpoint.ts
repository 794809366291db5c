// `checkpoint`: CRIU dumps the container's processes into --image-path, described
// to it as runc describes a container (./layout.ts); then, unless it was a
// pre-dump or --leave-running, the container is gone (its state, cgroups), as
// after `delete`: `restore` brings it back.
import { closeSync, constants as C, mkdirSync, openSync, readlinkSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { BerthError, errnoText } from '../errors';
import { hierarchies } from '../cgroups/hierarchies';
import { destroy } from '../container/destroy';
import { logDebug } from '../log/log';
import { loadConfig } from '../spec/validate';
import { loadContainer, type Container } from '../state/store';
import { criuRpc, criuSwrk } from './criu';
import { CRIU_NS, dumpMounts, externalNsKey, layoutOf, type CriuLayout } from './layout';
import type { Opts } from './rpc';

/** Flags checkpoint and restore share (runc's). */
export interface CriuFlags {
  imagePath?: string;
  workPath?: string;
  tcpEstablished: boolean;
  extUnixSk: boolean;
  shellJob: boolean;
  fileLocks: boolean;
  manageCgroupsMode?: string;
  emptyNs: string[];
  autoDedup: boolean;
  lazyPages: boolean;
}

export interface CheckpointOptions extends CriuFlags {
  root: string;
  id: string;
  parentPath?: string;
  leaveRunning: boolean;
  tcpSkipInFlight: boolean;
  linkRemap: boolean;
  preDump: boolean;
  statusFd?: number;
  pageServer?: string;
}

// CLONE_NEWNET: as runc, CRIU is never asked to restore a network namespace's
// devices and configuration (berth does not manage them), only to make one.
const CLONE_NEWNET = 0x40000000;

/** --manage-cgroups-mode as CRIU's number. */
export function cgroupsMode(mode: string | undefined): number {
  const n = criuRpc().CG_MODE[mode ?? ''];
  if (n === undefined) throw new BerthError(`--manage-cgroups-mode: invalid value ${JSON.stringify(mode)} (soft, full, strict or ignore)`);
  return n;
}

/** --empty-ns as CRIU's namespace mask (network is always in it). */
export function emptyNsMask(types: string[]): number {
  for (const t of types) if (t !== 'network') throw new BerthError(`--empty-ns: namespace ${JSON.stringify(t)} is not supported (only network)`);
  return CLONE_NEWNET;
}

/** The config's part of the container as created; from config.json for a container created before berth kept it. */
export function layoutOfContainer(c: Container): CriuLayout {
  return c.saved.criu ?? layoutOf(loadConfig(c.saved.bundle), c.saved.bundle, hierarchies());
}

/** An open directory fd, made (0700) first when asked. */
export function openDir(path: string, what: string, make: boolean): number {
  try {
    if (make) mkdirSync(path, { recursive: true, mode: 0o700 });
    return openSync(path, C.O_RDONLY | C.O_DIRECTORY);
  } catch (e) {
    throw new BerthError(`${what} ${path}: ${errnoText(e)}`);
  }
}

export function checkpointContainer(o: CheckpointOptions): void {
  const c = loadContainer(o.root, o.id);
  const unlock = c.lock();
  const fds: number[] = [];
  try {
    const status = c.status();
    if (status !== 'running' && status !== 'paused') throw new BerthError(`container cannot be checkpointed in ${status} state`);
    const rpc = criuRpc();
    const imagePath = resolve(o.imagePath || join(process.cwd(), 'checkpoint'));
    const imageFd = openDir(imagePath, 'checkpoint: image path (--image-path)', true);
    fds.push(imageFd);
    if (o.parentPath) {
      // As runc: relative to the image path, and there.
      if (isAbsolute(o.parentPath)) throw new BerthError('checkpoint: --parent-path must be relative (to --image-path)');
      const parent = join(imagePath, o.parentPath);
      let isDir = false;
      try {
        isDir = statSync(parent).isDirectory();
      } catch (e) {
        throw new BerthError(`checkpoint: invalid --parent-path ${parent}: ${errnoText(e)}`);
      }
      if (!isDir) throw new BerthError(`checkpoint: invalid --parent-path ${parent}: not a directory`);
    }
    const s = c.saved;
    const layout = layoutOfContainer(c);
    const opts: Opts = {
      images_dir_fd: imageFd,
      log_level: 4,
      log_file: 'dump.log',
      root: s.rootfs,
      manage_cgroups: true,
      manage_cgroups_mode: cgroupsMode(o.manageCgroupsMode),
      notify_scripts: true,
      pid: s.pid,
      shell_job: o.shellJob,
      leave_running: o.leaveRunning,
      tcp_established: o.tcpEstablished,
      tcp_skip_in_flight: o.tcpSkipInFlight,
      link_remap: o.linkRemap,
      ext_unix_sk: o.extUnixSk,
      file_locks: o.fileLocks,
      empty_ns: emptyNsMask(o.emptyNs),
      orphan_pts_master: true,
      auto_dedup: o.autoDedup,
      lazy_pages: o.lazyPages,
    };
    let logDir = imagePath;
    if (o.workPath) {
      logDir = resolve(o.workPath);
      opts.work_dir_fd = openDir(logDir, 'checkpoint: work path (--work-path)', true);
      fds.push(opts.work_dir_fd);
    }
    if (layout.criuConfig !== '') opts.config_file = layout.criuConfig ?? '/etc/criu/runc.conf';
    // Namespaces joined by path stay outside: CRIU names them by inode, restore hands them back.
    for (const n of layout.joined) {
      if (n.type !== 'network' && n.type !== 'pid') continue;
      const ino = statSync(`/proc/${s.pid}/ns/${CRIU_NS[n.type]}`).ino;
      (opts.external ??= []).push(`${CRIU_NS[n.type]}[${ino}]:${externalNsKey(n.type)}`);
    }
    // CRIU freezes the container with its cgroup (v1 freezer, cgroup.freeze on v2) rather than ptrace.
    const freezer = s.cgroups.freezer ?? s.cgroups.unified;
    if (freezer) opts.freeze_cgroup = freezer;
    if (o.pageServer) {
      const m = /^(.*):(\d+)$/.exec(o.pageServer);
      if (!m || !m[1]) throw new BerthError('checkpoint: use --page-server ADDRESS:PORT to specify the page server');
      opts.ps = { address: m[1].replace(/^\[(.*)\]$/, '$1'), port: Number(m[2]) };
    }
    if (o.parentPath) {
      opts.parent_img = o.parentPath;
      opts.track_mem = true;
    }
    if (o.preDump) requireFeature({ mem_track: true }, 'checkpoint --pre-dump', 'dirty memory tracking (mem_track)');
    if (o.lazyPages) requireFeature({ lazy_pages: true }, 'checkpoint --lazy-pages', 'lazy pages (userfaultfd)');
    if (!o.preDump) {
      const masked = layout.maskedPaths.filter((p) => {
        try {
          return !statSync(`/proc/${s.pid}/root${p}`).isDirectory();
        } catch {
          return false;
        }
      });
      opts.ext_mnt = dumpMounts(layout, s.rootfs, masked);
      // The init's stdio, for restore to hand it pipes in their place (runc's descriptors.json).
      const descriptors = [0, 1, 2].map((fd) => {
        try {
          return readlinkSync(`/proc/${s.pid}/fd/${fd}`);
        } catch {
          return '/dev/null';
        }
      });
      writeFileSync(join(imagePath, 'descriptors.json'), JSON.stringify(descriptors), { mode: 0o600 });
    }
    const type = o.preDump ? rpc.REQ.PRE_DUMP : rpc.REQ.DUMP;
    let statusFd = o.lazyPages && o.statusFd !== undefined && o.statusFd >= 0 ? o.statusFd : undefined;
    criuSwrk({ type, opts }, {
      step: `checkpoint (criu ${o.preDump ? 'pre-dump' : 'dump'})`,
      logPath: join(logDir, 'dump.log'),
      notify: (script) => {
        // As runc with CRIU 3.15 and later: --status-fd gets a \0 once the lazy-pages server is ready.
        if (script !== 'status-ready' || statusFd === undefined) return;
        try {
          writeSync(statusFd, '\0');
          closeSync(statusFd);
        } catch (e) {
          logDebug(`checkpoint: writing to --status-fd ${statusFd}: ${errnoText(e)}`);
        }
        statusFd = undefined;
      },
    });
    // Without --leave-running CRIU has ended the processes: the container goes (runc's Destroy, with poststop hooks).
    if (!o.leaveRunning && !o.preDump) destroy(c, { runPoststop: true });
  } finally {
    for (const fd of fds) closeSync(fd);
    unlock();
  }
}

/** FEATURE_CHECK: fails naming the feature when this CRIU or kernel lacks it. */
export function requireFeature(features: { mem_track?: boolean; lazy_pages?: boolean }, step: string, what: string): void {
  const rpc = criuRpc();
  const resp = criuSwrk({ type: rpc.REQ.FEATURE_CHECK, features }, { step: `${step} (criu feature check)`, keepsCgroup2: true });
  const has = resp.features ?? {};
  if ((features.mem_track && !has.mem_track) || (features.lazy_pages && !has.lazy_pages)) {
    throw new BerthError(`${step}: criu is missing a feature: ${what}`);
  }
}
