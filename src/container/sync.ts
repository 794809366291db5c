// The sync socket between berth and berth-init, read and written synchronously:
// messages are u32 type, u32 payload length, payload (addon/message/plan.def).
import { readSync, writeSync } from 'node:fs';
import { BerthError } from '../errors';
import { decodeItems } from '../plan/message';

export function writeAll(fd: number, b: Buffer): void {
  for (let off = 0; off < b.length; ) off += writeSync(fd, b, off);
}

function readFull(fd: number, n: number): Buffer | undefined {
  const b = Buffer.alloc(n);
  for (let off = 0; off < n; ) {
    let got: number;
    try {
      got = readSync(fd, b, off, n - off, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' || code === 'EINTR') continue;
      if (code === 'ECONNRESET') return undefined;
      throw e;
    }
    if (got === 0) return undefined;
    off += got;
  }
  return b;
}

/** One message, or undefined at EOF. */
export function readMessage(fd: number): { type: number; payload: Buffer } | undefined {
  const h = readFull(fd, 8);
  if (!h) return undefined;
  return { type: h.readUInt32LE(0), payload: readFull(fd, h.readUInt32LE(4)) ?? Buffer.alloc(0) };
}

/** The error berth-init reported (MSG_ERROR items), worded as Go (and so runc) words it. */
export function initError(payload: Buffer, prefix = ''): BerthError {
  const [step, field, , detail, text] = decodeItems(payload) as [string, string, bigint, string, string];
  const cause = [detail, text && text[0].toLowerCase() + text.slice(1)].filter(Boolean).join(': ');
  return new BerthError(`${prefix}${step}${field ? ` (${field})` : ''}: ${cause}`);
}
