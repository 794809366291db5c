// A minimal Kubernetes CRI (runtime.v1) client for the engine tests: gRPC is
// HTTP/2 with length-prefixed protobuf messages, so node:http2 and a few lines of
// protobuf encoding stand in for crictl (not packaged for Debian 12) without adding
// a dependency. Only what the tests send and read is covered; field numbers are
// those of k8s.io/cri-api's api.proto.
import { connect as http2Connect, type ClientHttp2Session } from 'node:http2';
import { connect as netConnect } from 'node:net';

/** An encoded protobuf field (or several, concatenated). */
export type Field = Buffer;

function varint(n: number | bigint): Buffer {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return Buffer.from(out);
}

const key = (field: number, wire: number) => varint((field << 3) | wire);

export const pb = {
  str: (field: number, s: string | Buffer): Field => {
    const b = Buffer.isBuffer(s) ? s : Buffer.from(s);
    return Buffer.concat([key(field, 2), varint(b.length), b]);
  },
  int: (field: number, n: number | bigint): Field => Buffer.concat([key(field, 0), varint(n)]),
  msg: (field: number, ...parts: Field[]): Field => pb.str(field, Buffer.concat(parts)),
  strs: (field: number, list: string[]): Field => Buffer.concat(list.map((s) => pb.str(field, s))),
  map: (field: number, m: Record<string, string>): Field =>
    Buffer.concat(Object.entries(m).map(([k, v]) => pb.msg(field, pb.str(1, k), pb.str(2, v)))),
};

/** The top-level fields of a message: varints as bigint, length-delimited as Buffer (last one wins). */
export function decode(buf: Buffer): Map<number, bigint | Buffer> {
  const out = new Map<number, bigint | Buffer>();
  let i = 0;
  const readVarint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const b = buf[i++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
  };
  while (i < buf.length) {
    const k = Number(readVarint());
    const field = k >> 3;
    switch (k & 7) {
      case 0:
        out.set(field, readVarint());
        break;
      case 2: {
        const len = Number(readVarint());
        out.set(field, buf.subarray(i, i + len));
        i += len;
        break;
      }
      case 1:
        i += 8;
        break;
      case 5:
        i += 4;
        break;
      default:
        throw new Error(`protobuf: wire type ${k & 7} not handled`);
    }
  }
  return out;
}

export class CriClient {
  private session: ClientHttp2Session;

  constructor(socket: string) {
    this.session = http2Connect('http://localhost', { createConnection: () => netConnect(socket) });
    this.session.on('error', () => {
      // surfaced by the pending call
    });
  }

  /** One unary call, e.g. call('RuntimeService', 'RunPodSandbox', request); rejects on a non-OK gRPC status. */
  call(service: 'RuntimeService' | 'ImageService', method: string, request: Field = Buffer.alloc(0)): Promise<Map<number, bigint | Buffer>> {
    return new Promise((resolve, reject) => {
      const req = this.session.request({
        ':method': 'POST',
        ':path': `/runtime.v1.${service}/${method}`,
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      const chunks: Buffer[] = [];
      let status: string | undefined;
      let message = '';
      const takeStatus = (h: Record<string, unknown>) => {
        if (h['grpc-status'] !== undefined) {
          status = String(h['grpc-status']);
          message = decodeURIComponent(String(h['grpc-message'] ?? ''));
        }
      };
      req.on('response', takeStatus);
      req.on('trailers', takeStatus);
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('error', reject);
      req.on('end', () => {
        if (status !== '0') return reject(new Error(`${method}: gRPC status ${status}: ${message}`));
        const body = Buffer.concat(chunks);
        // One length-prefixed message: a compression flag byte, a 4-byte length, the bytes.
        resolve(decode(body.length >= 5 ? body.subarray(5, 5 + body.readUInt32BE(1)) : Buffer.alloc(0)));
      });
      const frame = Buffer.alloc(5);
      frame.writeUInt32BE(request.length, 1);
      req.end(Buffer.concat([frame, request]));
    });
  }

  close(): void {
    this.session.close();
  }
}
