// linux.resources.devices on cgroup v2: there is no devices.allow file, so the
// rules become a BPF_PROG_TYPE_CGROUP_DEVICE program, attached to the container's
// cgroup by the addon (attachDeviceFilter, which also detaches what was there).
//
// The program sees { u32 access_type (access << 16 | type); u32 major; u32 minor }
// and returns 1 (allow) or 0 (deny). As on v1, a later rule overrides an earlier
// one, so the rules are checked from the last to the first and the first that
// matches decides; nothing matching means deny. An allow rule matches when it
// grants every access asked for; a deny rule when it names any of them.
import type { DeviceRule } from './cgroups';

// struct bpf_insn: u8 code, u8 dst:4 | src:4 << 4, s16 off, s32 imm
const LDX_W = 0x61; // dst = *(u32 *)(src + off)
const AND32_K = 0x54;
const RSH32_K = 0x74;
const MOV64_X = 0xbf;
const MOV64_K = 0xb7;
const JNE_K = 0x55;
const JEQ_K = 0x15;
const EXIT = 0x95;

interface Insn { code: number; dst: number; src: number; off: number; imm: number }
const I = (code: number, dst: number, src: number, off: number, imm: number): Insn => ({ code, dst, src, off, imm });

const TYPE: Record<string, number> = { b: 1, c: 2 }; // BPF_DEVCG_DEV_BLOCK, _CHAR
const ACCESS: Record<string, number> = { m: 1, r: 2, w: 4 }; // BPF_DEVCG_ACC_MKNOD, _READ, _WRITE

function accessBits(a: string | undefined): number {
  let bits = 0;
  for (const ch of a || 'rwm') bits |= ACCESS[ch] ?? 0;
  return bits;
}

/** The program's instructions for the rules, in the kernel's layout. */
export function deviceFilterProgram(rules: DeviceRule[]): Buffer {
  // r2 = type, r3 = access, r4 = major, r5 = minor
  const prog: Insn[] = [
    I(LDX_W, 2, 1, 0, 0), I(AND32_K, 2, 0, 0, 0xffff),
    I(LDX_W, 3, 1, 0, 0), I(RSH32_K, 3, 0, 0, 16),
    I(LDX_W, 4, 1, 4, 0), I(LDX_W, 5, 1, 8, 0),
  ];
  for (const r of [...rules].reverse()) {
    const block: Insn[] = [];
    const skips: number[] = []; // jumps to the end of this block
    const jne = (reg: number, v: number) => {
      skips.push(block.length);
      block.push(I(JNE_K, reg, 0, 0, v));
    };
    if (r.type && r.type !== 'a') jne(2, TYPE[r.type]);
    if (r.major !== undefined && r.major >= 0) jne(4, r.major);
    if (r.minor !== undefined && r.minor >= 0) jne(5, r.minor);
    const acc = accessBits(r.access);
    if (r.allow && acc !== 7) {
      // every asked-for bit must be granted: (access & ~acc) == 0
      block.push(I(MOV64_X, 6, 3, 0, 0), I(AND32_K, 6, 0, 0, ~acc & 7));
      jne(6, 0);
    } else if (!r.allow && acc !== 7) {
      // any asked-for bit denied: (access & acc) != 0
      block.push(I(MOV64_X, 6, 3, 0, 0), I(AND32_K, 6, 0, 0, acc));
      skips.push(block.length);
      block.push(I(JEQ_K, 6, 0, 0, 0));
    }
    block.push(I(MOV64_K, 0, 0, 0, r.allow ? 1 : 0), I(EXIT, 0, 0, 0, 0));
    for (const at of skips) block[at].off = block.length - at - 1;
    prog.push(...block);
    // A rule that matches every request decides alone; the verifier refuses
    // instructions that can never run, so nothing may follow it.
    if (!skips.length) return encode(prog);
  }
  prog.push(I(MOV64_K, 0, 0, 0, 0), I(EXIT, 0, 0, 0, 0));
  return encode(prog);
}

function encode(prog: Insn[]): Buffer {
  const b = Buffer.alloc(prog.length * 8);
  prog.forEach((x, i) => {
    b.writeUInt8(x.code, i * 8);
    b.writeUInt8((x.dst & 0xf) | ((x.src & 0xf) << 4), i * 8 + 1);
    b.writeInt16LE(x.off, i * 8 + 2);
    b.writeInt32LE(x.imm, i * 8 + 4);
  });
  return b;
}

/** What the program decides, for tests: the same rules evaluated in TypeScript. */
export function deviceAllowed(rules: DeviceRule[], type: 'b' | 'c', major: number, minor: number, access: string): boolean {
  const want = accessBits(access);
  for (const r of [...rules].reverse()) {
    if (r.type && r.type !== 'a' && r.type !== type) continue;
    if (r.major !== undefined && r.major >= 0 && r.major !== major) continue;
    if (r.minor !== undefined && r.minor >= 0 && r.minor !== minor) continue;
    const acc = accessBits(r.access);
    if (r.allow ? (want & ~acc) !== 0 : (want & acc) === 0) continue;
    return r.allow;
  }
  return false;
}
