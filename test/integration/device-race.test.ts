// Issue 16.3: device nodes are made before pivot_root, where an absolute symlink
// leads to the host. When the directory they are made in is shared with someone
// hostile (a rootfs whose /dev is a symlink into a volume, no /dev tmpfs), a
// symlink renamed over a node between its mknod and its chown/chmod must not make
// the runtime change a host file. A few hundred creations race a renaming loop.
import assert from 'node:assert/strict';
import { chmodSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { repoRoot, requireTool } from '../fixtures/runtime';
import { leftovers, Session, show } from './helpers';

const s = new Session('devrace');
after(() => s.close());

const RUNS = 40;
const NODES = 16;

test('a symlink renamed over a device node being made never changes a host file', async (t) => {
  if (!requireTool('python3', t)) return;
  const shared = s.tmpdir(t, 'berth-itest-shared-dev-');
  const victim = join(s.tmpdir(t, 'berth-itest-victim-'), 'victim');
  writeFileSync(victim, 'host file');
  chmodSync(victim, 0o600);
  const b = s.bundle(t, {
    copyRootfs: true,
    args: ['true'],
    mutate: (spec) => {
      spec.mounts = spec.mounts.filter((m: { destination: string }) => m.destination !== '/dev' && !m.destination.startsWith('/dev/'));
      spec.mounts.push({ destination: '/shared', type: 'bind', source: shared, options: ['rbind', 'rw'] });
      spec.linux.devices = Array.from({ length: NODES }, (_, k) => ({ path: `/dev/f${k}`, type: 'p', fileMode: 0o666, uid: 0, gid: 0 }));
    },
  });
  rmSync(join(b.dir, 'rootfs/dev'), { recursive: true, force: true });
  symlinkSync('/shared', join(b.dir, 'rootfs/dev'));
  await s.holder(t, ['python3', join(repoRoot(), 'test/fixtures/rename-racer.py'), shared, victim, String(NODES)]);

  const outcomes = new Map<string, number>();
  for (let run = 0; run < RUNS; run++) {
    for (const e of readdirSync(shared)) rmSync(join(shared, e), { recursive: true, force: true });
    const id = s.newId();
    s.deleteAfter(t, id);
    const r = s.cli(['run', '--bundle', b.dir, id]);
    const mode = statSync(victim).mode & 0o7777;
    assert.equal(mode.toString(8), '600', `run ${run + 1}: the host file's mode changed\n${show(r)}`);
    // Refusing the node the neighbour swapped in is fine; nothing else is.
    if (r.code !== 0) assert.match(r.stderr, /linux\.devices/, show(r));
    const key = r.code === 0 ? 'ran' : r.stderr.trim();
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  }
  t.diagnostic(JSON.stringify([...outcomes]));
});

test('nothing is left behind', () => {
  assert.deepEqual(leftovers(s), []);
});
