// CRIU's RPC messages (the criu_req / criu_resp of `criu swrk`), declared here with
// the fields berth uses: names and numbers as CRIU's rpc.proto has them (proto2:
// a field left out is absent on the wire).
//
// This file is bundled on its own (dist/criu-rpc.js, with protobufjs): only
// checkpoint and restore load it (see ./criu.ts), no other command pays for it.
import { Reader, Writer } from 'protobufjs/minimal';

// A message: its fields by name, each with its number and kind (a nested message
// is its own table). Encoded and decoded with protobufjs's minimal runtime (the
// one its generated static code uses): no reflection, no code compiled at run
// time, which under emulation cost a checkpoint more than half a second.
interface Field { id: number; kind: 'int32' | 'uint32' | 'bool' | 'string' | Message; repeated?: boolean; required?: boolean }
type Message = { [name: string]: Field };

const opt = (kind: Field['kind'], id: number): Field => ({ id, kind });
const rep = (kind: Field['kind'], id: number): Field => ({ id, kind, repeated: true });
const req = (kind: Field['kind'], id: number): Field => ({ id, kind, required: true });
// Enums are int32 on the wire.
const ENUM = 'int32';

const PAGE_SERVER_INFO: Message = { address: opt('string', 1), port: opt('int32', 2), pid: opt('int32', 3), fd: opt('int32', 4) };
const EXT_MOUNT_MAP: Message = { key: req('string', 1), val: req('string', 2) };
const JOIN_NAMESPACE: Message = { ns: req('string', 1), ns_file: req('string', 2), extra_opt: opt('string', 3) };
const INHERIT_FD: Message = { key: req('string', 1), fd: req('int32', 2) };
const CGROUP_ROOT: Message = { ctrl: opt('string', 1), path: req('string', 2) };
const CRIU_OPTS: Message = {
  images_dir_fd: req('int32', 1),
  pid: opt('int32', 2),
  leave_running: opt('bool', 3),
  ext_unix_sk: opt('bool', 4),
  tcp_established: opt('bool', 5),
  evasive_devices: opt('bool', 6),
  shell_job: opt('bool', 7),
  file_locks: opt('bool', 8),
  log_level: opt('int32', 9),
  log_file: opt('string', 10),
  ps: opt(PAGE_SERVER_INFO, 11),
  notify_scripts: opt('bool', 12),
  root: opt('string', 13),
  parent_img: opt('string', 14),
  track_mem: opt('bool', 15),
  auto_dedup: opt('bool', 16),
  work_dir_fd: opt('int32', 17),
  link_remap: opt('bool', 18),
  ext_mnt: rep(EXT_MOUNT_MAP, 23),
  manage_cgroups: opt('bool', 24),
  cg_root: rep(CGROUP_ROOT, 25),
  rst_sibling: opt('bool', 26),
  inherit_fd: rep(INHERIT_FD, 27),
  manage_cgroups_mode: opt(ENUM, 34),
  external: rep('string', 37),
  empty_ns: opt('uint32', 38),
  join_ns: rep(JOIN_NAMESPACE, 39),
  freeze_cgroup: opt('string', 44),
  tcp_skip_in_flight: opt('bool', 46),
  lazy_pages: opt('bool', 48),
  status_fd: opt('int32', 49),
  orphan_pts_master: opt('bool', 50),
  config_file: opt('string', 51),
  lsm_profile: opt('string', 53),
  lsm_mount_context: opt('string', 63),
};
const CRIU_FEATURES: Message = { mem_track: opt('bool', 1), lazy_pages: opt('bool', 2), pidfd_store: opt('bool', 3) };
const CRIU_REQ: Message = {
  type: req(ENUM, 1),
  opts: opt(CRIU_OPTS, 2),
  notify_success: opt('bool', 3),
  keep_open: opt('bool', 4),
  features: opt(CRIU_FEATURES, 5),
};
const CRIU_VERSION: Message = {
  major_number: req('int32', 1), minor_number: req('int32', 2), gitid: opt('string', 3),
  sublevel: opt('int32', 4), extra: opt('int32', 5), name: opt('string', 6),
};
const CRIU_RESP: Message = {
  type: req(ENUM, 1),
  success: req('bool', 2),
  dump: opt({ restored: opt('bool', 1) }, 3),
  restore: opt({ pid: req('int32', 1) }, 4),
  notify: opt({ script: opt('string', 1), pid: opt('int32', 2) }, 5),
  ps: opt(PAGE_SERVER_INFO, 6),
  cr_errno: opt('int32', 7),
  features: opt(CRIU_FEATURES, 8),
  cr_errmsg: opt('string', 9),
  version: opt(CRIU_VERSION, 10),
  status: opt('int32', 11),
};

function encode(w: Writer, m: Message, value: Record<string, unknown>, path: string): Writer {
  for (const [name, f] of Object.entries(m)) {
    const v = value[name];
    if (v === undefined || v === null) {
      if (f.required) throw new Error(`${path}.${name} is required`);
      continue;
    }
    for (const x of f.repeated ? (v as unknown[]) : [v]) {
      if (typeof f.kind === 'object') encode(w.uint32((f.id << 3) | 2).fork(), f.kind, x as Record<string, unknown>, `${path}.${name}`).ldelim();
      else if (f.kind === 'string') w.uint32((f.id << 3) | 2).string(x as string);
      else if (f.kind === 'bool') w.uint32(f.id << 3).bool(x as boolean);
      else if (f.kind === 'uint32') w.uint32(f.id << 3).uint32(x as number);
      else w.uint32(f.id << 3).int32(x as number);
    }
  }
  return w;
}

function decode(r: Reader, m: Message, end: number, path: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const byId = new Map(Object.entries(m).map(([name, f]) => [f.id, [name, f] as const]));
  while (r.pos < end) {
    const tag = r.uint32();
    const known = byId.get(tag >>> 3);
    if (!known) {
      r.skipType(tag & 7); // a field of a newer CRIU
      continue;
    }
    const [name, f] = known;
    let v: unknown;
    if (typeof f.kind === 'object') {
      const len = r.uint32();
      v = decode(r, f.kind, r.pos + len, `${path}.${name}`);
    } else if (f.kind === 'string') v = r.string();
    else if (f.kind === 'bool') v = r.bool();
    else if (f.kind === 'uint32') v = r.uint32();
    else v = r.int32();
    if (f.repeated) ((out[name] ??= []) as unknown[]).push(v);
    else out[name] = v;
  }
  for (const [name, f] of Object.entries(m)) if (f.required && out[name] === undefined) throw new Error(`${path}: ${name} is missing`);
  return out;
}

/** criu_req_type */
export const REQ = { DUMP: 1, RESTORE: 2, CHECK: 3, PRE_DUMP: 4, NOTIFY: 6, FEATURE_CHECK: 9, VERSION: 10 } as const;
/** criu_cg_mode, by the names of --manage-cgroups-mode ('' is CRIU's default, soft). */
export const CG_MODE: Record<string, number> = { '': 6, soft: 3, full: 4, strict: 5, ignore: 0 };

export interface Features { mem_track?: boolean; lazy_pages?: boolean; pidfd_store?: boolean }

export interface Opts {
  images_dir_fd: number;
  pid?: number;
  leave_running?: boolean;
  ext_unix_sk?: boolean;
  tcp_established?: boolean;
  evasive_devices?: boolean;
  shell_job?: boolean;
  file_locks?: boolean;
  log_level?: number;
  log_file?: string;
  ps?: { address?: string; port?: number };
  notify_scripts?: boolean;
  root?: string;
  parent_img?: string;
  track_mem?: boolean;
  auto_dedup?: boolean;
  work_dir_fd?: number;
  link_remap?: boolean;
  ext_mnt?: { key: string; val: string }[];
  manage_cgroups?: boolean;
  cg_root?: { ctrl?: string; path: string }[];
  rst_sibling?: boolean;
  inherit_fd?: { key: string; fd: number }[];
  manage_cgroups_mode?: number;
  external?: string[];
  empty_ns?: number;
  join_ns?: { ns: string; ns_file: string }[];
  freeze_cgroup?: string;
  tcp_skip_in_flight?: boolean;
  lazy_pages?: boolean;
  status_fd?: number;
  orphan_pts_master?: boolean;
  config_file?: string;
  lsm_profile?: string;
  lsm_mount_context?: string;
}

export interface Request {
  type: number;
  opts?: Opts;
  notify_success?: boolean;
  features?: Features;
}

export interface Response {
  type: number;
  success: boolean;
  dump?: { restored?: boolean };
  restore?: { pid: number };
  notify?: { script?: string; pid?: number };
  cr_errno?: number;
  features?: Features;
  cr_errmsg?: string;
  version?: { major_number: number; minor_number: number; sublevel?: number; extra?: number; gitid?: string; name?: string };
}

export function encodeRequest(r: Request): Buffer {
  return Buffer.from(encode(Writer.create(), CRIU_REQ, r as unknown as Record<string, unknown>, 'criu_req').finish());
}

/** A response as a plain object: fields CRIU did not send are absent. */
export function decodeResponse(b: Buffer): Response {
  const r = Reader.create(b);
  return decode(r, CRIU_RESP, r.len, 'criu_resp') as unknown as Response;
}
