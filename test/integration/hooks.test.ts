// Lifecycle hooks (config.md "POSIX-platform Hooks", runtime.md "Lifecycle"),
// through real containers created, started and deleted with the berth CLI.
// Every hook is /bin/sh appending one line to a log: its name, the mount
// namespace and hostname it ran in, and the state JSON it read on stdin.
// Hooks run on the host (prestart, createRuntime, poststart, poststop), in the
// container's namespaces before pivot_root (createContainer: the host's files are
// still visible), or inside the container (startContainer: the busybox /bin/sh,
// writing to the host's log dir bound at /hooklog).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import type { SpecObject } from '../../src/spec/defaults';
import { cgroupDirsOf, leftovers, nsOf, Session, show, waitFor } from './helpers';

const s = new Session('hooks');
after(() => s.close());

const HOOK_ENV = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'BERTH_HOOK_VAR=from-config'];

interface Entry {
  name: string;
  mntns: string;
  hostname: string;
  env: string;
  state: { ociVersion: string; id: string; pid: number; bundle: string; status: string; annotations?: Record<string, string> };
}

/** A hook appending "NAME<TAB>mnt ns<TAB>hostname<TAB>env var<TAB>state" to log. */
function hook(name: string, log: string, extra = '') {
  const script = `${extra}printf '%s\\t%s\\t%s\\t%s\\t%s\\n' ${name} "$(readlink /proc/self/ns/mnt)" "$(cat /proc/sys/kernel/hostname)" "$BERTH_HOOK_VAR" "$(cat)" >> ${log}`;
  return { path: '/bin/sh', args: ['sh', '-c', script], env: HOOK_ENV };
}

function readLog(file: string): Entry[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [name, mntns, hostname, env, state] = l.split('\t');
      return { name, mntns, hostname, env, state: state?.startsWith('{') ? JSON.parse(state) : state };
    });
}

/** A bundle with every kind of hook, logging to DIR/log (seen as /hooklog/log inside). */
function hookedBundle(t: TestContext, args: string[], mutate?: (spec: SpecObject, log: string) => void) {
  const dir = s.tmpdir(t, 'berth-itest-hooklog-');
  const log = join(dir, 'log');
  const b = s.bundle(t, {
    args,
    mutate: (spec) => {
      spec.hostname = 'hooked';
      spec.annotations = { 'org.example.hooks': 'yes' };
      // /tmp exists in the shared rootfs, so nothing is created in it.
      spec.mounts.push({ destination: '/tmp', type: 'bind', source: dir, options: ['bind', 'rw'] });
      spec.hooks = {
        prestart: [hook('prestart', log)],
        createRuntime: [hook('createRuntime', log)],
        createContainer: [hook('createContainer', log)],
        startContainer: [hook('startContainer', '/tmp/log')],
        poststart: [hook('poststart', log)],
        poststop: [hook('poststop', log)],
      };
      mutate?.(spec, log);
    },
  });
  return { b, log, dir };
}

test('config.md hooks: each hook runs at its step of the lifecycle, "in the listed order", with "the state of the container ... over stdin"', async (t) => {
  const { b, log } = hookedBundle(t, ['sh', '-c', 'echo "process\t$(readlink /proc/self/ns/mnt)" >> /tmp/log']);
  const id = s.newId();
  s.deleteAfter(t, id);

  let r = s.create(b.dir, id);
  assert.equal(r.code, 0, show(r));
  const pid = s.state(id)!.pid;
  assert.ok(pid > 0);
  // runtime.md create: prestart, createRuntime, createContainer; the program is not run yet.
  assert.deepEqual(readLog(log).map((e) => e.name), ['prestart', 'createRuntime', 'createContainer']);

  r = s.cli(['start', id]);
  assert.equal(r.code, 0, show(r));
  // "The poststart hooks MUST be called after the user-specified process is executed but before the start operation returns."
  const afterStart = readLog(log).map((e) => e.name);
  assert.deepEqual(afterStart.filter((n) => n !== 'process'), ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart']);
  assert.ok(afterStart.indexOf('startContainer') < (afterStart.includes('process') ? afterStart.indexOf('process') : Infinity),
    'startContainer runs before the user process');

  assert.ok(await waitFor(() => s.state(id)?.status === 'stopped'));
  r = s.cli(['delete', id]);
  assert.equal(r.code, 0, show(r));
  // "The poststop hooks MUST be called after the container is deleted but before the delete operation returns."
  const entries = readLog(log);
  assert.deepEqual(entries.map((e) => e.name).filter((n) => n !== 'process'),
    ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
  assert.equal(existsSync(join(s.root, id)), false);

  // runtime.md state: id, pid, bundle and status, and the annotations, for each hook.
  const byName = Object.fromEntries(entries.map((e) => [e.name, e]));
  for (const name of ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']) {
    const st = byName[name].state;
    assert.equal(st.id, id, `${name} state.id`);
    assert.equal(st.bundle, b.dir, `${name} state.bundle`);
    assert.ok(typeof st.ociVersion === 'string' && st.ociVersion.length > 0, `${name} state.ociVersion`);
    assert.deepEqual(st.annotations, { 'org.example.hooks': 'yes' }, `${name} state.annotations`);
    // The host's pid of the container process (startContainer reads it inside, where
    // the spec leaves it to the runtime: berth passes the same host pid).
    if (name !== 'poststop') assert.equal(st.pid, pid, `${name} state.pid`);
    // "Hooks ... env (array of strings, OPTIONAL) with the same semantics as environ"
    assert.equal(byName[name].env, 'from-config', `${name} env`);
  }
  // runtime.md lifecycle: these hooks are steps 3-5, after the environment was
  // created in step 2; "created" is the state "after step 2" (runc says "creating").
  assert.equal(byName.prestart.state.status, 'created');
  assert.equal(byName.createRuntime.state.status, 'created');
  assert.equal(byName.createContainer.state.status, 'created');
  assert.equal(byName.startContainer.state.status, 'created');
  assert.equal(byName.poststart.state.status, 'running');
  assert.equal(byName.poststop.state.status, 'stopped');
});

test('config.md hooks: prestart, createRuntime, poststart and poststop "MUST be executed in the runtime namespace"; createContainer and startContainer "in the container namespace"', (t) => {
  const { b, log } = hookedBundle(t, ['sh', '-c', 'echo "process\t$(readlink /proc/self/ns/mnt)\t$(hostname)" >> /tmp/log']);
  const id = s.newId();
  s.deleteAfter(t, id);
  const r = s.cli(['run', '--bundle', b.dir, id]);
  assert.equal(r.code, 0, show(r));
  const entries = readLog(log);
  const byName = Object.fromEntries(entries.map((e) => [e.name, e]));
  const hostMnt = nsOf('self', 'mnt');
  const containerMnt = byName.process.mntns;
  assert.notEqual(containerMnt, hostMnt);
  for (const name of ['prestart', 'createRuntime', 'poststart', 'poststop']) {
    assert.equal(byName[name].mntns, hostMnt, `${name} runs in the runtime's mount namespace`);
    assert.notEqual(byName[name].hostname, 'hooked', `${name} runs in the runtime's uts namespace`);
  }
  for (const name of ['createContainer', 'startContainer']) {
    assert.equal(byName[name].mntns, containerMnt, `${name} runs in the container's mount namespace`);
    assert.equal(byName[name].hostname, 'hooked', `${name} runs in the container's uts namespace`);
  }
});

test('the hooks berth-init runs (createContainer, startContainer) start with no signal ignored or blocked, as under runc', (t) => {
  // grep itself, not a shell: ash ignores SIGQUIT for itself and may pass that on.
  const probe = { path: '/bin/grep', args: ['grep', '-E', '^Sig(Ign|Blk):', '/proc/self/status'], env: HOOK_ENV };
  const b = s.bundle(t, {
    args: ['true'],
    mutate: (spec) => (spec.hooks = { createContainer: [probe], startContainer: [probe] }),
  });
  const id = s.newId();
  s.deleteAfter(t, id);
  const r = s.cli(['run', '--bundle', b.dir, id]);
  assert.equal(r.code, 0, show(r));
  const lines = (r.stdout + r.stderr).split('\n').filter((l) => l.startsWith('Sig'));
  // Their stdout is berth-init's stderr.
  assert.equal(lines.length, 4, show(r));
  for (const l of lines) assert.match(l, /^Sig(Ign|Blk):\s+0+$/, show(r));
});

test('config.md startContainer: "The startContainer hooks\' path MUST resolve in the container namespace" (a path only the container has), args[0] is its argv[0]', (t) => {
  const dir = s.tmpdir(t, 'berth-itest-hooklog-');
  const b = s.bundle(t, {
    copyRootfs: true,
    args: ['cat', '/tmp/out'],
    mutate: (spec) => {
      spec.mounts.push({ destination: '/tmp', type: 'bind', source: dir, options: ['bind', 'rw'] });
      // busybox picks its applet by argv[0]: "sh" runs the shell.
      spec.hooks = { startContainer: [{ path: '/only-in-container/bb', args: ['sh', '-c', 'echo "ran $0 $1" > /tmp/out', 'zero', 'one'] }] };
    },
  });
  require('node:fs').mkdirSync(join(b.dir, 'rootfs/only-in-container'));
  require('node:fs').copyFileSync(join(b.dir, 'rootfs/bin/busybox'), join(b.dir, 'rootfs/only-in-container/bb'));
  require('node:fs').chmodSync(join(b.dir, 'rootfs/only-in-container/bb'), 0o755);
  assert.equal(existsSync('/only-in-container/bb'), false);
  const id = s.newId();
  s.deleteAfter(t, id);
  const r = s.cli(['run', '--bundle', b.dir, id]);
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stdout, 'ran zero one\n');
});

test('runtime.md lifecycle: "If any createRuntime hook fails, the runtime MUST generate an error, stop the container": create fails naming hooks.createRuntime[0] and leaves nothing', (t) => {
  const { b, log } = hookedBundle(t, ['true'], (spec, log) => {
    spec.hooks.createRuntime = [{ path: '/bin/sh', args: ['sh', '-c', `echo failing >> ${log}; echo oops >&2; exit 3`] }];
  });
  const id = s.newId();
  s.deleteAfter(t, id);
  const r = s.create(b.dir, id);
  assert.notEqual(r.code, 0, show(r));
  assert.match(r.stderr, /hooks\.createRuntime\[0\]/);
  assert.match(r.stderr, /exit status 3/);
  const names = readLog(log).map((e) => e.name);
  assert.ok(!names.includes('createContainer'), 'no later hook ran');
  assert.equal(existsSync(join(s.root, id)), false, 'no state dir is left');
  assert.deepEqual(cgroupDirsOf(id), [], 'no cgroup is left');
  assert.deepEqual(leftovers(s, [id], [b.dir]), []);
});

test('runtime.md lifecycle: after a failed createRuntime hook the lifecycle continues "at step 12" and "The poststop hooks MUST be invoked"', (t) => {
  const { b, log } = hookedBundle(t, ['true'], (spec) => {
    spec.hooks.createRuntime = [{ path: '/bin/sh', args: ['sh', '-c', 'exit 3'] }];
  });
  const id = s.newId();
  s.deleteAfter(t, id);
  const r = s.create(b.dir, id);
  assert.notEqual(r.code, 0, show(r));
  assert.ok(readLog(log).some((e) => e.name === 'poststop'), 'poststop ran');
});

test('runtime.md lifecycle: a failing createContainer hook makes create fail naming hooks.createContainer[0], and leaves nothing', (t) => {
  const { b } = hookedBundle(t, ['true'], (spec) => {
    spec.hooks.createContainer = [{ path: '/bin/sh', args: ['sh', '-c', 'exit 4'] }];
  });
  const id = s.newId();
  s.deleteAfter(t, id);
  const r = s.create(b.dir, id);
  assert.notEqual(r.code, 0, show(r));
  assert.match(r.stderr, /hooks\.createContainer\[0\]/);
  assert.match(r.stderr, /exit status 4/);
  assert.equal(existsSync(join(s.root, id)), false, 'no state dir is left');
  assert.deepEqual(leftovers(s, [id], [b.dir]), []);
});

test('runtime.md lifecycle: "If any startContainer hook fails, the runtime MUST generate an error, stop the container"; the program does not run', (t) => {
  const { b, dir } = hookedBundle(t, ['sh', '-c', 'echo ran > /tmp/program-ran'], (spec) => {
    spec.hooks.startContainer = [{ path: '/bin/sh', args: ['sh', '-c', 'exit 5'] }];
  });
  const id = s.newId();
  s.deleteAfter(t, id);
  const r = s.cli(['run', '--bundle', b.dir, id]);
  assert.notEqual(r.code, 0, show(r));
  assert.match(r.stderr, /hooks\.startContainer\[0\]/);
  assert.equal(existsSync(join(dir, 'program-ran')), false, 'the user program did not run');
  assert.deepEqual(leftovers(s, [id], [b.dir]), []);
});

test('runtime.md (1.3) lifecycle: "If any poststart hook fails, the runtime MUST generate an error, stop the container"', (t) => {
  const { b } = hookedBundle(t, ['sleep', '30'], (spec) => {
    spec.hooks.poststart = [{ path: '/bin/sh', args: ['sh', '-c', 'exit 6'] }];
  });
  const id = s.newId();
  s.deleteAfter(t, id);
  let r = s.create(b.dir, id);
  assert.equal(r.code, 0, show(r));
  r = s.cli(['start', id]);
  assert.notEqual(r.code, 0, show(r));
  assert.match(r.stderr, /hooks\.poststart\[0\]/);
  assert.notEqual(s.state(id)?.status, 'running');
});

test('runtime.md lifecycle: "If any poststop hook fails, the runtime MUST log a warning, but the remaining hooks and lifecycle continue"', async (t) => {
  const { b, log } = hookedBundle(t, ['true'], (spec, log) => {
    spec.hooks.poststop = [{ path: '/bin/sh', args: ['sh', '-c', 'exit 7'] }, hook('poststop2', log)];
  });
  const id = s.newId();
  s.deleteAfter(t, id);
  let r = s.create(b.dir, id);
  assert.equal(r.code, 0, show(r));
  r = s.cli(['start', id]);
  assert.equal(r.code, 0, show(r));
  assert.ok(await waitFor(() => s.state(id)?.status === 'stopped'));
  r = s.cli(['delete', id]);
  assert.equal(r.code, 0, show(r));
  assert.match(r.stderr, /warn/i);
  assert.match(r.stderr, /hooks\.poststop\[0\]/);
  assert.ok(readLog(log).some((e) => e.name === 'poststop2'), 'the next poststop hook ran');
  assert.equal(existsSync(join(s.root, id)), false);
});

test('config.md hooks timeout: "the number of seconds before aborting the hook": a sleeping createRuntime hook is killed and create fails', (t) => {
  const dir = s.tmpdir(t, 'berth-itest-hooklog-');
  const b = s.bundle(t, {
    args: ['true'],
    mutate: (spec) => {
      spec.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `echo $$ > ${dir}/pid; exec sleep 30`], timeout: 1 }] };
    },
  });
  const id = s.newId();
  s.deleteAfter(t, id);
  // Had create waited for the sleep, it would have succeeded (or been killed by
  // the test's guard): its error says it gave up at the timeout.
  const r = s.create(b.dir, id);
  assert.notEqual(r.code, 0, show(r));
  assert.match(r.stderr, /hooks\.createRuntime\[0\]/);
  assert.match(r.stderr, /time/i);
  const hookPid = Number(readFileSync(join(dir, 'pid'), 'utf8'));
  assert.equal(existsSync(`/proc/${hookPid}`), false, 'the hook process is gone');
  assert.equal(existsSync(join(s.root, id)), false, 'no state dir is left');
  assert.deepEqual(leftovers(s, [id], [b.dir]), []);
});

test('runtime.md lifecycle: "If any prestart hook fails, the runtime MUST generate an error, stop the container, and continue the lifecycle at step 12": create fails naming hooks.prestart[0], poststop runs, nothing is left', (t) => {
  const { b, log } = hookedBundle(t, ['true'], (spec) => {
    spec.hooks.prestart = [{ path: '/bin/sh', args: ['sh', '-c', 'exit 2'] }];
  });
  const id = s.newId();
  s.deleteAfter(t, id);
  const r = s.create(b.dir, id);
  assert.notEqual(r.code, 0, show(r));
  assert.match(r.stderr, /hooks\.prestart\[0\].*exit status 2/);
  const names = readLog(log).map((e) => e.name);
  assert.deepEqual(names, ['poststop'], 'no later create hook ran; poststop did');
  assert.equal(existsSync(join(s.root, id)), false, 'no state dir is left');
  assert.deepEqual(leftovers(s, [id], [b.dir]), []);
});

test('runtime.md lifecycle: a failing startContainer hook makes `start` itself fail naming it; the program does not run, the container is stopped, delete runs poststop', async (t) => {
  const { b, log, dir } = hookedBundle(t, ['sh', '-c', 'echo ran > /tmp/program-ran'], (spec) => {
    spec.hooks.startContainer = [{ path: '/bin/sh', args: ['sh', '-c', 'exit 5'] }];
  });
  const id = s.newId();
  s.deleteAfter(t, id);
  let r = s.create(b.dir, id);
  assert.equal(r.code, 0, show(r));
  r = s.cli(['start', id]);
  assert.notEqual(r.code, 0, show(r));
  assert.match(r.stderr, /hooks\.startContainer\[0\].*exit status 5/, show(r));
  assert.ok(await waitFor(() => s.state(id)?.status === 'stopped'), 'the container stopped');
  assert.equal(existsSync(join(dir, 'program-ran')), false, 'the user program did not run');
  assert.ok(!readLog(log).some((e) => e.name === 'poststart'), 'no poststart hook ran');
  r = s.cli(['delete', id]);
  assert.equal(r.code, 0, show(r));
  assert.ok(readLog(log).some((e) => e.name === 'poststop'), 'poststop ran');
  assert.deepEqual(leftovers(s, [id], [b.dir]), []);
});

test('runtime.md (before 1.3) lifecycle: for a bundle of ociVersion 1.0.2, "If any poststart hook fails, the runtime MUST log a warning, but the remaining hooks and lifecycle continue": start succeeds, run exits with the process status', async (t) => {
  const failing = (code: number) => ({ path: '/bin/sh', args: ['sh', '-c', `exit ${code}`] });
  const { b, log } = hookedBundle(t, ['sh', '-c', 'exit 3'], (spec, log) => {
    spec.ociVersion = '1.0.2';
    spec.hooks.poststart = [failing(6), hook('poststart2', log)];
    spec.hooks.poststop = [failing(7), hook('poststop2', log)];
  });
  // run: the process's status, not berth's failure.
  let id = s.newId();
  s.deleteAfter(t, id);
  let r = s.cli(['run', '--bundle', b.dir, id]);
  assert.equal(r.code, 3, show(r));
  assert.match(r.stderr, /warn.*hooks\.poststart\[0\].*exit status 6/, show(r));
  assert.match(r.stderr, /warn.*hooks\.poststop\[0\].*exit status 7/, show(r));
  let names = readLog(log).map((e) => e.name);
  assert.ok(names.includes('poststart2') && names.includes('poststop2'), `the next hooks ran: ${names}`);
  assert.equal(existsSync(join(s.root, id)), false);
  // create + start: start succeeds and the container runs on.
  const sleeper = hookedBundle(t, ['sleep', '30'], (spec, log) => {
    spec.ociVersion = '1.0.2';
    spec.hooks.poststart = [failing(6), hook('poststart2', log)];
  });
  id = s.newId();
  s.deleteAfter(t, id);
  r = s.create(sleeper.b.dir, id);
  assert.equal(r.code, 0, show(r));
  r = s.cli(['start', id]);
  assert.equal(r.code, 0, show(r));
  assert.match(r.stderr, /warn.*hooks\.poststart\[0\]/, show(r));
  assert.equal(s.state(id)?.status, 'running');
  assert.ok(readLog(sleeper.log).some((e) => e.name === 'poststart2'), 'the next poststart hook ran');
  r = s.cli(['delete', '--force', id]);
  assert.equal(r.code, 0, show(r));
});

test('hooks of every kind may exit without reading the state, or read part of it (runc ignores EPIPE), and a state of more than 128 KiB reaches each whole', async (t) => {
  const dir = s.tmpdir(t, 'berth-itest-hooklog-');
  const big = 'x'.repeat(200 * 1024);
  const kinds = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'] as const;
  const b = s.bundle(t, {
    args: ['true'],
    mutate: (spec) => {
      spec.annotations = { 'org.example.big': big };
      spec.mounts.push({ destination: '/tmp', type: 'bind', source: dir, options: ['bind', 'rw'] });
      // startContainer's paths are the container's (busybox); /tmp there is dir.
      const out = (kind: string) => (kind === 'startContainer' ? `/tmp/${kind}.json` : join(dir, `${kind}.json`));
      spec.hooks = Object.fromEntries(kinds.map((kind) => [kind, [
        { path: '/bin/true' },
        { path: '/bin/sh', args: ['sh', '-c', 'head -c 1 > /dev/null'] },
        { path: '/bin/sh', args: ['sh', '-c', `cat > ${out(kind)}`] },
      ]]));
    },
  });
  const id = s.newId();
  s.deleteAfter(t, id);
  let r = s.create(b.dir, id);
  assert.equal(r.code, 0, show(r));
  r = s.cli(['start', id]);
  assert.equal(r.code, 0, show(r));
  assert.ok(await waitFor(() => s.state(id)?.status === 'stopped'));
  r = s.cli(['delete', id]);
  assert.equal(r.code, 0, show(r));
  assert.doesNotMatch(r.stderr, /EPIPE|warn/, show(r));
  for (const kind of kinds) {
    const text = readFileSync(join(dir, `${kind}.json`), 'utf8');
    let state;
    assert.doesNotThrow(() => (state = JSON.parse(text)), `${kind} read ${text.length} bytes of state, not valid JSON`);
    assert.equal(state!.annotations['org.example.big'].length, big.length, `${kind} got the annotation whole`);
    assert.equal(state!.id, id);
  }
  assert.deepEqual(leftovers(s, [id], [b.dir]), []);
});

test('hooks run where runc runs them: createContainer in the rootfs (hooks touch ./lib/...), startContainer in process.cwd, the runtime-namespace ones in the bundle', (t) => {
  const dir = s.tmpdir(t, 'berth-itest-hooklog-');
  const log = join(dir, 'log');
  const kinds = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'];
  const b = s.bundle(t, {
    args: ['true'],
    mutate: (spec) => {
      spec.process.cwd = '/etc';
      spec.mounts.push({ destination: '/tmp', type: 'bind', source: dir, options: ['bind', 'rw'] });
      const where = (kind: string) => ({
        path: '/bin/sh',
        args: ['sh', '-c', `echo "${kind} $(pwd -P) $(test -x ./bin/busybox && echo has-bin-busybox)" >> ${kind === 'startContainer' ? '/tmp/log' : log}`],
      });
      spec.hooks = Object.fromEntries(kinds.map((k) => [k, [where(k)]]));
    },
  });
  const rootfs = JSON.parse(readFileSync(b.config, 'utf8')).root.path;
  const id = s.newId();
  s.deleteAfter(t, id);
  // berth itself runs elsewhere: the hooks' places are not its own.
  const r = s.cli(['run', '--bundle', b.dir, id], { cwd: '/' });
  assert.equal(r.code, 0, show(r));
  const seen = Object.fromEntries(readFileSync(log, 'utf8').trim().split('\n').map((l) => [l.split(' ')[0], l.split(' ').slice(1).join(' ').trim()]));
  assert.equal(seen.createContainer, `${rootfs} has-bin-busybox`);
  assert.equal(seen.startContainer, '/etc');
  for (const kind of ['prestart', 'createRuntime', 'poststart', 'poststop']) assert.equal(seen[kind], b.dir, kind);
});

const MARK = `30.${process.pid}`;

test('config.md hooks timeout: a sleeping createContainer hook (run in the container\'s namespaces) is killed and create fails', (t) => {
  const dir = s.tmpdir(t, 'berth-itest-hooklog-');
  const b = s.bundle(t, {
    args: ['true'],
    mutate: (spec) => {
      // An odd duration, so this hook's sleep is told apart from any other on the host.
      spec.hooks = { createContainer: [{ path: '/bin/sh', args: ['sh', '-c', `exec sleep ${MARK}`], timeout: 1 }] };
    },
  });
  const id = s.newId();
  s.deleteAfter(t, id);
  // Had create waited for the sleep, it would have succeeded (or been killed by
  // the test's guard): its error says it gave up at the timeout.
  const r = s.create(b.dir, id);
  assert.notEqual(r.code, 0, show(r));
  assert.match(r.stderr, /hooks\.createContainer\[0\]/);
  assert.match(r.stderr, /time/i);
  assert.equal(existsSync(join(s.root, id)), false, 'no state dir is left');
  assert.deepEqual(leftovers(s, [id], [b.dir]), []);
  // The hook ran in the container's pid namespace, where its pid means nothing
  // here: look for its sleep by its command line.
  const sleepers = require('node:fs').readdirSync('/proc').filter((p: string) => {
    try {
      return /^\d+$/.test(p) && readFileSync(`/proc/${p}/cmdline`, 'utf8') === `sleep\0${MARK}\0`;
    } catch {
      return false;
    }
  });
  assert.deepEqual(sleepers, [], 'no hook process is left');
});

test('the hooks berth runs itself load none of Node\'s child_process, net or os (milliseconds of every create with a hook: Docker always passes one)', (t) => {
  const dir = s.tmpdir(t, 'berth-itest-hookmods-');
  const log = join(dir, 'log');
  const modules = join(dir, 'modules');
  // Preloaded into berth's Node: at exit, the built-in modules it loaded.
  const preload = join(dir, 'preload.js');
  writeFileSync(preload, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(modules)}, process.moduleLoadList.join('\\n')));\n`);
  const b = s.bundle(t, {
    args: ['true'],
    mutate: (spec) => {
      spec.hooks = { prestart: [hook('prestart', log)], createRuntime: [hook('createRuntime', log)] };
    },
  });
  const id = s.newId();
  s.deleteAfter(t, id);
  const r = s.cli(['create', '--bundle', b.dir, id], { env: { ...process.env, NODE_OPTIONS: `--require ${preload}` } });
  assert.equal(r.code, 0, show(r));
  assert.deepEqual(readLog(log).map((e) => e.name), ['prestart', 'createRuntime']);
  const loaded = readFileSync(modules, 'utf8').split('\n');
  assert.ok(loaded.includes('NativeModule fs'), `the preload did not see berth's modules: ${loaded.length} lines`);
  assert.deepEqual(loaded.filter((m) => /^NativeModule (child_process|net|os)$/.test(m)), []);
});

test('hooks: nothing is left behind', () => {
  assert.deepEqual(leftovers(s), []);
});
