// Namespaces as the container sees them (config.md "Hostname"/"Domainname",
// config-linux.md "Namespaces" and "User namespace mappings"), through real
// containers run by the berth CLI.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import type { SpecObject } from '../../src/spec/defaults';
import { cgroupDirsOf, leftovers, nsOf, Session, show } from './helpers';

const s = new Session('ns');
after(() => s.close());

const withoutNs = (spec: SpecObject, ...types: string[]) => {
  spec.linux.namespaces = spec.linux.namespaces.filter((n: { type: string }) => !types.includes(n.type));
};

test('config.md hostname: "specifies the container\'s hostname as seen by processes running inside the container"; domainname likewise', (t) => {
  const r = s.sh(t, 'cat /proc/sys/kernel/hostname /proc/sys/kernel/domainname; hostname', (spec) => {
    spec.hostname = 'berth-uts-test';
    spec.domainname = 'example.test';
  });
  assert.equal(r.code, 0, show(r));
  assert.deepEqual(r.stdout.trim().split('\n'), ['berth-uts-test', 'example.test', 'berth-uts-test']);
  // "this will change the hostname in the container UTS namespace": not the host's.
  assert.notEqual(hostname(), 'berth-uts-test');
});

test('config-linux.md namespaces: pid: "processes inside the container will only be able to see other processes inside the same container"', (t) => {
  const r = s.sh(t, 'echo $$; tr "\\0" " " < /proc/1/cmdline; echo; ls /proc | grep -c "^[0-9]"');
  assert.equal(r.code, 0, show(r));
  const [pid, cmdline, count] = r.stdout.trim().split('\n');
  assert.equal(pid, '1', 'the process is pid 1 of its own namespace');
  assert.equal(cmdline.trim(), `sh -c ${'echo $$; tr "\\0" " " < /proc/1/cmdline; echo; ls /proc | grep -c "^[0-9]"'}`);
  // sh, ls and grep: no host process is visible.
  assert.ok(Number(count) <= 3, `the container sees only its own processes, saw ${count}`);
});

test('config-linux.md namespaces: "If path is not specified, the runtime MUST create a new container namespace of type type"', (t) => {
  const types = ['pid', 'net', 'ipc', 'uts', 'mnt'];
  const r = s.sh(t, types.map((ty) => `readlink /proc/self/ns/${ty}`).join('; '));
  assert.equal(r.code, 0, show(r));
  const inside = r.stdout.trim().split('\n');
  types.forEach((ty, i) => assert.notEqual(inside[i], nsOf('self', ty), `${ty} namespace is new`));
});

test('config-linux.md namespaces: "If a namespace type is not specified in the namespaces array, the container MUST inherit the runtime namespace of that type"', (t) => {
  const r = s.sh(t, 'for n in net ipc uts; do readlink /proc/self/ns/$n; done', (spec) => {
    withoutNs(spec, 'network', 'ipc', 'uts');
    delete spec.hostname;
  });
  assert.equal(r.code, 0, show(r));
  assert.deepEqual(r.stdout.trim().split('\n'), [nsOf('self', 'net'), nsOf('self', 'ipc'), nsOf('self', 'uts')]);
});

test('config-linux.md namespaces path: "The runtime MUST place the container process in the namespace associated with that path"', async (t) => {
  const name = `berth-holder-${process.pid}`;
  const h = await s.holder(t, ['unshare', '--uts', '--net', '--ipc', 'sh', '-c', `hostname ${name}; echo ready; exec sleep infinity`]);
  const r = s.sh(t, 'hostname; readlink /proc/self/ns/net; readlink /proc/self/ns/ipc', (spec) => {
    delete spec.hostname;
    for (const ns of spec.linux.namespaces) {
      if (ns.type === 'uts') ns.path = `/proc/${h.pid}/ns/uts`;
      if (ns.type === 'network') ns.path = `/proc/${h.pid}/ns/net`;
      if (ns.type === 'ipc') ns.path = `/proc/${h.pid}/ns/ipc`;
    }
  });
  assert.equal(r.code, 0, show(r));
  assert.deepEqual(r.stdout.trim().split('\n'), [name, nsOf(h.pid!, 'net'), nsOf(h.pid!, 'ipc')]);
  // The holder's namespaces are not the runtime's own.
  assert.notEqual(nsOf(h.pid!, 'net'), nsOf('self', 'net'));
});

test('config-linux.md namespaces path: joining keeps the namespace (the container does not own it)', async (t) => {
  const h = await s.holder(t, ['unshare', '--net', 'sh', '-c', 'echo ready; exec sleep infinity']);
  const before = nsOf(h.pid!, 'net');
  const r = s.sh(t, 'true', (spec) => {
    for (const ns of spec.linux.namespaces) if (ns.type === 'network') ns.path = `/proc/${h.pid}/ns/net`;
  });
  assert.equal(r.code, 0, show(r));
  // "resources associated with the container, but not created by this container, MUST NOT be deleted"
  assert.equal(nsOf(h.pid!, 'net'), before);
  assert.equal(h.exitCode, null, 'the holder still runs');
});

/** create must fail with a message naming the field; nothing of the container remains. */
function assertCreateFails(t: TestContext, mutate: (spec: SpecObject) => void, ...needles: (string | RegExp)[]) {
  const b = s.bundle(t, { args: ['true'], mutate });
  const id = s.newId();
  s.deleteAfter(t, id);
  const r = s.create(b.dir, id);
  assert.notEqual(r.code, 0, show(r));
  for (const n of needles) {
    if (typeof n === 'string') assert.ok(r.stderr.includes(n), `stderr names ${n}: ${show(r)}`);
    else assert.match(r.stderr, n);
  }
  assert.equal(existsSync(join(s.root, id)), false, 'no state dir is left');
  assert.deepEqual(cgroupDirsOf(id), [], 'no cgroup is left');
  assert.deepEqual(leftovers(s, [id], [b.dir]), []);
  assert.notEqual(s.cli(['state', id]).code, 0, 'the container does not exist');
}

test('config-linux.md namespaces path: a path that does not exist is an error naming linux.namespaces[i].path, and nothing is left behind', (t) => {
  const missing = `/proc/999999999/ns/net`;
  assertCreateFails(
    t,
    (spec) => {
      spec.linux.namespaces = [{ type: 'pid' }, { type: 'network', path: missing }, { type: 'mount' }, { type: 'uts' }];
    },
    'linux.namespaces[1].path',
    missing,
  );
});

test('config-linux.md namespaces path: "The runtime MUST generate an error if path is not associated with a namespace of type type"', async (t) => {
  const h = await s.holder(t, ['unshare', '--uts', 'sh', '-c', 'echo ready; exec sleep infinity']);
  const uts = `/proc/${h.pid}/ns/uts`;
  assertCreateFails(
    t,
    (spec) => {
      for (const ns of spec.linux.namespaces) if (ns.type === 'network') ns.path = uts;
    },
    /linux\.namespaces\[\d\]\.path/,
    `${uts} is a uts namespace, not network`,
  );
  // A regular file is not a namespace either.
  const file = join(s.tmpdir(t), 'not-a-namespace');
  require('node:fs').writeFileSync(file, '');
  assertCreateFails(
    t,
    (spec) => {
      for (const ns of spec.linux.namespaces) if (ns.type === 'ipc') ns.path = file;
    },
    /linux\.namespaces\[\d\]\.path/,
    `${file} is not a namespace`,
  );
});

test('config-linux.md namespaces: "If a namespaces field contains duplicated namespaces with same type, the runtime MUST generate an error"', (t) => {
  assertCreateFails(
    t,
    (spec) => {
      spec.linux.namespaces.push({ type: 'pid' });
    },
    'linux.namespaces',
    'pid',
  );
});

test('config-linux.md user namespace mappings: uid/gid mappings are the container\'s view (id is 0 inside, /proc/self/uid_map matches)', (t) => {
  const r = s.sh(t, 'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; readlink /proc/self/ns/user', (spec) => {
    spec.linux.namespaces.push({ type: 'user' });
    spec.linux.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    spec.linux.gidMappings = [{ containerID: 0, hostID: 300000, size: 1000 }];
  });
  assert.equal(r.code, 0, show(r));
  const lines = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '));
  assert.deepEqual(lines.slice(0, 4), ['0', '0', '0 200000 65536', '0 300000 1000']);
  assert.notEqual(lines[4], nsOf('self', 'user'), 'a new user namespace');
});

test('config-linux.md user namespace mappings: a non-root user in the container is the mapped host id', (t) => {
  const b = s.bundle(t, {
    args: ['sleep', '30'],
    mutate: (spec) => {
      spec.linux.namespaces.push({ type: 'user' });
      spec.linux.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
      spec.linux.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
      spec.process.user = { uid: 1000, gid: 1000 };
    },
  });
  const id = s.newId();
  s.deleteAfter(t, id);
  let r = s.create(b.dir, id);
  assert.equal(r.code, 0, show(r));
  r = s.cli(['start', id]);
  assert.equal(r.code, 0, show(r));
  const pid = JSON.parse(s.cli(['state', id]).stdout).pid as number;
  const st = readFileSync(`/proc/${pid}/status`, 'utf8');
  assert.match(st, /^Uid:\s+201000\s+201000\s+201000\s+201000$/m, 'host view of uid 1000');
  assert.match(st, /^Gid:\s+201000\s+201000\s+201000\s+201000$/m, 'host view of gid 1000');
  r = s.cli(['delete', '--force', id]);
  assert.equal(r.code, 0, show(r));
});

test('namespaces: nothing is left behind', () => {
  assert.deepEqual(leftovers(s), []);
});
