// config-linux.md, listenerPath: the notify fd goes to the agent over a unix
// socket (SCM_RIGHTS), with the container process state as JSON, one per
// connection. As runc: the fd is copied out of the process that installed the
// filter with pidfd_getfd; for the init the state says "creating", for an
// exec'd process "running", with the init's pid in the state and the process's
// own pid beside it.
import { closeSync } from 'node:fs';
import { BerthError } from '../errors';
import { native } from '../native/addon';
import type { Saved } from '../state/store';

export function sendSeccompListener(
  s: Saved,
  from: { pid: number; fd: number },
  l: { path: string; metadata: string },
  status: 'creating' | 'running',
): void {
  const addon = native();
  let pidfd = -1;
  let fd = -1;
  try {
    pidfd = addon.pidfdOpen(from.pid);
    fd = addon.pidfdGetfd(pidfd, from.fd);
    const state = {
      ociVersion: s.ociVersion, fds: ['seccompFd'], pid: from.pid, ...(l.metadata ? { metadata: l.metadata } : {}),
      state: { ociVersion: s.ociVersion, id: s.id, status, pid: s.pid, bundle: s.bundle, annotations: s.annotations ?? {} },
    };
    addon.sendFds(l.path, Buffer.from(JSON.stringify(state)), [fd]);
  } catch (e) {
    throw new BerthError(`sending the seccomp notify fd (linux.seccomp.listenerPath): ${(e as Error).message}`);
  } finally {
    if (fd >= 0) closeSync(fd);
    if (pidfd >= 0) closeSync(pidfd);
  }
}
