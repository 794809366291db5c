// linux.resources.devices on cgroup v2: there is no devices.allow file, so the
// rules become a BPF_PROG_TYPE_CGROUP_DEVICE program, attached to the container's
// cgroup by the addon (attachDeviceFilter, which also detaches what was there).
//
// The program sees { u32 access_type (access << 16 | type); u32 major; u32 minor }
// and returns 1 (allow) or 0 (deny). It decides as the v1 devices cgroup would
// after the same rules were written to devices.allow/deny in order (as runc's
// emulator does): an "all" rule sets the default and clears the exceptions;
// another rule adds an exception to the default (merged into one with the same
// type, major and minor, so allowing r then w allows rw) or takes access off an
// exception with exactly its key. With deny as the default a request is allowed
// when one exception grants all of it; with allow, denied when one names any of it.
import type { DeviceRule } from './placement';

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

interface Exception { type: number; major: number; minor: number; access: number } // -1: any major/minor

/** The v1 devices cgroup's state after the rules: its default and the exceptions to it. */
export function emulateV1(rules: DeviceRule[]): { allowAll: boolean; exceptions: Exception[] } {
  let allowAll = false;
  let exceptions: Exception[] = [];
  for (const r of rules) {
    if (!r.type || r.type === 'a') {
      allowAll = r.allow;
      exceptions = [];
      continue;
    }
    const key = { type: TYPE[r.type], major: r.major ?? -1, minor: r.minor ?? -1 };
    const same = exceptions.find((e) => e.type === key.type && e.major === key.major && e.minor === key.minor);
    const acc = accessBits(r.access);
    if (r.allow !== allowAll) {
      if (same) same.access |= acc;
      else exceptions.push({ ...key, access: acc });
    } else if (same) {
      same.access &= ~acc;
      if (!same.access) exceptions = exceptions.filter((e) => e !== same);
    }
  }
  return { allowAll, exceptions };
}

/** The program's instructions for the rules, in the kernel's layout. */
export function deviceFilterProgram(rules: DeviceRule[]): Buffer {
  const { allowAll, exceptions } = emulateV1(rules);
  // r2 = type, r3 = access, r4 = major, r5 = minor
  const prog: Insn[] = [
    I(LDX_W, 2, 1, 0, 0), I(AND32_K, 2, 0, 0, 0xffff),
    I(LDX_W, 3, 1, 0, 0), I(RSH32_K, 3, 0, 0, 16),
    I(LDX_W, 4, 1, 4, 0), I(LDX_W, 5, 1, 8, 0),
  ];
  for (const e of exceptions) {
    const block: Insn[] = [];
    const skips: number[] = []; // jumps to the end of this block
    const jne = (reg: number, v: number) => {
      skips.push(block.length);
      block.push(I(JNE_K, reg, 0, 0, v));
    };
    jne(2, e.type);
    if (e.major >= 0) jne(4, e.major);
    if (e.minor >= 0) jne(5, e.minor);
    block.push(I(MOV64_X, 6, 3, 0, 0));
    if (!allowAll) {
      // allowed when the exception grants every asked-for bit: (access & ~acc) == 0
      block.push(I(AND32_K, 6, 0, 0, ~e.access & 7));
      jne(6, 0);
    } else {
      // denied when it names any asked-for bit: (access & acc) != 0
      block.push(I(AND32_K, 6, 0, 0, e.access));
      skips.push(block.length);
      block.push(I(JEQ_K, 6, 0, 0, 0));
    }
    block.push(I(MOV64_K, 0, 0, 0, allowAll ? 0 : 1), I(EXIT, 0, 0, 0, 0));
    for (const at of skips) block[at].off = block.length - at - 1;
    prog.push(...block);
  }
  prog.push(I(MOV64_K, 0, 0, 0, allowAll ? 1 : 0), I(EXIT, 0, 0, 0, 0));
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

/** What the program decides, for tests: the same state evaluated in TypeScript. */
export function deviceAllowed(rules: DeviceRule[], type: 'b' | 'c', major: number, minor: number, access: string): boolean {
  const want = accessBits(access);
  const { allowAll, exceptions } = emulateV1(rules);
  const matching = exceptions.filter((e) => e.type === TYPE[type] && (e.major < 0 || e.major === major) && (e.minor < 0 || e.minor === minor));
  return allowAll ? !matching.some((e) => (want & e.access) !== 0) : matching.some((e) => (want & ~e.access) === 0);
}
