// Bind mounts with a user namespace (issue 9.8): a source the container's root
// cannot reach (a host directory 0700 root above it, as kubelet's volume dirs
// are) is opened with berth's credentials inside the init's mount namespace, as
// runc does, and mounted from the fd; the fds never reach the container.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import type { SpecObject } from '../../src/spec/defaults';
import { leftovers, Session, show } from './helpers';

const s = new Session('bindsrc');
after(() => s.close());

/** A volume under a directory only host root may enter: DIR (0700) / vol / file. */
function hiddenVolume(t: TestContext): string {
  const hidden = s.tmpdir(t, 'berth-itest-hidden-');
  assert.equal(statSync(hidden).mode & 0o777, 0o700);
  const vol = join(hidden, 'vol');
  mkdirSync(vol, { mode: 0o755 });
  writeFileSync(join(vol, 'file'), 'from the volume\n', { mode: 0o644 });
  return vol;
}

function userns(spec: SpecObject, join?: number): void {
  spec.linux.namespaces.push(join ? { type: 'user', path: `/proc/${join}/ns/user` } : { type: 'user' });
  if (!join) {
    spec.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    spec.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  }
  spec.mounts = spec.mounts.filter((m: { type?: string }) => m.type !== 'cgroup' && m.type !== 'sysfs' && m.type !== 'mqueue');
}

const bindAt = (spec: SpecObject, source: string, destination: string) =>
  spec.mounts.push({ destination, type: 'bind', source, options: ['rbind', 'ro'] });

test('a new user namespace: a bind source under a 0700 root directory is mounted, and no fd of it stays', (t) => {
  const vol = hiddenVolume(t);
  const b = s.bundle(t, {
    args: ['cat', '/tmp/file'],
    mutate: (spec) => {
      userns(spec);
      bindAt(spec, vol, '/tmp');
    },
  });
  const id = s.newId();
  s.deleteAfter(t, id);
  const c = s.create(b.dir, id);
  assert.equal(c.code, 0, show(c));
  // The waiting init holds stdio, the exec fifo and its root: no source, no socket.
  const pid = s.state(id)!.pid;
  const extra = readdirSync(`/proc/${pid}/fd`).filter((fd) => Number(fd) > 2).map((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`));
  assert.deepEqual(extra.sort(), ['/', join(s.root, id, 'exec.fifo')].sort());
  assert.equal(readFileSync(`/proc/${pid}/root/tmp/file`, 'utf8'), 'from the volume\n');
  assert.equal(s.cli(['start', id]).code, 0);
  assert.equal(s.cli(['delete', '--force', id]).code, 0);
  // And run: the container's root reads it.
  const r = s.run(t, { args: ['cat', '/tmp/file'], mutate: (spec) => (userns(spec), bindAt(spec, vol, '/tmp')) });
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stdout, 'from the volume\n');
});

test('a joined user namespace (a Kubernetes pod\'s): the same volume is mounted, and the container is in its own cgroup', (t) => {
  const vol = hiddenVolume(t);
  const { id: podId } = s.started(t, { args: ['sleep', '100'], mutate: (spec) => userns(spec) });
  const podPid = s.state(podId)!.pid;
  const { id } = s.started(t, { args: ['sleep', '100'], mutate: (spec) => (userns(spec, podPid), bindAt(spec, vol, '/tmp')) });
  const pid = s.state(id)!.pid;
  assert.equal(readlinkSync(`/proc/${pid}/ns/user`), readlinkSync(`/proc/${podPid}/ns/user`));
  assert.match(readFileSync(`/proc/${pid}/cgroup`, 'utf8'), new RegExp(`^0::/berth/${id}$`, 'm'));
  const r = s.cli(['exec', id, 'cat', '/tmp/file']);
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stdout, 'from the volume\n');
});

test('nothing is left behind', () => {
  assert.deepEqual(leftovers(s), []);
});
