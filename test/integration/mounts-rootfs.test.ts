// The rootfs as a whole: mount propagation between the host and the container
// (config-linux.md rootfsPropagation, and the propagation options of a bind, as
// Kubernetes volumes with mountPropagation use them), a read-only /dev, /proc and
// /sys that must be directories, and what --no-pivot leaves of the host. The
// propagation cases run under runc too: berth must behave as runc does.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { RUNC } from '../fixtures/runtime';
import type { SpecObject } from '../../src/spec/defaults';
import { leftovers, Session, show } from './helpers';

const berth = new Session('mntr');
const runc = new Session('mntr-runc', RUNC);
after(() => {
  berth.close();
  runc.close();
});

/** Mount points in /proc/self/mountinfo text. */
const mountPoints = (text: string): string[] =>
  text.split('\n').filter((l) => l.includes(' - ')).map((l) => l.split(' ')[4]);

const hostMountPoints = () => mountPoints(readFileSync('/proc/self/mountinfo', 'utf8'));

/**
 * A tmpfs on the host in a peer group of its own (shared), as kubelet makes the
 * directories of Bidirectional volumes; unmounted with whatever was mounted below
 * it when the test ends.
 */
function sharedVolume(s: Session, t: TestContext): string {
  const vol = s.tmpdir(t, 'berth-itest-vol-');
  execFileSync('mount', ['-t', 'tmpfs', 'berth-itest-vol', vol]);
  s.defer(t, () => execFileSync('umount', ['-R', vol]));
  execFileSync('mount', ['--make-shared', vol]);
  mkdirSync(join(vol, 'from-container'));
  mkdirSync(join(vol, 'from-host'));
  return vol;
}

// containerd's CRI: Bidirectional is an rshared bind with rootfsPropagation rshared,
// HostToContainer an rslave bind with rslave, None an rprivate bind.
const PROPAGATION = [
  { name: 'Bidirectional', root: 'rshared', bind: 'rshared', toHost: true, toContainer: true },
  { name: 'HostToContainer', root: 'rslave', bind: 'rslave', toHost: false, toContainer: true },
  { name: 'None', root: 'rprivate', bind: 'rprivate', toHost: false, toContainer: false },
];

for (const [runtime, s] of [['berth', berth], ['runc', runc]] as const) {
  for (const c of PROPAGATION) {
    test(`${runtime}: rootfsPropagation ${c.root} with an ${c.bind} volume (${c.name}): a mount in the container ${c.toHost ? 'appears' : 'does not appear'} on the host, a mount on the host ${c.toContainer ? 'appears' : 'does not appear'} in the container`, (t) => {
      const vol = sharedVolume(s, t);
      const { id } = s.started(t, {
        copyRootfs: true,
        args: ['sleep', '1000'],
        mutate: (spec) => {
          spec.linux.rootfsPropagation = c.root;
          spec.mounts.push({ destination: '/vol', type: 'bind', source: vol, options: ['rbind', c.bind] });
          // The container mounts below /vol itself.
          for (const set of ['bounding', 'effective', 'permitted'] as const) spec.process.capabilities![set]!.push('CAP_SYS_ADMIN');
        },
      });
      const inside = s.cli(['exec', id, 'mount', '-t', 'tmpfs', 'from-container', '/vol/from-container']);
      assert.equal(inside.code, 0, show(inside));
      assert.equal(hostMountPoints().includes(join(vol, 'from-container')), c.toHost, `host mounts: ${hostMountPoints().filter((p) => p.startsWith(vol))}`);

      execFileSync('mount', ['-t', 'tmpfs', 'from-host', join(vol, 'from-host')]);
      const seen = s.cli(['exec', id, 'cat', '/proc/self/mountinfo']);
      assert.equal(seen.code, 0, show(seen));
      const points = mountPoints(seen.stdout);
      assert.ok(points.includes('/vol/from-container'), `the container sees its own mount: ${points}`);
      assert.equal(points.includes('/vol/from-host'), c.toContainer, `container mounts: ${points}`);
    });
  }
}

test('berth: rootfsPropagation rslave: a mount the host makes below the rootfs reaches the container (the mount holding the rootfs becomes a slave, as in current runc; runc 1.1 made it private)', (t) => {
  const b = berth.bundle(t, { copyRootfs: true, args: ['sleep', '1000'], mutate: (spec) => (spec.linux.rootfsPropagation = 'rslave') });
  const rootfs = join(b.dir, 'rootfs');
  mkdirSync(join(rootfs, 'from-host'));
  // The rootfs on a shared mount of its own, as an engine's overlay usually is.
  execFileSync('mount', ['--bind', rootfs, rootfs]);
  berth.defer(t, () => execFileSync('umount', ['-R', rootfs]));
  execFileSync('mount', ['--make-shared', rootfs]);
  const id = berth.newId();
  berth.deleteAfter(t, id);
  const c = berth.create(b.dir, id);
  assert.equal(c.code, 0, show(c));
  execFileSync('mount', ['-t', 'tmpfs', 'from-host', join(rootfs, 'from-host')]);
  const seen = berth.cli(['exec', id, 'cat', '/proc/self/mountinfo']);
  assert.equal(seen.code, 0, show(seen));
  assert.ok(mountPoints(seen.stdout).includes('/from-host'), seen.stdout);
});

test('config.md mounts: a read-only /dev tmpfs with /dev/pts, /dev/shm and /dev/mqueue below it: the mounts and devices are made first, /dev is read-only at the end (as runc)', (t) => {
  const r = berth.sh(t, [
    'grep -E " /dev(/pts|/shm|/mqueue)? " /proc/self/mountinfo | cut -d" " -f5,6',
    'echo x > /dev/null && head -c 1 /dev/zero | wc -c',
    'ls /dev/ptmx /dev/fd/ >/dev/null && echo links',
    'touch /dev/new 2>/dev/null; echo touch=$?',
    'echo shm > /dev/shm/f && cat /dev/shm/f',
  ].join('; '), (spec) => {
    (spec.mounts as { destination: string; options?: string[] }[]).find((m) => m.destination === '/dev')!.options!.push('ro');
  });
  assert.equal(r.code, 0, show(r));
  const lines = r.stdout.trim().split('\n');
  const opts = Object.fromEntries(lines.slice(0, 4).map((l) => [l.split(' ')[0], l.split(' ')[1].split(',')]));
  assert.deepEqual(Object.keys(opts).sort(), ['/dev', '/dev/mqueue', '/dev/pts', '/dev/shm'], r.stdout);
  assert.ok(opts['/dev'].includes('ro'), `/dev is read-only: ${opts['/dev']}`);
  assert.ok(opts['/dev/shm'].includes('rw'), `/dev/shm stays writable: ${opts['/dev/shm']}`);
  assert.deepEqual(lines.slice(4), ['1', 'links', 'touch=1', 'shm']);
});

for (const dest of ['/proc', '/sys']) {
  test(`${dest} as a symlink in the rootfs is refused ("must be mounted on ordinary directory", as runc), naming the mount; nothing is mounted through the link`, (t) => {
    const b = berth.bundle(t, { copyRootfs: true, args: ['true'] });
    const rootfs = join(b.dir, 'rootfs');
    rmSync(join(rootfs, dest.slice(1)), { recursive: true });
    mkdirSync(join(rootfs, 'elsewhere'));
    symlinkSync('/elsewhere', join(rootfs, dest.slice(1)));
    const spec = JSON.parse(readFileSync(b.config, 'utf8')) as SpecObject;
    const index = (spec.mounts as { destination: string }[]).findIndex((m) => m.destination === dest);
    assert.ok(index >= 0, `the default config mounts ${dest}`);
    const id = berth.newId();
    berth.deleteAfter(t, id);
    const r = berth.cli(['run', '--bundle', b.dir, id]);
    assert.notEqual(r.code, 0, show(r));
    assert.match(r.stderr, new RegExp(`mounts\\[${index}\\] \\(${dest}\\)`), show(r));
    assert.match(r.stderr, /ordinary directory/, show(r));
    assert.deepEqual(leftovers(berth, [id], [b.dir]), []);
  });
}

// Docker's default capabilities: enough to write a uid_map of root in a new user
// namespace (CAP_SETFCAP), not CAP_SYS_ADMIN.
const DOCKER_CAPS = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE'];

for (const pivot of [true, false]) {
  test(`${pivot ? 'with pivot_root' : '--no-pivot'}: no host procfs is left in the namespace, so a process in a user namespace of its own cannot mount a fresh, unmasked procfs (EPERM, as runc)`, (t) => {
    const b = berth.bundle(t, {
      args: ['unshare', '-mrpf', 'sh', '-c', 'echo in-userns; mount -t proc proc /tmp 2>&1; echo mount=$?'],
      mutate: (spec) => {
        spec.process.capabilities = { bounding: DOCKER_CAPS, effective: DOCKER_CAPS, permitted: DOCKER_CAPS };
      },
    });
    const id = berth.newId();
    berth.deleteAfter(t, id);
    const r = berth.cli(['run', ...(pivot ? [] : ['--no-pivot']), '--bundle', b.dir, id]);
    assert.equal(r.code, 0, show(r));
    const lines = r.stdout.trim().split('\n');
    // Else the probe proved nothing.
    assert.equal(lines[0], 'in-userns', `the probe's user namespace was made: ${show(r)}`);
    assert.equal(lines.at(-1), 'mount=1', show(r));
    assert.match(r.stdout, /permission denied/, show(r));
  });
}

test('--no-pivot with rootfsPropagation rshared under a shared /: moving the rootfs and detaching the host\'s proc and sys reach nothing outside the container (runc 1.1 covers the caller\'s / with the rootfs and unmounts its /proc)', (t) => {
  const b = berth.bundle(t, { copyRootfs: true, args: ['echo', 'in-container'], mutate: (spec) => (spec.linux.rootfsPropagation = 'rshared') });
  const rootfs = join(b.dir, 'rootfs');
  const id = berth.newId();
  berth.deleteAfter(t, id);
  // The caller's namespace stands for a host whose / is shared (systemd makes it so);
  // private first, so nothing of this reaches the real host. The rootfs is a mount of
  // its own, as an engine's overlay is.
  const view = "awk '$5 == \"/\" || $5 == \"/proc\" || $5 == \"/sys\" {print $1, $5}' /proc/self/mountinfo";
  const script = [
    'set -e', 'mount --make-shared /', `mount --bind ${rootfs} ${rootfs}`,
    `echo before; ${view}`,
    `${berth.bin} --root ${berth.root} run --no-pivot --bundle ${b.dir} ${id} || echo "run failed: $?"`,
    `echo after; ${view}`,
  ].join('\n');
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { encoding: 'utf8', timeout: 30_000 });
  const out = r.stdout;
  assert.equal(r.status, 0, `${out}\n${r.stderr}`);
  const before = out.slice(out.indexOf('before\n') + 7, out.indexOf('in-container\n'));
  const after = out.slice(out.indexOf('after\n') + 6);
  assert.ok(out.indexOf('in-container\n') > 0 && !out.includes('run failed'), `${out}\n${r.stderr}`);
  assert.equal(before.trim().split('\n').length, 3, before);
  assert.equal(after, before, "the caller's /, /proc and /sys are as they were");
});

test('rootfs: nothing is left behind', () => {
  assert.deepEqual(leftovers(berth), []);
  assert.deepEqual(leftovers(runc), []);
});
