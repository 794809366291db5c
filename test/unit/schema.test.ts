// berth's schemas (spec-schemas/, compiled into dist/validators.js) against the official
// runtime-spec schemas (draft-04, in shared/oracle/runtime-spec/schema/), used here as an
// oracle only: every official test vector, every captured engine document and thousands
// of mutations of the valid ones must get the same verdict from both, except where the
// official schema departs from the spec text; each such place is listed in EXCEPTIONS
// below with the sentence of the spec that berth follows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import Ajv04 from 'ajv-draft-04';
import { BerthError } from '../../src/errors';
import {
  formatSchemaErrors,
  loadConfig,
  loadProcess,
  loadResources,
  locateJsonError,
  parseJson,
  useValidators,
  validate,
  type DocumentKind,
  type ValidateFunction,
  type Validators,
} from '../../src/spec/validate';

// ---- setup ------------------------------------------------------------------------------

function findRepoRoot(): string {
  for (let d = __dirname; d !== dirname(d); d = dirname(d)) {
    const pkg = join(d, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'berth') return d;
  }
  return process.cwd();
}
const repoRoot = findRepoRoot();
const sharedDir = resolve(repoRoot, '../shared');
const oracleDir = join(sharedDir, 'oracle');
const haveOracle = existsSync(join(oracleDir, 'runtime-spec/schema/config-schema.json'));

const validatorsFile = join(repoRoot, 'dist/validators.js');
if (!existsSync(validatorsFile)) throw new Error(`${validatorsFile} is missing: run node scripts/build.mjs first`);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ours = require(validatorsFile) as Validators;
useValidators(ours);
// What validators.js asks for a document it refuses: the same schemas with every error.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const withErrors = require(join(repoRoot, 'dist/validators-errors.js')) as Validators;

/** Skip (or, in CI, fail) when shared/oracle is not there. */
function needOracle(t: { skip: (msg: string) => void }): boolean {
  if (haveOracle) return true;
  const msg = `${oracleDir} not found: the official schemas and vectors are needed for this test`;
  if (process.env.CI === 'true') assert.fail(msg);
  t.skip(msg);
  return false;
}

let oracleCache: Validators | undefined;
/** The official schemas, compiled at test time with draft-04 support. */
function oracle(): Validators {
  if (oracleCache) return oracleCache;
  const dir = join(oracleDir, 'runtime-spec/schema');
  const ajv = new Ajv04({ allErrors: true, strict: false });
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
    ajv.addSchema(JSON.parse(readFileSync(join(dir, f), 'utf8')), f);
  }
  const get = (ref: string): ValidateFunction => {
    const fn = ajv.getSchema(ref) ?? ajv.compile({ $ref: ref });
    return fn as unknown as ValidateFunction;
  };
  oracleCache = {
    config: get('config-schema.json'),
    state: get('state-schema.json'),
    features: get('features-schema.json'),
    // The official schemas have no documents of their own for these two: use the
    // definitions inside config.json that they are.
    process: get('config-schema.json#/properties/process'),
    resources: get('config-linux.json#/linux/properties/resources'),
  };
  return oracleCache;
}

interface Vector {
  name: string;
  kind: DocumentKind;
  text: string;
  /** Verdict the vector's place demands (runtime-spec test/…/good|bad); undefined for engine files. */
  expect?: boolean;
}

function vectors(): Vector[] {
  const out: Vector[] = [];
  const specTests = join(oracleDir, 'runtime-spec/test');
  for (const kind of ['config', 'state', 'features'] as const) {
    for (const verdict of ['good', 'bad'] as const) {
      const dir = join(specTests, kind, verdict);
      if (!existsSync(dir)) continue;
      for (const f of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
        out.push({ name: `runtime-spec/test/${kind}/${verdict}/${f}`, kind, text: readFileSync(join(dir, f), 'utf8'), expect: verdict === 'good' });
      }
    }
  }
  const engines = join(oracleDir, 'engine-configs');
  if (existsSync(engines)) {
    for (const f of readdirSync(engines).filter((n) => n.endsWith('.json')).sort()) {
      const kind: DocumentKind = f.endsWith('.process.json') ? 'process' : f.endsWith('.resources.json') ? 'resources' : 'config';
      out.push({ name: `engine-configs/${f}`, kind, text: readFileSync(join(engines, f), 'utf8') });
    }
  }
  return out;
}

function tryParse(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

// ---- seeds ------------------------------------------------------------------------------

/**
 * Documents that use every property of the spec at least once (valid for both schemas),
 * so that the mutations reach the parts of the schemas the official vectors and the
 * engine captures leave out. Values follow the examples of config.md / config-linux.md.
 */
const SEEDS: Vector[] = [
  {
    name: 'seed: config using every Linux property',
    kind: 'config',
    text: JSON.stringify({
      ociVersion: '1.3.0',
      root: { path: 'rootfs', readonly: true },
      hostname: 'h',
      domainname: 'example.test',
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc' },
        {
          destination: '/data',
          type: 'none',
          source: '/volumes/testing',
          options: ['rbind', 'rw', 'idmap'],
          uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
          gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
        },
      ],
      process: {
        terminal: true,
        consoleSize: { height: 25, width: 80 },
        user: { uid: 1, gid: 1, umask: 63, additionalGids: [5, 6] },
        env: ['PATH=/usr/bin:/bin', 'TERM=xterm'],
        cwd: '/root',
        args: ['sh'],
        commandLine: 'sh',
        apparmorProfile: 'acme_secure_profile',
        selinuxLabel: 'system_u:system_r:svirt_lxc_net_t:s0:c124,c675',
        ioPriority: { class: 'IOPRIO_CLASS_IDLE', priority: 4 },
        noNewPrivileges: true,
        oomScoreAdj: 100,
        scheduler: { policy: 'SCHED_DEADLINE', nice: 0, priority: 0, flags: ['SCHED_FLAG_RESET_ON_FORK'], runtime: 1000, deadline: 2000, period: 3000 },
        capabilities: { bounding: ['CAP_KILL'], permitted: ['CAP_KILL'], inheritable: ['CAP_KILL'], effective: ['CAP_KILL'], ambient: ['CAP_KILL'] },
        rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
        execCPUAffinity: { initial: '7', final: '0-3,7' },
      },
      hooks: {
        prestart: [{ path: '/usr/bin/fix-mounts', args: ['fix-mounts', 'arg1'], env: ['key1=value1'] }],
        createRuntime: [{ path: '/usr/bin/setup-network' }],
        createContainer: [{ path: '/usr/bin/mount-hook' }],
        startContainer: [{ path: '/usr/bin/refresh-ldcache' }],
        poststart: [{ path: '/usr/bin/notify-start', timeout: 5 }],
        poststop: [{ path: '/usr/sbin/cleanup.sh', args: ['cleanup.sh', '-f'] }],
      },
      annotations: { 'com.example.key1': 'value1' },
      linux: {
        namespaces: [{ type: 'pid', path: '/proc/1234/ns/pid' }, { type: 'network' }, { type: 'mount' }, { type: 'time' }],
        uidMappings: [{ containerID: 0, hostID: 1000, size: 32000 }],
        gidMappings: [{ containerID: 0, hostID: 1000, size: 32000 }],
        timeOffsets: { monotonic: { secs: 172800, nanosecs: 0 }, boottime: { secs: 604800, nanosecs: 0 } },
        devices: [
          { path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 438, uid: 0, gid: 0 },
          { path: '/dev/fifo', type: 'p' },
        ],
        netDevices: { eth0: { name: 'container_eth0' } },
        cgroupsPath: '/myRuntime/myContainer',
        resources: {
          devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' }],
          memory: { limit: 536870912, reservation: 536870912, swap: 536870912, kernel: -1, kernelTCP: -1, swappiness: 0, disableOOMKiller: false, useHierarchy: true, checkBeforeUpdate: true },
          cpu: { shares: 1024, quota: 1000000, burst: 1000000, period: 500000, realtimeRuntime: 950000, realtimePeriod: 1000000, cpus: '2-3', mems: '0-7', idle: 0 },
          blockIO: {
            weight: 10,
            leafWeight: 10,
            // single-property entries first: mutations are made at the first element of a kind
            weightDevice: [{ major: 8, minor: 16, weight: 500 }, { major: 8, minor: 32, leafWeight: 300 }, { major: 8, minor: 0, weight: 500, leafWeight: 300 }],
            throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 600 }],
            throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 600 }],
            throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 300 }],
            throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 300 }],
          },
          hugepageLimits: [{ pageSize: '2MB', limit: 209715200 }],
          network: { classID: 1048577, priorities: [{ name: 'eth0', priority: 500 }] },
          pids: { limit: 32771 },
          rdma: { mlx5_1: { hcaHandles: 3, hcaObjects: 10000 }, mlx4_0: { hcaObjects: 1000 }, rxe3: { hcaHandles: 3 } },
          unified: { 'io.max': '259:0 rbps=2097152' },
        },
        intelRdt: { closID: 'guaranteed_group', l3CacheSchema: 'L3:0=7f0;1=1f', memBwSchema: 'MB:0=20;1=70', schemata: ['L2:0=f'], enableMonitoring: true },
        memoryPolicy: { mode: 'MPOL_INTERLEAVE', nodes: '2-3', flags: ['MPOL_F_STATIC_NODES'] },
        sysctl: { 'net.ipv4.ip_forward': '1' },
        seccomp: {
          defaultAction: 'SCMP_ACT_ALLOW',
          defaultErrnoRet: 1,
          architectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
          flags: ['SECCOMP_FILTER_FLAG_LOG'],
          listenerPath: '/run/seccomp-agent.socket',
          listenerMetadata: 'x',
          syscalls: [{ names: ['getcwd', 'chmod'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, args: [{ index: 0, value: 1, valueTwo: 2, op: 'SCMP_CMP_EQ' }] }],
        },
        rootfsPropagation: 'slave',
        maskedPaths: ['/proc/kcore'],
        readonlyPaths: ['/proc/sys'],
        mountLabel: 'system_u:object_r:svirt_sandbox_file_t:s0:c715,c811',
        personality: { domain: 'LINUX', flags: [] },
      },
    }),
  },
  {
    name: 'seed: features using every property',
    kind: 'features',
    text: JSON.stringify({
      ociVersionMin: '1.0.0',
      ociVersionMax: '1.3.0',
      hooks: ['prestart'],
      mountOptions: ['ro'],
      annotations: { 'org.example.version': '1' },
      potentiallyUnsafeConfigAnnotations: ['org.systemd.property.'],
      linux: {
        namespaces: ['pid', 'time'],
        capabilities: ['CAP_CHOWN'],
        cgroup: { v1: true, v2: true, systemd: true, systemdUser: true, rdma: false },
        seccomp: { enabled: true, actions: ['SCMP_ACT_ALLOW'], operators: ['SCMP_CMP_EQ'], archs: ['SCMP_ARCH_X86_64'], knownFlags: ['SECCOMP_FILTER_FLAG_LOG'], supportedFlags: ['SECCOMP_FILTER_FLAG_LOG'] },
        apparmor: { enabled: true },
        selinux: { enabled: true },
        intelRdt: { enabled: true },
        mountExtensions: { idmap: { enabled: true } },
        netDevices: { enabled: true },
      },
    }),
  },
];

// ---- documented differences from the official schemas ----------------------------------

type MutationKind = 'drop' | 'type' | 'enum' | 'negative' | 'uint16-overflow' | 'uint32-overflow' | 'uint64-overflow' | 'fraction';

interface Exception {
  /** Which documents (validator) the exception applies to. */
  kinds: DocumentKind[];
  mutation: MutationKind[];
  /** Generalized JSON pointer of the mutated value (array indices as "*"), relative to the document. */
  path: RegExp;
  /** Our verdict there (the official schema gives the opposite one). */
  oursValid: boolean;
  /** The spec text berth follows. */
  why: string;
}

// Pointers are given for config.json; the same property inside a process / resources
// document is matched by the alternatives in each RegExp.
const P = '(/process)?'; // process.json is config.json's /process
const R = '(/linux/resources)?'; // resources.json is config.json's /linux/resources

const EXCEPTIONS: Exception[] = [
  {
    kinds: ['config'],
    mutation: ['drop'],
    path: /^\/root$/,
    oursValid: false,
    why: 'config.md "Root": "On Windows, for Windows Server Containers, this field is REQUIRED. ... On all other platforms, this field is REQUIRED." (berth runs Linux containers; the official schema leaves root optional for every platform)',
  },
  {
    kinds: ['config', 'process'],
    mutation: ['drop'],
    path: new RegExp(`^${P}/args$`),
    oursValid: false,
    why: 'config.md "Process", args: "at least one entry is REQUIRED (non-Windows) ... This field is OPTIONAL on Windows" (berth is not Windows)',
  },
  {
    kinds: ['config', 'process'],
    mutation: ['drop'],
    path: new RegExp(`^${P}/user/(uid|gid)$`),
    oursValid: false,
    why: 'config.md "POSIX-platform User": "uid (int, REQUIRED) ... gid (int, REQUIRED)" (the official schema shares one user object with Windows and requires neither)',
  },
  {
    kinds: ['config', 'process'],
    mutation: ['enum'],
    path: new RegExp(`^${P}/cwd$`),
    oursValid: false,
    why: 'config.md "Process", cwd: "This value MUST be an absolute path."',
  },
  {
    kinds: ['config'],
    mutation: ['enum'],
    path: /^\/hooks\/[a-zA-Z]+\/\*\/path$/,
    oursValid: false,
    why: 'config.md "POSIX-platform Hooks", path: "This specification extends the IEEE standard in that path MUST be absolute."',
  },
  {
    kinds: ['config'],
    mutation: ['enum'],
    path: /^\/linux\/(maskedPaths|readonlyPaths)\/\*$/,
    oursValid: false,
    why: 'config-linux.md "Masked Paths" / "Readonly Paths": "The values MUST be absolute paths in the container namespace."',
  },
  {
    kinds: ['config'],
    mutation: ['enum'],
    path: /^\/(linux|zos)\/namespaces\/\*\/path$/,
    oursValid: false,
    why: 'config-linux.md / config-zos.md "Namespaces", path: "This value MUST be an absolute path in the runtime mount namespace."',
  },
  {
    kinds: ['config', 'state', 'features'],
    mutation: ['enum'],
    path: /^\/(ociVersion|ociVersionMin|ociVersionMax)$/,
    oursValid: false,
    why: 'config.md "Specification version": ociVersion "MUST be in SemVer v2.0.0 format" (features.md: ociVersionMin/Max MUST be accepted as ociVersion)',
  },
  {
    kinds: ['config', 'process'],
    mutation: ['drop'],
    path: new RegExp(`^${P}/ioPriority/priority$`),
    oursValid: false,
    why: 'config.md "Linux Process", ioPriority: "priority (int, REQUIRED) specifies the priority level within the class"',
  },
  {
    kinds: ['config', 'process'],
    mutation: ['negative', 'uint16-overflow'],
    path: new RegExp(`^${P}/ioPriority/priority$`),
    oursValid: false,
    why: 'config.md "Linux Process": ioPriority priority: "The value should be an integer ranging from 0 (highest) to 7 (lowest)."',
  },
  {
    kinds: ['config'],
    mutation: ['uint16-overflow'],
    path: /^\/linux\/devices\/\*\/fileMode$/,
    oursValid: true,
    why: 'config-linux.md "Devices": "fileMode (uint32, OPTIONAL) - file mode for the device" (the official schema caps it at 511 = 0777, although podman writes the file type bits too: see VECTOR_EXCEPTIONS)',
  },
  {
    kinds: ['config'],
    mutation: ['drop'],
    path: /^\/linux\/devices\/\*\/(major|minor)$/,
    oursValid: false,
    why: 'config-linux.md "Devices": "major, minor (int64, REQUIRED unless type is p)"',
  },
  {
    kinds: ['config', 'resources'],
    mutation: ['drop'],
    path: new RegExp(`^${R}/pids/limit$`),
    oursValid: true,
    why: 'config-linux.md "PIDs": "limit (int64, OPTIONAL)" (the official schema requires it)',
  },
  {
    kinds: ['config', 'resources'],
    mutation: ['drop'],
    path: new RegExp(`^${R}/blockIO/throttle(Read|Write)(Bps|IOPS)Device/\\*/rate$`),
    oursValid: false,
    why: 'config-linux.md "Block IO": throttle devices: "rate (uint64, REQUIRED)"',
  },
  {
    kinds: ['config', 'resources'],
    mutation: ['drop'],
    path: new RegExp(`^${R}/blockIO/weightDevice/\\*/(weight|leafWeight)$`),
    oursValid: false,
    why: 'config-linux.md "Block IO": "You MUST specify at least one of weight or leafWeight in a given entry" (only reached when the entry has just one of them)',
  },
  {
    kinds: ['config', 'resources'],
    mutation: ['drop'],
    path: new RegExp(`^${R}/rdma/[^/]+/(hcaHandles|hcaObjects)$`),
    oursValid: false,
    why: 'config-linux.md "RDMA": "You MUST specify at least one of the hcaHandles or hcaObjects in a given entry" (only reached when the entry has just one of them)',
  },
  {
    kinds: ['config', 'resources'],
    mutation: ['uint16-overflow', 'uint32-overflow'],
    path: new RegExp(`^${R}/memory/swappiness$`),
    oursValid: false,
    why: 'config-linux.md "Memory": swappiness "The values are from 0 to 100."',
  },
  {
    kinds: ['config', 'resources'],
    mutation: ['enum'],
    path: new RegExp(`^${R}/devices/\\*/(type|access)$`),
    oursValid: false,
    why: 'config-linux.md "Allowed Device list": type "a (all), c (char), or b (block)"; access "A composition of r (read), w (write), and m (mknod)."',
  },
  {
    kinds: ['config'],
    mutation: ['drop'],
    path: /^\/linux\/(memoryPolicy\/mode|personality\/domain)$/,
    oursValid: false,
    why: 'config-linux.md: memoryPolicy "mode (string, REQUIRED)"; personality "domain (string, REQUIRED)"',
  },
  {
    kinds: ['config'],
    mutation: ['drop'],
    path: /^\/freebsd\/devices\/\*\/path$/,
    oursValid: false,
    why: 'config-freebsd.md "Devices": "path (string, REQUIRED) - the device path relative to /dev"',
  },
  {
    kinds: ['config'],
    mutation: ['uint16-overflow'],
    path: /^\/freebsd\/devices\/\*\/mode$/,
    oursValid: true,
    why: 'config-freebsd.md "Devices": "mode (uint32, OPTIONAL) - file mode for the device" (the official schema caps it at 511)',
  },
  {
    kinds: ['config'],
    mutation: ['drop'],
    path: /^\/mounts\/\*\/(uidMappings|gidMappings)$/,
    oursValid: false,
    why: 'config.md "POSIX-platform Mounts": uidMappings "If specified, it MUST be specified along with gidMappings." and the other way round',
  },
  {
    kinds: ['config'],
    mutation: ['drop'],
    path: /^\/linux\/seccomp\/listenerPath$/,
    oursValid: false,
    why: 'config-linux.md "Seccomp": listenerMetadata "This field MUST NOT be set if listenerPath is not set."',
  },
  {
    kinds: ['state'],
    mutation: ['drop'],
    path: /^\/pid$/,
    oursValid: false,
    why: 'runtime.md "State": "pid (int, REQUIRED when status is created or running on Linux ...)"',
  },
  {
    kinds: ['state'],
    mutation: ['enum'],
    path: /^\/status$/,
    oursValid: true,
    why: 'runtime.md "State", status: "Additional values MAY be defined by the runtime, however, they MUST be used to represent new runtime states not defined above."',
  },
  {
    kinds: ['state'],
    mutation: ['enum'],
    path: /^\/bundle$/,
    oursValid: false,
    why: 'runtime.md "State": "bundle (string, REQUIRED) is the absolute path to the container\'s bundle directory."',
  },
];

/** Whole documents the official schema rejects although the spec text allows them. */
const VECTOR_EXCEPTIONS: Record<string, string> = {
  'engine-configs/podman-device-fuse.json':
    'podman writes linux.devices[].fileMode with the file type bits (8576 = S_IFCHR|0600); config-linux.md: "fileMode (uint32, OPTIONAL)", the official schema caps it at 511',
  'engine-configs/podman-privileged.json': 'same as podman-device-fuse.json: fileMode with the file type bits',
  'engine-configs/podman-mount-propagation.json':
    'podman writes linux.rootfsPropagation "rslave" for --mount ...,bind-propagation=rslave; config-linux.md lists only the four plain forms, runc and crun (and berth) take the recursive ones too',
};

function findException(kind: DocumentKind, mutation: MutationKind, path: string, oursValid: boolean): Exception | undefined {
  return EXCEPTIONS.find((e) => e.kinds.includes(kind) && e.mutation.includes(mutation) && e.path.test(path) && e.oursValid === oursValid);
}

// ---- mutations --------------------------------------------------------------------------

interface Site {
  parent: Record<string, unknown> | unknown[];
  key: string | number;
  path: string; // generalized pointer, array indices as *
  value: unknown;
}

function sites(doc: unknown): Site[] {
  const out: Site[] = [];
  const walk = (node: unknown, path: string): void => {
    if (Array.isArray(node)) {
      node.forEach((v, i) => {
        out.push({ parent: node, key: i, path: `${path}/*`, value: v });
        walk(v, `${path}/*`);
      });
    } else if (node !== null && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        const p = `${path}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`;
        out.push({ parent: node as Record<string, unknown>, key: k, path: p, value: v });
        walk(v, p);
      }
    }
  };
  walk(doc, '');
  return out;
}

interface Mutation {
  kind: MutationKind;
  site: Site;
  replacement?: unknown; // undefined: delete the property
}

function mutationsOf(site: Site): Mutation[] {
  const v = site.value;
  const out: Mutation[] = [];
  if (!Array.isArray(site.parent)) out.push({ kind: 'drop', site });
  if (typeof v === 'string') {
    out.push({ kind: 'type', site, replacement: 42 });
    out.push({ kind: 'enum', site, replacement: 'x-bogus-value' });
  } else if (typeof v === 'number') {
    out.push({ kind: 'type', site, replacement: String(v) });
    if (Number.isInteger(v)) {
      out.push({ kind: 'negative', site, replacement: -1 });
      out.push({ kind: 'uint16-overflow', site, replacement: 65536 });
      out.push({ kind: 'uint32-overflow', site, replacement: 4294967296 });
      out.push({ kind: 'uint64-overflow', site, replacement: 2 ** 66 });
      out.push({ kind: 'fraction', site, replacement: v + 0.5 });
    }
  } else if (typeof v === 'boolean') {
    out.push({ kind: 'type', site, replacement: String(v) });
  } else if (Array.isArray(v)) {
    out.push({ kind: 'type', site, replacement: {} });
    out.push({ kind: 'type', site, replacement: 'x' });
  } else if (v !== null && typeof v === 'object') {
    out.push({ kind: 'type', site, replacement: [] });
    out.push({ kind: 'type', site, replacement: 7 });
  }
  return out;
}

function apply(doc: unknown, m: Mutation, fn: () => void): void {
  const { parent, key } = m.site;
  const obj = parent as Record<string | number, unknown>;
  const had = Object.prototype.hasOwnProperty.call(obj, key);
  const old = obj[key];
  if (m.replacement === undefined) delete obj[key];
  else obj[key] = m.replacement;
  try {
    fn();
  } finally {
    if (had) obj[key] = old;
  }
  void doc;
}

// ---- tests ------------------------------------------------------------------------------

test('every official test vector and engine document: same verdict as the official schema', (t) => {
  if (!needOracle(t)) return;
  const o = oracle();
  const list = vectors();
  assert.ok(list.length > 20, `expected the vectors in ${oracleDir}, found ${list.length}`);
  const problems: string[] = [];
  for (const v of list) {
    const parsed = tryParse(v.text);
    const oursValid = parsed.ok && ours[v.kind](parsed.value);
    const theirsValid = parsed.ok && o[v.kind](parsed.value);
    if (v.expect !== undefined && oursValid !== v.expect) {
      problems.push(`${v.name}: ours says ${oursValid ? 'valid' : 'invalid'}, the vector is ${v.expect ? 'good' : 'bad'}: ${parsed.ok ? formatSchemaErrors(ours[v.kind].errors ?? [], parsed.value).join('; ') : 'malformed JSON'}`);
    }
    if (oursValid !== theirsValid && !VECTOR_EXCEPTIONS[v.name]) {
      problems.push(`${v.name} (${v.kind}): ours ${oursValid ? 'valid' : `invalid: ${formatSchemaErrors(ours[v.kind].errors ?? [], (parsed as { value: unknown }).value).join('; ')}`}, official ${theirsValid ? 'valid' : 'invalid'}`);
    }
  }
  t.diagnostic(`${list.length} vectors compared`);
  assert.deepEqual(problems, []);
});

test('mutations of the valid documents: same verdict as the official schema, or a documented exception; the quick checks of validators.js and the validators listing every error agree', (t) => {
  if (!needOracle(t)) return;
  const o = oracle();
  const used = new Set<Exception>();
  const problems: string[] = [];
  const counts: Record<string, number> = {};
  let total = 0;
  let excepted = 0;
  const seeds = [...vectors(), ...SEEDS];
  for (const s of SEEDS) assert.ok(ours[s.kind](JSON.parse(s.text)) && o[s.kind](JSON.parse(s.text)), `${s.name} must be valid for both schemas`);
  // The process and resources of every config are seeds for those validators too.
  for (const v of [...seeds]) {
    const parsed = tryParse(v.text);
    if (v.kind !== 'config' || !parsed.ok) continue;
    const c = parsed.value as { process?: unknown; linux?: { resources?: unknown } };
    if (c.process) seeds.push({ name: `${v.name} /process`, kind: 'process', text: JSON.stringify(c.process) });
    if (c.linux?.resources) seeds.push({ name: `${v.name} /linux/resources`, kind: 'resources', text: JSON.stringify(c.linux.resources) });
  }
  for (const v of seeds) {
    const parsed = tryParse(v.text);
    if (!parsed.ok || !o[v.kind](parsed.value) || !ours[v.kind](parsed.value)) continue;
    const doc = parsed.value;
    // One mutation of each kind per distinct place (array elements generalized): the
    // engines' seccomp profiles repeat the same shapes hundreds of times.
    const done = new Set<string>();
    for (const site of sites(doc)) {
      for (const m of mutationsOf(site)) {
        const key = `${m.kind}|${site.path}|${JSON.stringify(m.replacement)}`;
        if (done.has(key)) continue;
        done.add(key);
        apply(doc, m, () => {
          const a = ours[v.kind](doc);
          const b = o[v.kind](doc);
          total++;
          if (withErrors[v.kind](doc) !== a) problems.push(`${v.name}: ${m.kind} ${site.path}: validators.js says ${a ? 'valid' : 'invalid'}, validators-errors.js does not`);
          counts[m.kind] = (counts[m.kind] ?? 0) + 1;
          if (a === b) return;
          const ex = findException(v.kind, m.kind, site.path, a);
          if (ex) {
            used.add(ex);
            excepted++;
            return;
          }
          const why = a ? '' : `: ${formatSchemaErrors(ours[v.kind].errors ?? [], doc).join('; ')}`;
          problems.push(`${v.name}: ${m.kind} ${site.path} -> ${m.replacement === undefined ? '(deleted)' : JSON.stringify(m.replacement)}: ours ${a ? 'valid' : 'invalid'}${why}, official ${b ? 'valid' : 'invalid'}`);
        });
      }
    }
  }
  t.diagnostic(`${total} mutations (${Object.entries(counts).map(([k, n]) => `${k} ${n}`).join(', ')}), ${excepted} differ as documented`);
  assert.ok(total > 1000, `only ${total} mutations`);
  assert.deepEqual(problems.slice(0, 40), [], `${problems.length} undocumented differences`);
  const unused = EXCEPTIONS.filter((e) => !used.has(e));
  assert.deepEqual(unused.map((e) => e.path.source), [], 'exceptions never reached by a mutation (stale?)');
});

test('differences the mutations do not reach: checked explicitly against both schemas', (t) => {
  if (!needOracle(t)) return;
  const o = oracle();
  const base = () => ({ ociVersion: '1.3.0', root: { path: 'rootfs' }, process: { cwd: '/', args: ['sh'], user: { uid: 0, gid: 0 } } });
  const cases: { what: string; doc: unknown; kind: DocumentKind; ours: boolean; official: boolean }[] = [
    {
      what: 'rlimit type that is not a Linux rlimit (getrlimit(2))',
      kind: 'config',
      doc: { ...base(), process: { ...base().process, rlimits: [{ type: 'RLIMIT_FOO', soft: 1, hard: 1 }] } },
      ours: false,
      official: true,
    },
    {
      what: 'mount uidMappings without gidMappings ("If specified, it MUST be specified along with gidMappings")',
      kind: 'config',
      doc: { ...base(), mounts: [{ destination: '/x', uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] }] },
      ours: false,
      official: true,
    },
    {
      what: 'seccomp listenerMetadata without listenerPath ("This field MUST NOT be set if listenerPath is not set")',
      kind: 'config',
      doc: { ...base(), linux: { seccomp: { defaultAction: 'SCMP_ACT_ALLOW', listenerMetadata: 'x' } } },
      ours: false,
      official: true,
    },
    {
      what: 'empty annotation key ("Keys MUST NOT be an empty string")',
      kind: 'config',
      doc: { ...base(), annotations: { '': 'x' } },
      ours: false,
      official: true,
    },
    {
      what: 'intelRdt schemata line with a newline ("The value MUST NOT contain newlines")',
      kind: 'config',
      doc: { ...base(), linux: { intelRdt: { schemata: ['L3:0=f\nMB:0=1'] } } },
      ours: false,
      official: true,
    },
    {
      what: 'freebsd jail enforceStatfs outside 0-2 ("A value of 0 allows ..., 1 allows ... and 2 only allows the container root to be visible.")',
      kind: 'config',
      doc: { ...base(), freebsd: { jail: { enforceStatfs: 3 } } },
      ours: false,
      official: true,
    },
    ...['rshared', 'rslave', 'rprivate', 'runbindable'].map((v) => ({
      what: `linux.rootfsPropagation "${v}": not in config-linux.md's list, taken as runc and crun take it (containerd's CRI writes it for volumes with mount propagation)`,
      kind: 'config' as DocumentKind,
      doc: { ...base(), linux: { rootfsPropagation: v } },
      ours: true,
      official: false,
    })),
    {
      what: 'process args empty ("at least one entry is REQUIRED (non-Windows)")',
      kind: 'process',
      doc: { cwd: '/', args: [] },
      ours: false,
      official: true,
    },
    {
      what: 'features: null for optional properties ("MAY either be absent or have the null value")',
      kind: 'features',
      doc: { ociVersionMin: '1.0.0', ociVersionMax: '1.3.0', hooks: null, linux: { cgroup: null, seccomp: { enabled: null } } },
      ours: true,
      official: false,
    },
    {
      what: 'state pid missing while running (REQUIRED when status is created or running on Linux)',
      kind: 'state',
      doc: { ociVersion: '1.3.0', id: 'c', status: 'running', bundle: '/b' },
      ours: false,
      official: true,
    },
    {
      what: 'state with a runtime-defined status ("Additional values MAY be defined by the runtime")',
      kind: 'state',
      doc: { ociVersion: '1.3.0', id: 'c', status: 'paused', pid: 1, bundle: '/b' },
      ours: true,
      official: false,
    },
  ];
  for (const c of cases) {
    assert.equal(ours[c.kind](c.doc), c.ours, `ours: ${c.what}`);
    assert.equal(o[c.kind](c.doc), c.official, `official: ${c.what}`);
  }
});

test('error message: every problem of a config, one line each, with JSON pointers', () => {
  const doc = {
    root: { path: 'rootfs' },
    process: { cwd: '/', args: ['sh'], user: { uid: 'abc', gid: 0 } },
    linux: { namespaces: [{ type: 'pid' }, { type: 'foo' }] },
  };
  assert.throws(
    () => validate('config', doc, 'config.json in /b'),
    (e: unknown) => {
      assert.ok(e instanceof BerthError);
      const lines = e.message.split('\n');
      assert.equal(lines[0], 'invalid config.json in /b: 3 errors');
      assert.deepEqual(lines.slice(1).sort(), [
        '  /: missing required property "ociVersion"',
        '  /linux/namespaces/1/type: must be one of pid, network, mount, ipc, uts, user, cgroup, time (found "foo")',
        '  /process/user/uid: must be integer (found "abc")',
      ]);
      return true;
    },
  );
});

test('error message: ranges, patterns, conditional and at-least-one constraints', () => {
  const doc = {
    ociVersion: '1.0',
    root: { path: 'rootfs' },
    process: { cwd: 'relative', args: ['sh'], user: { uid: -1, gid: 0 }, rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1.5, hard: 1 }] },
    linux: {
      devices: [{ type: 'c', path: '/dev/x' }],
      resources: { blockIO: { weightDevice: [{ major: 8, minor: 0 }] }, memory: { limit: 2 ** 64 } },
      seccomp: { defaultAction: 'SCMP_ACT_ALLOW', listenerMetadata: 'm' },
    },
    features: [],
  };
  let message = '';
  try {
    validate('config', doc, 'config.json in /b');
  } catch (e) {
    message = (e as Error).message;
  }
  const lines = message.split('\n').slice(1).map((l) => l.trim());
  const expected = [
    '/ociVersion: must be a SemVer 2.0.0 version such as 1.2.0 (found "1.0")',
    '/process/cwd: must be an absolute path (found "relative")',
    '/process/user/uid: must be >= 0 (found -1)',
    '/process/rlimits/0/soft: must be integer (found 1.5)',
    '/linux/devices/0: missing required property "major"',
    '/linux/devices/0: missing required property "minor"',
    '/linux/resources/blockIO/weightDevice/0: must have at least one of the properties "weight", "leafWeight"',
    '/linux/resources/memory/limit: must be <= 9223372036854775807 (found 18446744073709552000)',
    '/linux/seccomp: missing property "listenerPath", required when "listenerMetadata" is set',
  ];
  assert.deepEqual([...lines].sort(), [...expected].sort(), message);
  assert.match(message, /^invalid config\.json in \/b: 9 errors\n/);
});

test('error messages are deduplicated', () => {
  const errors = [
    { instancePath: '/a', schemaPath: '#/type', keyword: 'type', params: { type: 'string' } },
    { instancePath: '/a', schemaPath: '#/x/type', keyword: 'type', params: { type: 'string' } },
  ];
  assert.deepEqual(formatSchemaErrors(errors, { a: 1 }), ['/a: must be string (found 1)']);
});

test('unknown properties are accepted everywhere ("Runtimes MAY log unknown properties but MUST otherwise ignore them")', () => {
  const doc = {
    ociVersion: '1.3.0',
    root: { path: 'rootfs', x: 1 },
    process: { cwd: '/', args: ['sh'], user: { uid: 0, gid: 0, y: [] }, futureField: { a: 1 } },
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc', z: true }],
    hooks: { prestart: [{ path: '/bin/true', extra: 1 }], someFutureHook: [{}] },
    linux: {
      namespaces: [{ type: 'pid', w: 1 }],
      resources: { memory: { limit: 1, newKnob: 5 }, brandNewController: {} },
      seccomp: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', q: 1 }] },
      somethingNew: 'x',
    },
    topLevelUnknown: { deep: [1, 2, 3] },
  };
  validate('config', doc, 'config');
  validate('process', { cwd: '/', args: ['x'], unknown: 1 }, 'process');
  validate('resources', { pids: { limit: 10 }, unknown: 1 }, 'resources');
  validate('state', { ociVersion: '1.3.0', id: 'c', status: 'created', pid: 5, bundle: '/b', extra: 1 }, 'state');
  validate('features', { ociVersionMin: '1.0.0', ociVersionMax: '1.3.0', newThing: 1, linux: { newThing: 2 } }, 'features');
});

test('loadConfig: missing file, malformed JSON with line and column, schema errors, success', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-schema-'));
  try {
    assert.throws(() => loadConfig(dir), (e: unknown) => e instanceof BerthError && e.message === `cannot read config.json in ${dir}: no such file or directory`);
    writeFileSync(join(dir, 'config.json'), '{\n  "ociVersion": "1.3.0",\n  "root": { "path": "rootfs" },,\n}\n');
    assert.throws(() => loadConfig(dir), (e: unknown) => e instanceof BerthError && e.message === `invalid config.json in ${dir}: malformed JSON: expected a property name in double quotes, unexpected "," at line 3, column 32`);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ociVersion: '1.3.0', root: { path: 7 } }));
    assert.throws(() => loadConfig(dir), (e: unknown) => e instanceof BerthError && e.message === `invalid config.json in ${dir}: 1 error\n  /root/path: must be string (found 7)`);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ociVersion: '1.3.0', root: { path: 'rootfs' }, process: { cwd: '/', args: ['sh'] } }));
    const spec = loadConfig(dir);
    assert.equal(spec.root.path, 'rootfs');
    assert.deepEqual(spec.process?.args, ['sh']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loadProcess and loadResources', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-schema-'));
  try {
    const pf = join(dir, 'p.json');
    writeFileSync(pf, JSON.stringify({ cwd: '/', args: ['ls'], env: ['A=1'] }));
    assert.deepEqual(loadProcess(pf).args, ['ls']);
    writeFileSync(pf, JSON.stringify({ args: ['ls'] }));
    assert.throws(() => loadProcess(pf), (e: unknown) => e instanceof BerthError && e.message === `invalid process file ${pf}: 1 error\n  /: missing required property "cwd"`);
    const rf = join(dir, 'r.json');
    writeFileSync(rf, JSON.stringify({ memory: { limit: 1048576 }, pids: { limit: -1 } }));
    assert.equal(loadResources(rf).memory?.limit, 1048576);
    writeFileSync(rf, JSON.stringify({ cpu: { shares: -2 } }));
    assert.throws(() => loadResources(rf), /resources file .*: 1 error\n {2}\/cpu\/shares: must be >= 0 \(found -2\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('locating JSON syntax errors', () => {
  const cases: [string, string][] = [
    ['{]', 'expected a property name in double quotes, unexpected "]" at line 1, column 2'],
    ['{"a": 1', 'expected "," or "}", end of input at line 1, column 8'],
    ['[1, 2] x', 'unexpected "x" after the end of the document at line 1, column 8'],
    ['{"a": tru}', 'unexpected "t" at line 1, column 7'],
    ['{"a": "x\ny"}', 'control character in string at line 1, column 9'],
    ['', 'expected a value, end of input at line 1, column 1'],
  ];
  for (const [text, expected] of cases) {
    const w = locateJsonError(text);
    assert.ok(w, text);
    assert.equal(`${w.problem} at line ${w.line}, column ${w.column}`, expected, text);
    assert.throws(() => parseJson(text, 'x'), (e: unknown) => e instanceof BerthError && e.message === `invalid x: malformed JSON: ${expected}`);
  }
  assert.equal(locateJsonError('{"a": [1, 2.5e3, -0, "\\u00e9"], "b": null}'), undefined);
});
