// The container store (src/state): ids, atomic state files, status derived from the
// live process, never from what was written.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { isAlive, procStat, readKernelFile } from '../../src/state/proc';
import { checkId, claimContainer, isoTime, listContainers, loadContainer, lockDir, type Saved } from '../../src/state/store';

const root = mkdtempSync('/tmp/berth-state-');
after(() => rmSync(root, { recursive: true, force: true }));

function saved(id: string, pid: number, startTime: string): Saved {
  return {
    ociVersion: '1.3.0', id, bundle: '/b', rootfs: '/b/rootfs', created: new Date(0).toISOString(), owner: '',
    phase: 'created', pid, pidStartTime: startTime, cgroups: { dirs: [], made: [] }, hooks: {}, ownPidNs: true,
  };
}

describe('state store', () => {
  test('ids: letters, digits and _+-. only', () => {
    for (const ok of ['a', 'A-1_b.c+d', 'x'.repeat(64)]) checkId(ok);
    for (const bad of ['', '.', '..', 'a/b', '../x', 'a b', 'ä']) assert.throws(() => checkId(bad), /invalid container id/);
  });

  test('"created" is the time as Date.toISOString has it, made without a Date', () => {
    const day = 86_400_000;
    const times = [0, 1, 999, day - 1, day, Date.UTC(2000, 1, 29, 23, 59, 59, 999), Date.UTC(2100, 2, 1), Date.UTC(9999, 11, 31, 23, 59, 59, 999), Date.now()];
    for (let t = 0; t < Date.UTC(2400, 0, 1); t += 7 * day + 3_723_456) times.push(t); // every weekday, hour and month, leap days
    for (const t of times) assert.equal(isoTime(t), new Date(t).toISOString(), `at ${t}`);
  });

  test('claiming an id twice fails; state.json is written whole, without temp files left', () => {
    const { c, unlock } = claimContainer(root, saved('one', 0, ''));
    assert.throws(() => claimContainer(root, saved('one', 0, '')), /already exists/);
    c.saved.pid = 12345;
    c.save();
    assert.equal(loadContainer(root, 'one').saved.pid, 12345);
    assert.deepEqual(readdirSync(c.dir), ['state.json']);
    c.remove();
    unlock();
    assert.throws(() => loadContainer(root, 'one'), /does not exist/);
  });

  test('status follows the process: created with the fifo, running without, stopped when it exits', async () => {
    const child = spawn('sleep', ['30']);
    const st = procStat(child.pid!)!;
    const { c, unlock } = claimContainer(root, saved('live', child.pid!, st.startTime));
    writeFileSync(c.fifo, '');
    assert.equal(c.status(), 'created');
    rmSync(c.fifo);
    assert.equal(c.status(), 'running');
    assert.equal(c.publicState().pid, child.pid);
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    assert.equal(c.status(), 'stopped');
    assert.equal(c.publicState().pid, 0);
    c.remove();
    unlock();
  });

  test('kernel files are read whole and as UTF-8 (cgroup and mount paths may hold any name)', () => {
    const dir = mkdtempSync('/tmp/berth-kfile-');
    try {
      const f = join(dir, 'cgroup');
      const text = `0::/système/${'x'.repeat(9000)}\n`;
      writeFileSync(f, text);
      assert.equal(readKernelFile(f), text);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a reused pid with another start time is not the container', () => {
    const { c, unlock } = claimContainer(root, saved('reused', process.pid, '1'));
    assert.equal(isAlive(process.pid, procStat(process.pid)!.startTime), true);
    assert.equal(c.status(), 'stopped');
    c.remove();
    unlock();
  });

  test('a lock waited for on a directory removed and made anew meanwhile is taken on the new one', () => {
    const dir = join(root, 'relocked');
    require('node:fs').mkdirSync(dir);
    assert.equal(lockDir(join(root, 'never-made')), undefined);
    // flock(1) holds the lock until berth waits for it (a blocked lock shows in
    // /proc/locks as "->"), then removes the directory and makes it anew.
    const holder = spawn('flock', [dir, 'sh', '-c', `until grep -q -- '->' /proc/locks; do sleep 0.01; done; rmdir ${dir}; mkdir ${dir}`], { stdio: 'inherit' });
    try {
      for (const t = Date.now(); spawnSync('flock', ['-n', dir, 'true']).status === 0; ) assert.ok(Date.now() - t < 10_000, 'flock(1) never took the lock');
      const unlock = lockDir(dir);
      assert.ok(unlock, 'no lock');
      // The new directory is the one held: another flock of it fails until released.
      assert.notEqual(spawnSync('flock', ['-n', dir, 'true']).status, 0);
      unlock();
      assert.equal(spawnSync('flock', ['-n', dir, 'true']).status, 0);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  test('a container still being created, and list skipping half-made directories', () => {
    const { c, unlock } = claimContainer(root, { ...saved('young', 0, ''), phase: 'creating' });
    assert.equal(c.status(), 'creating');
    require('node:fs').mkdirSync(join(root, 'half'));
    assert.deepEqual(listContainers(root).map((x) => x.id), ['young']);
    assert.ok(existsSync(join(root, 'half')));
    c.remove();
    unlock();
  });
});
