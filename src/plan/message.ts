// Encodes a plan into the message berth-init reads (format: addon/message/plan.def).
import * as K from './generated';
import type { Plan } from './plan';

type Item = number | bigint | string | Buffer;

/** One item: kind 1 u64, kind 2 string (NUL-terminated, none inside), kind 3 raw bytes. */
function encodeItem(it: Item): Buffer {
  if (Buffer.isBuffer(it)) {
    const b = Buffer.alloc(5 + it.length);
    b[0] = 3;
    b.writeUInt32LE(it.length, 1);
    it.copy(b, 5);
    return b;
  }
  if (typeof it === 'string') {
    const s = Buffer.from(it, 'utf8');
    if (s.includes(0)) throw new Error(`a string for berth-init contains a NUL byte: ${JSON.stringify(it)}`);
    const b = Buffer.alloc(6 + s.length);
    b[0] = 2;
    b.writeUInt32LE(s.length, 1);
    s.copy(b, 5);
    return b;
  }
  const b = Buffer.alloc(9);
  b[0] = 1;
  b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(it)), 1);
  return b;
}

/** Builds a plan message: records of items, then the header (exported for exec plans). */
export class Writer {
  private chunks: Buffer[] = [];
  private count = 0;
  private size = 16;

  rec(type: number, ...items: Item[]): void {
    const parts: Buffer[] = [];
    let len = 0;
    for (const it of items) {
      const b = encodeItem(it);
      parts.push(b);
      len += b.length;
    }
    const h = Buffer.alloc(8);
    h.writeUInt16LE(type, 0);
    h.writeUInt32LE(len, 4);
    this.chunks.push(h, ...parts);
    this.count++;
    this.size += 8 + len;
  }

  finish(): Buffer {
    if (this.size > K.PLAN_MAX_BYTES) throw new Error(`the plan is too large (${this.size} bytes)`);
    const h = Buffer.alloc(16);
    h.write('BRTP', 0, 'latin1');
    h.writeUInt32LE(K.PLAN_VERSION, 4);
    h.writeUInt32LE(this.size, 8);
    h.writeUInt32LE(this.count, 12);
    return Buffer.concat([h, ...this.chunks]);
  }
}

export function encodePlan(p: Plan): Buffer {
  const w = new Writer();
  w.rec(K.REC_NS_CLONE, p.cloneFlags);
  for (const j of p.joins) w.rec(K.REC_NS_JOIN, j.type, j.path, j.field);
  if (p.uidMap !== undefined) w.rec(K.REC_UID_MAP, p.uidMap);
  if (p.gidMap !== undefined) w.rec(K.REC_GID_MAP, p.gidMap);
  if (p.idMappers) w.rec(K.REC_ID_MAPPERS, p.idMappers.uid, p.idMappers.gid);
  if (p.timeOffsets !== undefined) w.rec(K.REC_TIME_OFFSETS, p.timeOffsets);
  if (p.hostname !== undefined) w.rec(K.REC_HOSTNAME, p.hostname);
  if (p.sessionKeyring !== undefined) w.rec(K.REC_SESSION_KEYRING, p.sessionKeyring);
  if (p.domainname !== undefined) w.rec(K.REC_DOMAINNAME, p.domainname);
  const r = p.rootfs;
  w.rec(K.REC_ROOTFS, r.path, r.readonly ? 1 : 0, r.propagation, r.noPivot ? 1 : 0);
  for (const m of p.mounts) {
    const idmap = m.idmap ? (m.idmap.recursive ? K.IDMAP_RECURSIVE : K.IDMAP_TOP) : K.IDMAP_NONE;
    w.rec(K.REC_MOUNT, m.source, m.destination, m.type, m.flags, m.propagation, m.extra, m.data, m.field, m.recursiveSet, m.recursiveClear,
      idmap, m.idmap?.uidMap ?? '', m.idmap?.gidMap ?? '', m.idmap?.usernsPath ?? '');
  }
  for (const d of p.mkdirs) w.rec(K.REC_MKDIR, d, 0o755);
  for (const d of p.devices) w.rec(K.REC_DEVICE, d.path, d.type, d.major, d.minor, d.mode, d.uid, d.gid, d.field);
  for (const s of p.symlinks) w.rec(K.REC_SYMLINK, s.target, s.path);
  for (const m of p.masked) w.rec(K.REC_MASK, m);
  for (const m of p.readonly) w.rec(K.REC_READONLY, m);
  w.rec(K.REC_EXEC_FIFO, p.execFifo);
  if (p.cgroup2 !== undefined) w.rec(K.REC_CGROUP2, p.cgroup2);
  for (const s of p.sysctls) w.rec(K.REC_SYSCTL, s.path, s.value, s.field);
  if (p.oomScoreAdj !== undefined) w.rec(K.REC_OOM_SCORE_ADJ, BigInt(p.oomScoreAdj));
  for (const l of p.rlimits) w.rec(K.REC_RLIMIT, l.resource, l.soft, l.hard, l.field);
  if (p.personality !== undefined) w.rec(K.REC_PERSONALITY, p.personality);
  w.rec(K.REC_USER, p.user.uid, p.user.gid, p.user.umask ?? 0xffffffff);
  for (const g of p.user.additionalGids) w.rec(K.REC_ADD_GID, g);
  if (p.caps) w.rec(K.REC_CAPS, p.caps.bounding, p.caps.effective, p.caps.permitted, p.caps.inheritable, p.caps.ambient);
  if (p.noNewPrivileges) w.rec(K.REC_NO_NEW_PRIVS, 1);
  w.rec(K.REC_CWD, p.cwd);
  for (const a of p.args) w.rec(K.REC_ARG, a);
  for (const e of p.env) w.rec(K.REC_ENV, e);
  w.rec(K.REC_PRESERVE_FDS, p.preserveFds);
  if (p.console) w.rec(K.REC_CONSOLE, p.console.fd, p.console.rows, p.console.cols);
  if (p.apparmor) w.rec(K.REC_APPARMOR, p.apparmor);
  for (const h of p.hooks) w.rec(K.REC_HOOK, h.kind, h.timeout, h.args.length, h.path, ...h.args, h.env.length, ...h.env, h.field);
  if (p.seccomp) w.rec(K.REC_SECCOMP, p.seccomp.bpf, p.seccomp.flags, p.seccomp.listener ? 1 : 0);
  return w.finish();
}

/** Reads the items of a sync message payload (numbers come back as bigint). */
export function decodeItems(b: Buffer): (bigint | string | Buffer)[] {
  const out: (bigint | string | Buffer)[] = [];
  let i = 0;
  while (i < b.length) {
    if (b[i] === 1) {
      out.push(b.readBigUInt64LE(i + 1));
      i += 9;
    } else if (b[i] === 2) {
      const n = b.readUInt32LE(i + 1);
      out.push(b.toString('utf8', i + 5, i + 5 + n));
      i += 6 + n;
    } else if (b[i] === 3) {
      const n = b.readUInt32LE(i + 1);
      out.push(b.subarray(i + 5, i + 5 + n));
      i += 5 + n;
    } else {
      throw new Error('malformed message from berth-init');
    }
  }
  return out;
}

export function encodeMessage(type: number, ...items: string[]): Buffer {
  const body = Buffer.concat(items.map(encodeItem));
  const h = Buffer.alloc(8);
  h.writeUInt32LE(type, 0);
  h.writeUInt32LE(body.length, 4);
  return Buffer.concat([h, body]);
}
