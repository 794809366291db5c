// Writes straight to fd 1. process.stdout would load Node's stream machinery,
// which costs more than everything else `berth state` does.
import { writeSync } from 'node:fs';

export function writeOut(text: string): void {
  const b = Buffer.from(text);
  for (let off = 0; off < b.length; ) off += writeSync(1, b, off);
}
