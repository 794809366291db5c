// The items and framing of the plan message (addon/message/plan.def). The encoder
// of its records is generated from that declaration (./generated.ts).

export type U64 = number | bigint;

/**
 * Writes items into one growing buffer (a plan has hundreds of them: a Buffer
 * and a concat per item cost more than the rest of planning). A CLI call runs
 * this once, in V8's interpreter, where each layer of JavaScript costs: numbers go
 * through a DataView (V8's own code) rather than Buffer's checked writers, and
 * strings through Buffer's utf8Write, which buf.write ends in after its argument
 * checks (each ~1 us less per item here: 1.2 -> 0.3 ms for a default plan). No
 * other Buffer method either: each costs on its first call in a process (the header's
 * write, writeUInt32LE and subarray ~0.45 ms of CPU together).
 */
class Items {
  protected buf!: Buffer & { utf8Write(s: string, offset: number): number };
  protected view!: DataView;
  protected at: number;

  constructor(headBytes: number, capacity: number) {
    this.use(Buffer.allocUnsafe(capacity));
    this.at = headBytes;
  }

  private use(b: Buffer): void {
    this.buf = b as Items['buf'];
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  protected room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const b = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.at + n));
    this.buf.copy(b, 0, 0, this.at);
    this.use(b);
  }

  protected u32(v: number, at: number): void {
    this.view.setUint32(at, v, true);
  }

  u64(v: U64): void {
    this.room(9);
    this.buf[this.at] = 1;
    if (typeof v === 'number' && v >= 0 && Number.isSafeInteger(v)) {
      this.view.setUint32(this.at + 1, v % 0x1_0000_0000, true);
      this.view.setUint32(this.at + 5, Math.floor(v / 0x1_0000_0000), true);
    } else {
      this.view.setBigUint64(this.at + 1, BigInt.asUintN(64, BigInt(v)), true);
    }
    this.at += 9;
  }

  i64(v: number): void {
    this.u64(BigInt(v));
  }

  bool(v: boolean): void {
    this.u64(v ? 1 : 0);
  }

  /** A string: NUL-terminated, none inside. */
  str(s: string): void {
    if (s.includes('\0')) throw new Error(`a string for berth-init contains a NUL byte: ${JSON.stringify(s)}`);
    this.room(6 + 3 * s.length); // a UTF-16 unit is at most 3 bytes of UTF-8
    const n = this.buf.utf8Write(s, this.at + 5);
    this.buf[this.at] = 2;
    this.u32(n, this.at + 1);
    this.buf[this.at + 5 + n] = 0;
    this.at += 6 + n;
  }

  /** Raw bytes, any value. */
  bytes(v: Buffer): void {
    this.room(5 + v.length);
    this.buf[this.at] = 3;
    this.u32(v.length, this.at + 1);
    v.copy(this.buf, this.at + 5);
    this.at += 5 + v.length;
  }

  /** What was written: Uint8Array's own subarray, a Buffer too (by its species). */
  protected written(): Buffer {
    return Uint8Array.prototype.subarray.call(this.buf, 0, this.at) as Buffer;
  }

  strs(v: string[]): void {
    this.u64(v.length);
    for (const s of v) this.str(s);
  }
}

/** The plan: a 16-byte header, then records (u16 type, 2 bytes 0, u32 length, items). */
export class Writer extends Items {
  private count = 0;
  private recAt = 0;

  constructor() {
    super(16, 16384);
  }

  begin(type: number): void {
    this.room(8);
    this.recAt = this.at;
    this.u32(type, this.at); // u16 type, then 2 bytes 0
    this.at += 8;
  }

  end(): void {
    this.u32(this.at - this.recAt - 8, this.recAt + 4);
    this.count++;
  }

  finish(version: number, maxBytes: number): Buffer {
    if (this.at > maxBytes) throw new Error(`the plan is too large (${this.at} bytes)`);
    this.u32(0x50545242, 0); // "BRTP"
    this.u32(version, 4);
    this.u32(this.at, 8);
    this.u32(this.count, 12);
    return this.written();
  }
}

/** Reads the items of a sync message payload (numbers come back as bigint). */
export function decodeItems(b: Buffer): (bigint | string | Buffer)[] {
  const out: (bigint | string | Buffer)[] = [];
  // A DataView, not Buffer's readers (see Items).
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let i = 0;
  while (i < b.length) {
    if (b[i] === 1) {
      out.push(view.getBigUint64(i + 1, true));
      i += 9;
    } else if (b[i] === 2) {
      const n = view.getUint32(i + 1, true);
      // utf8Slice: toString's JavaScript costs ~0.2 ms of CPU on its first call.
      out.push((b as Buffer & { utf8Slice(start: number, end: number): string }).utf8Slice(i + 5, i + 5 + n));
      i += 6 + n;
    } else if (b[i] === 3) {
      const n = view.getUint32(i + 1, true);
      out.push(Uint8Array.prototype.subarray.call(b, i + 5, i + 5 + n) as Buffer);
      i += 5 + n;
    } else {
      throw new Error('malformed message from berth-init');
    }
  }
  return out;
}

/** The little-endian u32 at `at` (a message header's type and length), without Buffer's readers (see Items). */
export function u32At(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16)) + b[at + 3] * 0x100_0000;
}

/** A sync message to berth-init: u32 type, u32 length, string items. */
export function encodeMessage(type: number, ...items: string[]): Buffer {
  const w = new MessageWriter();
  for (const s of items) w.str(s);
  return w.finish(type);
}

class MessageWriter extends Items {
  constructor() {
    super(8, 512);
  }

  finish(type: number): Buffer {
    this.u32(type, 0);
    this.u32(this.at - 8, 4);
    return this.written();
  }
}
