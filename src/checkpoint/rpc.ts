// CRIU's RPC messages (the criu_req / criu_resp of `criu swrk`), declared here with
// the fields berth uses: names and numbers as CRIU's rpc.proto has them, a proto2
// schema, so a field left out is absent on the wire. Encoded by protobufjs.
//
// This file is bundled on its own (dist/criu-rpc.js, with protobufjs): only
// checkpoint and restore load it (see ./criu.ts), no other command pays for it.
import { Root, type Type } from 'protobufjs/light';

const opt = (type: string, id: number) => ({ type, id });
const rep = (type: string, id: number) => ({ rule: 'repeated', type, id });
const req = (type: string, id: number) => ({ rule: 'required', type, id });

const root = Root.fromJSON({
  nested: {
    criu_req_type: {
      values: { EMPTY: 0, DUMP: 1, RESTORE: 2, CHECK: 3, PRE_DUMP: 4, PAGE_SERVER: 5, NOTIFY: 6, CPUINFO_DUMP: 7, CPUINFO_CHECK: 8, FEATURE_CHECK: 9, VERSION: 10 },
    },
    criu_cg_mode: { values: { IGNORE: 0, CG_NONE: 1, PROPS: 2, SOFT: 3, FULL: 4, STRICT: 5, DEFAULT: 6 } },
    criu_page_server_info: { fields: { address: opt('string', 1), port: opt('int32', 2), pid: opt('int32', 3), fd: opt('int32', 4) } },
    ext_mount_map: { fields: { key: req('string', 1), val: req('string', 2) } },
    join_namespace: { fields: { ns: req('string', 1), ns_file: req('string', 2), extra_opt: opt('string', 3) } },
    inherit_fd: { fields: { key: req('string', 1), fd: req('int32', 2) } },
    cgroup_root: { fields: { ctrl: opt('string', 1), path: req('string', 2) } },
    criu_opts: {
      fields: {
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
        ps: opt('criu_page_server_info', 11),
        notify_scripts: opt('bool', 12),
        root: opt('string', 13),
        parent_img: opt('string', 14),
        track_mem: opt('bool', 15),
        auto_dedup: opt('bool', 16),
        work_dir_fd: opt('int32', 17),
        link_remap: opt('bool', 18),
        ext_mnt: rep('ext_mount_map', 23),
        manage_cgroups: opt('bool', 24),
        cg_root: rep('cgroup_root', 25),
        rst_sibling: opt('bool', 26),
        inherit_fd: rep('inherit_fd', 27),
        manage_cgroups_mode: opt('criu_cg_mode', 34),
        external: rep('string', 37),
        empty_ns: opt('uint32', 38),
        join_ns: rep('join_namespace', 39),
        freeze_cgroup: opt('string', 44),
        tcp_skip_in_flight: opt('bool', 46),
        lazy_pages: opt('bool', 48),
        status_fd: opt('int32', 49),
        orphan_pts_master: opt('bool', 50),
        config_file: opt('string', 51),
        lsm_profile: opt('string', 53),
        lsm_mount_context: opt('string', 63),
      },
    },
    criu_features: { fields: { mem_track: opt('bool', 1), lazy_pages: opt('bool', 2), pidfd_store: opt('bool', 3) } },
    criu_dump_resp: { fields: { restored: opt('bool', 1) } },
    criu_restore_resp: { fields: { pid: req('int32', 1) } },
    criu_notify: { fields: { script: opt('string', 1), pid: opt('int32', 2) } },
    criu_version: {
      fields: {
        major_number: req('int32', 1), minor_number: req('int32', 2), gitid: opt('string', 3),
        sublevel: opt('int32', 4), extra: opt('int32', 5), name: opt('string', 6),
      },
    },
    criu_req: {
      fields: {
        type: req('criu_req_type', 1),
        opts: opt('criu_opts', 2),
        notify_success: opt('bool', 3),
        keep_open: opt('bool', 4),
        features: opt('criu_features', 5),
      },
    },
    criu_resp: {
      fields: {
        type: req('criu_req_type', 1),
        success: req('bool', 2),
        dump: opt('criu_dump_resp', 3),
        restore: opt('criu_restore_resp', 4),
        notify: opt('criu_notify', 5),
        ps: opt('criu_page_server_info', 6),
        cr_errno: opt('int32', 7),
        features: opt('criu_features', 8),
        cr_errmsg: opt('string', 9),
        version: opt('criu_version', 10),
        status: opt('int32', 11),
      },
    },
  },
});

const reqType = root.lookupType('criu_req');
const respType = root.lookupType('criu_resp');

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
  const err = reqType.verify(r);
  if (err) throw new Error(`criu_req: ${err}`);
  return Buffer.from(reqType.encode(r).finish());
}

/** A response as a plain object: fields CRIU did not send are absent. */
export function decodeResponse(b: Buffer): Response {
  return (respType as Type).toObject(respType.decode(b), { defaults: false }) as Response;
}
