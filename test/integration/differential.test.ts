// berth against runc: the same bundle is run by both (each with its own --root)
// and what the container sees is compared, section by section. berth is meant as
// a drop-in for runc, so every difference is either a berth bug or listed in
// KNOWN_DIFFERENCES below with the reason.
import assert from 'node:assert/strict';
import { after, describe, test, type TestContext } from 'node:test';
import { RUNC, requireTool } from '../fixtures/runtime';
import type { SpecObject } from '../../src/spec/defaults';
import { cgroupMountpoints, leftovers, Session, show } from './helpers';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const berth = new Session('diff');
const runc = new Session('diff-runc', RUNC);
after(() => {
  berth.close();
  runc.close();
});

// Each section prints one aspect of what the container sees.
const SECTIONS: Record<string, string> = {
  id: 'id',
  hostname: 'hostname; cat /proc/sys/kernel/domainname',
  caps: "cat /proc/self/status | grep -E '^Cap|NoNewPrivs'",
  ids: "grep -E '^(Uid|Gid|Groups):' /proc/self/status",
  ulimit: 'ulimit -a',
  dev: 'ls /dev',
  devmodes: "stat -c '%n %a %F %u:%g %t:%T' /dev/*",
  mounts: "cat /proc/self/mountinfo | awk '{print $5, $6}'",
  fstypes: "grep -v ' /sys/fs/cgroup/unified ' /proc/self/mountinfo | sed 's/.* - //' | awk '{print $1}' | sort | uniq -c",
  // What the container sees of its cgroups: the entries of each hierarchy's mount.
  cgroupview: "for d in /sys/fs/cgroup/*/; do [ $d = /sys/fs/cgroup/unified/ ] || echo $d $(ls $d); done",
  umask: 'umask',
  env: 'tr "\\0" "\\n" < /proc/1/environ | sort',
  cwd: 'pwd',
  oom: 'cat /proc/self/oom_score_adj',
  ns: 'for n in ipc mnt net pid uts cgroup user; do readlink /proc/self/ns/$n | cut -d: -f1; done',
  pid: 'echo $$',
};
const SCRIPT = Object.entries(SECTIONS).map(([name, cmd]) => `echo "=== ${name}"; ${cmd}`).join('; ');

function sections(out: string): Record<string, string[]> {
  const res: Record<string, string[]> = {};
  let cur = '';
  for (const line of out.split('\n')) {
    const m = /^=== (\w+)$/.exec(line);
    if (m) res[(cur = m[1])] = [];
    else if (cur && line !== '') res[cur].push(line);
  }
  return res;
}

/** mount point -> per-mount options, from the "mounts" section. */
function mountMap(lines: string[]): Map<string, string> {
  return new Map(lines.map((l) => l.split(' ') as [string, string]));
}

/**
 * Where berth and runc (1.1, as on Debian 12) legitimately differ on this kind of
 * host (cgroup v1 + an empty unified hierarchy): what the container sees of it.
 */
const KNOWN_DIFFERENCES = {
  // berth also mounts the unified (cgroup2) hierarchy of a hybrid host at
  // /sys/fs/cgroup/unified, as the host has it; runc 1.1 mounts only the v1
  // hierarchies there.
  extraBerthMounts: new Set(['/sys/fs/cgroup/unified']),
  options: new Map<string, string>([
    // runc 1.1 leaves the tmpfs holding the v1 hierarchies read-write although the
    // config asks for "ro"; berth makes it read-only, as asked.
    ['/sys/fs/cgroup', 'berth mounts the /sys/fs/cgroup tmpfs ro as configured; runc 1.1 leaves it rw'],
    // Masked directories: runc mounts a read-only tmpfs; berth's also has
    // nosuid,nodev,noexec (nothing in an empty read-only tmpfs can use them).
    ['/proc/acpi', 'masked directory: berth adds nosuid,nodev,noexec to the read-only tmpfs'],
    ['/sys/firmware', 'masked directory: berth adds nosuid,nodev,noexec to the read-only tmpfs'],
    ['/proc/scsi', 'masked directory: berth adds nosuid,nodev,noexec to the read-only tmpfs'],
    ['/proc/asound', 'masked directory: berth adds nosuid,nodev,noexec to the read-only tmpfs'],
  ]),
  // runc (libcontainer) adds HOME, from /etc/passwd, when the config has none;
  // berth passes process.env exactly as configured.
  envOnlyInRunc: /^HOME=/,
  // In a user namespace, runc binds the host's device nodes in its own order
  // (null, random, full, tty, zero, urandom); berth in the order of the spec's list.
  // Only the order of those mounts differs.
  deviceBindOrder: /^\/dev\/(null|zero|full|random|urandom|tty)$/,
  // In a user namespace, both make the ipc namespace (and with it the mqueue
  // filesystem) as the namespace's root, so /dev/mqueue belongs to uid 0; runc
  // does so before its gid is 0, berth after: the group is 0 too, not unmapped.
  mqueueOwnerInUserns: { berth: '/dev/mqueue 1777 directory 0:0 0:0', runc: '/dev/mqueue 1777 directory 0:65534 0:0' },
  // runc 1.1 ignores the domainname field (support came with runc 1.2); berth
  // sets it (config.md "domainname ... as seen by processes running inside the container").
  runcIgnoresDomainname: true,
};

interface Variant {
  name: string;
  mutate: (spec: SpecObject) => void;
}

const VARIANTS: Variant[] = [
  { name: 'the default config (as `berth spec` writes it)', mutate: () => {} },
  {
    name: 'a non-root user with its own capabilities, rlimits, umask, env and cwd',
    mutate: (spec) => {
      spec.hostname = 'differential';
      spec.domainname = 'example.test';
      spec.process.user = { uid: 1000, gid: 1000, additionalGids: [5, 65534], umask: 0o027 };
      spec.process.cwd = '/home/user';
      spec.process.env = ['PATH=/bin:/usr/bin', 'HOME=/home/user', 'LANG=C.UTF-8', 'SPACED=a b  c'];
      spec.process.noNewPrivileges = false;
      spec.process.oomScoreAdj = 300;
      spec.process.capabilities = {
        bounding: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW', 'CAP_SETUID'],
        effective: ['CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        permitted: ['CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW'],
        inheritable: ['CAP_NET_BIND_SERVICE', 'CAP_NET_RAW'],
        ambient: ['CAP_NET_BIND_SERVICE'],
      };
      spec.process.rlimits = [
        { type: 'RLIMIT_NOFILE', soft: 256, hard: 512 },
        { type: 'RLIMIT_CORE', soft: 1024, hard: 2048 },
        { type: 'RLIMIT_NPROC', soft: 100, hard: 200 },
        { type: 'RLIMIT_STACK', soft: 4194304, hard: 8388608 },
      ];
      spec.linux.maskedPaths.push('/etc/shadow-not-here');
      spec.linux.devices = [{ path: '/dev/extra', type: 'c', major: 1, minor: 7, fileMode: 0o640, uid: 1000, gid: 5 }];
    },
  },
  {
    name: 'root with all of the runtime\'s capabilities, no new privileges, no network or ipc namespace',
    mutate: (spec) => {
      const caps = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SYS_ADMIN', 'CAP_MKNOD'];
      spec.process.capabilities = { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] };
      spec.process.noNewPrivileges = true;
      spec.linux.namespaces = spec.linux.namespaces.filter((n: { type: string }) => n.type !== 'network' && n.type !== 'ipc');
    },
  },
  {
    name: 'a user namespace with uid and gid mappings',
    mutate: (spec) => {
      spec.linux.namespaces.push({ type: 'user' });
      spec.linux.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
      spec.linux.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    },
  },
];

for (const v of VARIANTS) {
  describe(`berth and runc see the same container: ${v.name}`, () => {
    let seen: { berth: Record<string, string[]>; runc: Record<string, string[]> } | undefined;
    /** What both runtimes printed; a test with nothing to compare fails (runc missing: skipped). */
    const both = (t: TestContext) => {
      if (!requireRunc(t)) return undefined;
      if (!seen) throw new Error(`nothing to compare: "run the same bundle under both runtimes" failed for ${v.name}`);
      return seen;
    };

    test('run the same bundle under both runtimes', (t) => {
      if (!requireRunc(t)) return;
      const out: Record<string, Record<string, string[]>> = {};
      for (const [name, s] of [['berth', berth], ['runc', runc]] as const) {
        const r = s.run(t, { args: ['sh', '-c', SCRIPT], mutate: v.mutate });
        assert.equal(r.code, 0, `${name}: ${show(r)}`);
        out[name] = sections(r.stdout);
      }
      seen = { berth: out.berth, runc: out.runc };
    });

    test('devmodes: the same nodes, modes and owners in /dev (in a user namespace /dev/mqueue belongs to its root user, and berth gives it the root group)', (t) => {
      const got = both(t);
      if (!got) return;
      const k = KNOWN_DIFFERENCES.mqueueOwnerInUserns;
      const inUserns = got.runc.devmodes.includes(k.runc);
      const b = got.berth.devmodes.map((l) => (inUserns && l === k.berth ? k.runc : l));
      assert.deepEqual(b, got.runc.devmodes);
    });

    for (const name of Object.keys(SECTIONS)) {
      if (name === 'mounts' || name === 'env' || name === 'hostname' || name === 'devmodes') continue;
      test(`${name}: ${SECTIONS[name]}`, (t) => {
        const got = both(t);
        if (!got) return;
        assert.deepEqual(got.berth[name], got.runc[name]);
      });
    }

    test('hostname: the same hostname; the domainname as configured (runc 1.1 ignores domainname)', (t) => {
      const got = both(t);
      if (!got) return;
      const spec: SpecObject = { hostname: 'berth' };
      v.mutate(Object.assign(spec, { process: {}, linux: { namespaces: [], maskedPaths: [] } }));
      assert.equal(got.berth.hostname[0], got.runc.hostname[0]);
      assert.equal(got.berth.hostname[1], spec.domainname ?? '(none)');
      if (!KNOWN_DIFFERENCES.runcIgnoresDomainname) assert.equal(got.berth.hostname[1], got.runc.hostname[1]);
    });

    test('env: process.env exactly (runc adds HOME when the config has none)', (t) => {
      const got = both(t);
      if (!got) return;
      const runcEnv = got.runc.env;
      const berthEnv = got.berth.env;
      const berthHasHome = berthEnv.some((l) => KNOWN_DIFFERENCES.envOnlyInRunc.test(l));
      assert.deepEqual(berthEnv, berthHasHome ? runcEnv : runcEnv.filter((l) => !KNOWN_DIFFERENCES.envOnlyInRunc.test(l)));
    });

    test('mounts: the same mount points in the same order (berth adds the unified hierarchy of a hybrid host; device binds in another order)', (t) => {
      const got = both(t);
      if (!got) return;
      const dev = KNOWN_DIFFERENCES.deviceBindOrder;
      const b = [...mountMap(got.berth.mounts).keys()].filter((p) => !KNOWN_DIFFERENCES.extraBerthMounts.has(p));
      const r = [...mountMap(got.runc.mounts).keys()];
      assert.deepEqual(b.filter((p) => !dev.test(p)), r.filter((p) => !dev.test(p)));
      assert.deepEqual(b.filter((p) => dev.test(p)).sort(), r.filter((p) => dev.test(p)).sort(), 'the same device binds');
    });

    test('mounts: the same per-mount options, except the documented differences', (t) => {
      const got = both(t);
      if (!got) return;
      const b = mountMap(got.berth.mounts);
      const r = mountMap(got.runc.mounts);
      const diffs: string[] = [];
      for (const [point, opts] of r) {
        if (!b.has(point) || KNOWN_DIFFERENCES.options.has(point)) continue;
        if (b.get(point) !== opts) diffs.push(`${point}: berth ${b.get(point)}, runc ${opts}`);
      }
      assert.deepEqual(diffs, []);
    });
  });
}

test('"rbind" with "ro" makes only the top mount read-only (mount(8) ro), as runc; "rro" the whole tree', (t) => {
  if (!requireRunc(t)) return;
  // config.md: ro follows mount(8); rro is "Recursive ro".
  const host = mkdtempSync('/tmp/berth-itest-rbind-');
  berth.paths.push(host);
  mkdirSync(join(host, 'sub'));
  berth.defer(t, () => rmSync(host, { recursive: true, force: true }));
  berth.defer(t, () => spawnSync('umount', [join(host, 'sub')]));
  execFileSync('mount', ['-t', 'tmpfs', 'berth-itest', join(host, 'sub')]);
  const seen: Record<string, string> = {};
  for (const [name, s] of [['berth', berth], ['runc', runc]] as const) {
    const r = s.run(t, {
      args: ['sh', '-c', 'touch /tmp/sub/f 2>/dev/null && echo sub-writable || echo sub-read-only'],
      mutate: (spec) => spec.mounts.push({ destination: '/tmp', type: 'bind', source: host, options: ['rbind', 'ro'] }),
    });
    assert.equal(r.code, 0, `${name}: ${show(r)}`);
    seen[name] = r.stdout.trim();
  }
  assert.deepEqual(seen, { berth: 'sub-writable', runc: 'sub-writable' });
  const r = berth.run(t, {
    args: ['sh', '-c', 'touch /tmp/sub/f 2>/dev/null && echo sub-writable || echo sub-read-only'],
    mutate: (spec) => spec.mounts.push({ destination: '/tmp', type: 'bind', source: host, options: ['rbind', 'rro'] }),
  });
  assert.equal(r.stdout.trim(), 'sub-read-only', show(r));
});

/** Skips the test when runc is missing (a failure on CI, as requireTool has it). */
function requireRunc(t: TestContext): boolean {
  return requireTool('runc', t);
}

test('differential: nothing is left behind by either runtime', () => {
  assert.deepEqual(leftovers(berth), []);
  assert.deepEqual(leftovers(runc), []);
  // runc places containers in cgroups named after their id below its own cgroup.
  for (const h of cgroupMountpoints()) {
    for (const id of runc.ids) {
      const hits = findDir(h, id, 3);
      assert.deepEqual(hits, [], `runc cgroup for ${id}`);
    }
  }
});

function findDir(root: string, name: string, depth: number): string[] {
  if (depth < 0) return [];
  const out: string[] = [];
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(root, { withFileTypes: true });
  } catch {
    return [];
  }
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    if (e.name === name) out.push(join(root, e.name));
    out.push(...findDir(join(root, e.name), name, depth - 1));
  }
  return out;
}
