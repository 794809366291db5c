// Id-mapped bind mounts (runtime-spec 1.2 mounts[].uidMappings/gidMappings, and
// the idmap/ridmap options as runc 1.2 reads them): the files of a host
// directory show the owners the mount's mapping gives, inside a user namespace
// or not; what the container writes lands on the host with the mapped owner back;
// an id the mapping leaves out shows as the overflow id.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, readdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import type { SpecObject } from '../../src/spec/defaults';
import { leftovers, Session, show } from './helpers';

const s = new Session('idmap');
after(() => s.close());

const CONTAINER_BASE = 100000;

/** A host directory owned by 1000:1000 with `mine` (1000:1000) and `other` (3000:3000) in it. */
function volume(t: TestContext): string {
  const vol = join(s.tmpdir(t, 'berth-itest-idmap-'), 'vol');
  mkdirSync(vol, { mode: 0o755 });
  chownSync(vol, 1000, 1000);
  for (const [name, id] of [['mine', 1000], ['other', 3000]] as const) {
    writeFileSync(join(vol, name), `${name}\n`, { mode: 0o644 });
    chownSync(join(vol, name), id, id);
  }
  return vol;
}

/** The container gets a user namespace mapping 0..65535 to 100000..165535. */
function userns(spec: SpecObject): void {
  spec.linux.namespaces.push({ type: 'user' });
  spec.linux.uidMappings = [{ containerID: 0, hostID: CONTAINER_BASE, size: 65536 }];
  spec.linux.gidMappings = [{ containerID: 0, hostID: CONTAINER_BASE, size: 65536 }];
  spec.mounts = spec.mounts.filter((m: { type?: string }) => m.type !== 'cgroup' && m.type !== 'sysfs' && m.type !== 'mqueue');
}

const one = (containerID: number, hostID: number) => [{ containerID, hostID, size: 1 }];
const owners = 'for f in /vol/mine /vol/other; do stat -c "$f %u:%g" $f; done';

test('mappings of its own, in a user namespace: the owner the mapping gives, writes land mapped back, unmapped ids overflow', (t) => {
  const vol = volume(t);
  // On-disk 1000 is host id 100500 in the mount, which the container sees as 500.
  const mutate = (spec: SpecObject) => {
    userns(spec);
    spec.process.user = { uid: 500, gid: 500 };
    spec.mounts.push({ destination: '/vol', type: 'bind', source: vol, options: ['bind', 'idmap'],
      uidMappings: one(1000, CONTAINER_BASE + 500), gidMappings: one(1000, CONTAINER_BASE + 500) });
  };
  const r = s.sh(t, `${owners}; stat -c "/vol %u:%g" /vol; echo hi > /vol/made-inside && stat -c "made %u:%g" /vol/made-inside`, mutate);
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stdout, '/vol/mine 500:500\n/vol/other 65534:65534\n/vol 500:500\nmade 500:500\n');
  const made = statSync(join(vol, 'made-inside'));
  assert.deepEqual([made.uid, made.gid], [1000, 1000], 'written by container uid 500, owned by 1000 on the host');

  // The mount is id-mapped in the kernel's view, and the waiting init holds no
  // fd of it or of the mapping's user namespace.
  const b = s.bundle(t, { args: ['true'], mutate });
  const id = s.newId();
  s.deleteAfter(t, id);
  const c = s.create(b.dir, id);
  assert.equal(c.code, 0, show(c));
  const pid = s.state(id)!.pid;
  const vline = execFileSync('cat', [`/proc/${pid}/mountinfo`], { encoding: 'utf8' }).split('\n').find((l) => l.split(' ')[4] === '/vol');
  assert.match(vline ?? '', /\bidmapped\b/, `mountinfo of /vol: ${vline}`);
  const fds = readdirSync(`/proc/${pid}/fd`).filter((fd) => Number(fd) > 2).map((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`));
  assert.deepEqual(fds.sort(), ['/', join(s.root, id, 'exec.fifo')].sort());
});

test('idmap without mappings takes the container\'s: files keep their on-disk owners inside, a plain bind beside shows them unmapped', (t) => {
  const vol = volume(t);
  const r = s.sh(t, `${owners}; stat -c "plain %u:%g" /home/mine; touch /vol/made-inside && stat -c "made %u:%g" /vol/made-inside`, (spec) => {
    userns(spec);
    spec.process.user = { uid: 1000, gid: 1000 };
    spec.mounts.push(
      { destination: '/vol', type: 'bind', source: vol, options: ['rbind', 'idmap'] },
      { destination: '/home', type: 'bind', source: vol, options: ['rbind'] },
    );
  });
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stdout, '/vol/mine 1000:1000\n/vol/other 3000:3000\nplain 65534:65534\nmade 1000:1000\n');
  const made = statSync(join(vol, 'made-inside'));
  assert.deepEqual([made.uid, made.gid], [1000, 1000], 'container uid 1000 (host 101000) writes as 1000 through the mapping');
});

test('idmap in a joined user namespace (a pod\'s) takes that namespace', (t) => {
  const vol = volume(t);
  const { id: podId } = s.started(t, { args: ['sleep', '100'], mutate: userns });
  const podPid = s.state(podId)!.pid;
  const r = s.sh(t, owners, (spec) => {
    userns(spec);
    delete spec.linux.uidMappings;
    delete spec.linux.gidMappings;
    spec.linux.namespaces = spec.linux.namespaces.map((n: { type: string }) => (n.type === 'user' ? { type: 'user', path: `/proc/${podPid}/ns/user` } : n));
    spec.mounts.push({ destination: '/vol', type: 'bind', source: vol, options: ['rbind', 'idmap'] });
  });
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stdout, '/vol/mine 1000:1000\n/vol/other 3000:3000\n');
});

test('without a user namespace: the mapping alone changes the owners', (t) => {
  const vol = volume(t);
  const r = s.sh(t, owners, (spec) => {
    spec.mounts.push({ destination: '/vol', type: 'bind', source: vol, options: ['rbind'],
      uidMappings: one(1000, 2000), gidMappings: one(1000, 2001) });
  });
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stdout, '/vol/mine 2000:2001\n/vol/other 65534:65534\n');
});

test('rbind: ridmap maps the mounts below the source too, idmap only the top one', (t) => {
  const vol = volume(t);
  const sub = join(vol, 'sub');
  mkdirSync(sub);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'mode=755,size=1m', 'berth-idmap-sub', sub]);
  s.defer(t, () => execFileSync('umount', ['-l', sub]));
  writeFileSync(join(sub, 'deep'), 'deep\n');
  chownSync(join(sub, 'deep'), 1000, 1000);
  const r = s.sh(t, 'stat -c "%u" /vol/mine /vol/sub/deep /home/mine /home/sub/deep | tr "\\n" " "', (spec) => {
    userns(spec);
    spec.mounts.push(
      { destination: '/vol', type: 'bind', source: vol, options: ['rbind', 'ridmap'] },
      { destination: '/home', type: 'bind', source: vol, options: ['rbind', 'idmap'] },
    );
  });
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stdout, '1000 1000 1000 65534 ');
});

test('a filesystem that cannot be id-mapped fails create, naming the mount; nothing is left', (t) => {
  const r = s.run(t, {
    args: ['true'],
    mutate: (spec) => {
      userns(spec);
      spec.mounts.push({ destination: '/tmp', type: 'bind', source: '/sys/kernel', options: ['rbind', 'idmap'] });
    },
  });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /^berth: id-mapping the bind mount \(MOUNT_ATTR_IDMAP\) \(mounts\[\d+\] \(\/tmp\)\): \/sys\/kernel: its filesystem cannot be id-mapped on this kernel: invalid argument\n$/);
  assert.deepEqual(readdirSync(s.root).filter((e) => !e.startsWith('@')), []);
});

test('configs berth cannot apply fail by field: idmap on a non-bind mount, idmap with no user namespace to take mappings from', (t) => {
  const tmpfs = s.run(t, { args: ['true'], mutate: (spec) => spec.mounts.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['idmap'] }) });
  assert.match(tmpfs.stderr, /^berth: mounts\[\d+\] \(\/tmp\): id-mapped mounts \(uidMappings, gidMappings, idmap, ridmap\) need a bind mount\n$/);
  const vol = volume(t);
  const nouserns = s.run(t, { args: ['true'], mutate: (spec) => spec.mounts.push({ destination: '/tmp', type: 'bind', source: vol, options: ['rbind', 'ridmap'] }) });
  assert.match(nouserns.stderr, /^berth: mounts\[\d+\] \(\/tmp\): mount option ridmap without uidMappings and gidMappings takes the container's user namespace mappings, and there is no user namespace\n$/);
});

test('nothing is left behind', () => {
  assert.deepEqual(leftovers(s), []);
});
