// The items and framing of the plan message (addon/message/plan.def). The encoder
// of its records is generated from that declaration (./generated.ts).

export type U64 = number | bigint;

/** An item's head: its kind and length. */
function item(kind: number, len: number): Buffer {
  const b = Buffer.alloc(5);
  b[0] = kind;
  b.writeUInt32LE(len, 1);
  return b;
}

export function u64(v: U64): Buffer {
  const b = Buffer.alloc(9);
  b[0] = 1;
  b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)), 1);
  return b;
}

export const i64 = (v: number): Buffer => u64(BigInt(v));
export const bool = (v: boolean): Buffer => u64(v ? 1 : 0);

/** A string: NUL-terminated, none inside. */
export function str(s: string): Buffer {
  const t = Buffer.from(s, 'utf8');
  if (t.includes(0)) throw new Error(`a string for berth-init contains a NUL byte: ${JSON.stringify(s)}`);
  const b = item(2, t.length);
  return Buffer.concat([b, t, Buffer.alloc(1)]);
}

/** Raw bytes, any value. */
export function bytes(v: Buffer): Buffer {
  return Buffer.concat([item(3, v.length), v]);
}

export const strs = (v: string[]): Buffer => Buffer.concat([u64(v.length), ...v.map(str)]);

/** Collects records, then prefixes the header. */
export class Writer {
  private chunks: Buffer[] = [];
  private count = 0;
  private size = 16;

  rec(type: number, ...items: Buffer[]): void {
    const len = items.reduce((n, b) => n + b.length, 0);
    const h = Buffer.alloc(8);
    h.writeUInt16LE(type, 0);
    h.writeUInt32LE(len, 4);
    this.chunks.push(h, ...items);
    this.count++;
    this.size += 8 + len;
  }

  finish(version: number, maxBytes: number): Buffer {
    if (this.size > maxBytes) throw new Error(`the plan is too large (${this.size} bytes)`);
    const h = Buffer.alloc(16);
    h.write('BRTP', 0, 'latin1');
    h.writeUInt32LE(version, 4);
    h.writeUInt32LE(this.size, 8);
    h.writeUInt32LE(this.count, 12);
    return Buffer.concat([h, ...this.chunks]);
  }
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

/** A sync message to berth-init: u32 type, u32 length, string items. */
export function encodeMessage(type: number, ...items: string[]): Buffer {
  const body = Buffer.concat(items.map(str));
  const h = Buffer.alloc(8);
  h.writeUInt32LE(type, 0);
  h.writeUInt32LE(body.length, 4);
  return Buffer.concat([h, body]);
}
