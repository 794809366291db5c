// A minimal, synchronous D-Bus client: enough of the wire protocol to call
// systemd's manager on the system bus and wait for its JobRemoved signal.
//
// Why our own (some 300 lines) rather than an npm library or sd-bus: the npm
// clients (dbus-next, @homebridge/dbus-native) are asynchronous only, pull in
// xml2js, event-stream, long and more, and are maintained sporadically; sd-bus
// would tie the addon to libsystemd, which Debian ships only as a shared library
// (berth's addon links its C dependencies statically). The few signatures systemd
// needs (strings, integers, arrays, structs, variants) marshal in a page of code,
// and a synchronous client keeps berth's create/delete/update paths synchronous,
// as they are for cgroupfs. Only `--systemd-cgroup` loads this module.
//
// Messages are marshalled little-endian; replies are read in either byte order.
// Authentication is SASL EXTERNAL (the kernel tells the bus our uid).
import { closeSync, readSync, writeSync } from 'node:fs';
import { native } from '../../native/addon';
import { readKernelFile } from '../../state/proc';

/** A D-Bus value as JS holds it: y n q i u -> number, x t -> bigint (numbers accepted when
 * writing), b -> boolean, s o g -> string, a -> array (a{..}: array of [key, value]),
 * (..) -> array of fields, v -> [signature, value]. */
export type Value = number | bigint | boolean | string | Value[] | [string, Value];

export class DBusError extends Error {
  constructor(
    override readonly name: string,
    message: string,
  ) {
    super(message);
  }
}

/** Raised when the other side does not answer in time. */
export class DBusTimeout extends Error {}

const ALIGN: Record<string, number> = { y: 1, b: 4, n: 2, q: 2, i: 4, u: 4, x: 8, t: 8, d: 8, s: 4, o: 4, g: 1, a: 4, '(': 8, '{': 8, v: 1, h: 4 };

/** The end of the single complete type starting at sig[i]. */
function typeEnd(sig: string, i: number): number {
  const c = sig[i];
  if (c === 'a') return typeEnd(sig, i + 1);
  if (c === '(' || c === '{') {
    const close = c === '(' ? ')' : '}';
    let j = i + 1;
    while (sig[j] !== close) {
      if (j >= sig.length) throw new Error(`bad D-Bus signature ${sig}`);
      j = typeEnd(sig, j);
    }
    return j + 1;
  }
  if (!(c in ALIGN)) throw new Error(`bad D-Bus signature ${sig}`);
  return i + 1;
}

/** The complete types of a signature, e.g. "sa(sv)" -> ["s", "a(sv)"]. */
export function splitSignature(sig: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < sig.length; ) {
    const e = typeEnd(sig, i);
    out.push(sig.slice(i, e));
    i = e;
  }
  return out;
}

// The fixed-size basic types: their size (and alignment) and Buffer's accessor for them.
const FIXED: Record<string, [number, 'Int16' | 'UInt16' | 'Int32' | 'UInt32' | 'BigInt64' | 'BigUInt64' | 'Double']> = {
  n: [2, 'Int16'], q: [2, 'UInt16'], i: [4, 'Int32'], u: [4, 'UInt32'], h: [4, 'UInt32'], x: [8, 'BigInt64'], t: [8, 'BigUInt64'], d: [8, 'Double'],
};

class Writer {
  private buf = Buffer.alloc(256);
  len = 0;

  constructor(private readonly base = 0) {}

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const b = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(b, 0, 0, this.len);
    this.buf = b;
  }
  pad(n: number): void {
    const at = (this.base + this.len) % n;
    if (at) {
      this.room(n - at);
      this.buf.fill(0, this.len, this.len + n - at);
      this.len += n - at;
    }
  }
  u8(v: number): void {
    this.room(1);
    this.buf.writeUInt8(v, this.len++);
  }
  u32(v: number): void {
    this.pad(4);
    this.room(4);
    this.buf.writeUInt32LE(v, this.len);
    this.len += 4;
  }
  bytes(b: Buffer): void {
    this.room(b.length);
    b.copy(this.buf, this.len);
    this.len += b.length;
  }
  done(): Buffer {
    return this.buf.subarray(0, this.len);
  }

  value(sig: string, v: Value): void {
    const c = sig[0];
    switch (c) {
      case 'y': return this.u8(Number(v));
      case 'b': return this.u32(v ? 1 : 0);
      case 'n': case 'q': case 'i': case 'u': case 'h': case 'x': case 't': case 'd': {
        const [n, kind] = FIXED[c];
        this.pad(n);
        this.room(n);
        const write = this.buf[`write${kind}LE`] as (v: number | bigint, at: number) => number;
        write.call(this.buf, kind.startsWith('Big') ? BigInt(v as number | bigint) : Number(v), this.len);
        this.len += n;
        return;
      }
      case 's': case 'o': {
        const b = Buffer.from(String(v), 'utf8');
        this.u32(b.length);
        this.bytes(b);
        return this.u8(0);
      }
      case 'g': {
        const b = Buffer.from(String(v), 'latin1');
        this.u8(b.length);
        this.bytes(b);
        return this.u8(0);
      }
      case 'v': {
        const [vs, vv] = v as [string, Value];
        this.value('g', vs);
        return this.value(vs, vv);
      }
      case 'a': {
        const elem = sig.slice(1, typeEnd(sig, 1));
        this.u32(0);
        const lenAt = this.len - 4;
        this.pad(ALIGN[elem[0]]);
        const start = this.len;
        for (const e of v as Value[]) this.value(elem, e);
        this.buf.writeUInt32LE(this.len - start, lenAt);
        return;
      }
      case '(': case '{': {
        this.pad(8);
        const fields = splitSignature(sig.slice(1, typeEnd(sig, 0) - 1));
        const vs = v as Value[];
        if (vs.length !== fields.length) throw new Error(`D-Bus struct ${sig}: ${vs.length} values for ${fields.length} fields`);
        fields.forEach((f, i) => this.value(f, vs[i]));
        return;
      }
      default:
        throw new Error(`D-Bus type ${c} is not supported`);
    }
  }
}

class Reader {
  off: number;
  constructor(
    private readonly buf: Buffer,
    private readonly le: boolean,
    start = 0,
  ) {
    this.off = start;
  }
  pad(n: number): void {
    this.off += (n - (this.off % n)) % n;
  }
  u32(): number {
    this.pad(4);
    const v = this.le ? this.buf.readUInt32LE(this.off) : this.buf.readUInt32BE(this.off);
    this.off += 4;
    return v;
  }
  value(sig: string): Value {
    const c = sig[0];
    const b = this.buf;
    const le = this.le;
    switch (c) {
      case 'y': return b.readUInt8(this.off++);
      case 'b': return this.u32() !== 0;
      case 'n': case 'q': case 'i': case 'u': case 'h': case 'x': case 't': case 'd': {
        const [n, kind] = FIXED[c];
        this.pad(n);
        const read = b[`read${kind}${le ? 'LE' : 'BE'}`] as (at: number) => number | bigint;
        const v = read.call(b, this.off);
        this.off += n;
        return v;
      }
      case 's': case 'o': {
        const n = this.u32();
        const s = b.toString('utf8', this.off, this.off + n);
        this.off += n + 1;
        return s;
      }
      case 'g': {
        const n = b.readUInt8(this.off++);
        const s = b.toString('latin1', this.off, this.off + n);
        this.off += n + 1;
        return s;
      }
      case 'v': {
        const vs = this.value('g') as string;
        return [vs, this.value(vs)];
      }
      case 'a': {
        const elem = sig.slice(1, typeEnd(sig, 1));
        const n = this.u32();
        this.pad(ALIGN[elem[0]]);
        const end = this.off + n;
        const out: Value[] = [];
        while (this.off < end) out.push(this.value(elem));
        return out;
      }
      case '(': case '{': {
        this.pad(8);
        return splitSignature(sig.slice(1, typeEnd(sig, 0) - 1)).map((f) => this.value(f));
      }
      default:
        throw new Error(`D-Bus type ${c} is not supported`);
    }
  }
}

export interface Message {
  type: number;
  serial: number;
  path?: string;
  iface?: string;
  member?: string;
  errorName?: string;
  replySerial?: number;
  sender?: string;
  signature: string;
  body: Value[];
}

const CALL = 1;
const RETURN = 2;
const ERROR = 3;
export const SIGNAL = 4;
// header field codes
const F = { path: 1, iface: 2, member: 3, errorName: 4, replySerial: 5, destination: 6, sender: 7, signature: 8 } as const;

/** A method call as bytes (for tests, and the connection below). */
export function encodeCall(serial: number, dest: string, path: string, iface: string, member: string, sig = '', args: Value[] = []): Buffer {
  const body = new Writer();
  const types = splitSignature(sig);
  if (types.length !== args.length) throw new Error(`D-Bus call ${member}: ${args.length} arguments for signature ${sig}`);
  types.forEach((t, i) => body.value(t, args[i]));
  const h = new Writer();
  const fields: Value[] = [[F.path, ['o', path]], [F.iface, ['s', iface]], [F.member, ['s', member]], [F.destination, ['s', dest]]];
  if (sig) fields.push([F.signature, ['g', sig]]);
  h.u8(0x6c); // 'l'
  h.u8(CALL);
  h.u8(0);
  h.u8(1);
  h.u32(body.len);
  h.u32(serial);
  h.value('a(yv)', fields);
  h.pad(8);
  h.bytes(body.done());
  return h.done();
}

/** The length of the message at the start of buf, once its fixed header is there. */
function messageLength(buf: Buffer): number | undefined {
  if (buf.length < 16) return undefined;
  const le = buf[0] === 0x6c;
  const bodyLen = le ? buf.readUInt32LE(4) : buf.readUInt32BE(4);
  const fieldsLen = le ? buf.readUInt32LE(12) : buf.readUInt32BE(12);
  return 16 + fieldsLen + ((8 - (fieldsLen % 8)) % 8) + bodyLen;
}

export function decodeMessage(buf: Buffer): Message {
  if (buf[0] !== 0x6c && buf[0] !== 0x42) throw new Error('D-Bus message with an unknown byte order');
  const le = buf[0] === 0x6c;
  const r = new Reader(buf, le, 4);
  const bodyLen = r.u32();
  const m: Message = { type: buf[1], serial: r.u32(), signature: '', body: [] };
  for (const [code, [, v]] of r.value('a(yv)') as [number, [string, Value]][]) {
    if (code === F.path) m.path = v as string;
    else if (code === F.iface) m.iface = v as string;
    else if (code === F.member) m.member = v as string;
    else if (code === F.errorName) m.errorName = v as string;
    else if (code === F.replySerial) m.replySerial = v as number;
    else if (code === F.sender) m.sender = v as string;
    else if (code === F.signature) m.signature = v as string;
  }
  r.pad(8);
  const body = new Reader(buf.subarray(r.off, r.off + bodyLen), le);
  m.body = splitSignature(m.signature).map((t) => body.value(t));
  return m;
}

/** The unix socket path of the system bus (DBUS_SYSTEM_BUS_ADDRESS, as libdbus and sd-bus take it). */
export function systemBusPath(env = process.env): string {
  return unixPath('DBUS_SYSTEM_BUS_ADDRESS', env) ?? '/run/dbus/system_bus_socket';
}

/** The unix socket path of the user's session bus (DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/bus, as sd-bus). */
export function sessionBusPath(env = process.env): string {
  const path = unixPath('DBUS_SESSION_BUS_ADDRESS', env) ?? (env.XDG_RUNTIME_DIR && `${env.XDG_RUNTIME_DIR}/bus`);
  if (!path) throw new Error('neither DBUS_SESSION_BUS_ADDRESS nor XDG_RUNTIME_DIR is set');
  return path;
}

function unixPath(variable: string, env: NodeJS.ProcessEnv): string | undefined {
  const addr = env[variable];
  if (!addr) return undefined;
  for (const a of addr.split(';')) {
    const m = /^unix:(.*)$/.exec(a);
    const path = m?.[1].split(',').find((kv) => kv.startsWith('path='));
    if (path) return decodeURIComponent(path.slice(5));
  }
  throw new Error(`${variable}=${addr}: no unix:path= address`);
}

/**
 * The uid the bus sees (it takes it from the socket): ours, or in a user
 * namespace (rootless podman runs the runtime as its root) the outside uid ours
 * is mapped to, as /proc/self/uid_map says.
 */
export function busUid(uidMap = () => readKernelFile('/proc/self/uid_map')): number {
  const uid = process.getuid?.() ?? 0;
  let map: string;
  try {
    map = uidMap();
  } catch {
    return uid;
  }
  for (const line of map.split('\n')) {
    const [inside, outside, count] = line.trim().split(/\s+/).map(Number);
    if (count > 0 && uid >= inside && uid < inside + count) return outside + (uid - inside);
  }
  return uid;
}

export class Connection {
  private fd: number;
  private serial = 0;
  private inbuf = Buffer.alloc(0);
  /** Signals read while waiting for something else. */
  private signals: Message[] = [];
  readonly uniqueName: string;

  /** Connects and authenticates; every wait ends by the deadline (ms since the epoch). */
  constructor(
    readonly path: string,
    private readonly deadline: () => number,
  ) {
    this.fd = native().connectUnix(path);
    try {
      this.write(Buffer.from(`\0AUTH EXTERNAL ${Buffer.from(String(busUid())).toString('hex')}\r\n`, 'latin1'));
      const line = this.readLine();
      if (!line.startsWith('OK ')) throw new DBusError('org.freedesktop.DBus.Error.AuthFailed', `the bus refused EXTERNAL authentication: ${line.trim()}`);
      this.write(Buffer.from('BEGIN\r\n', 'latin1'));
      this.uniqueName = this.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'Hello')[0] as string;
    } catch (e) {
      this.close();
      throw e;
    }
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  private write(b: Buffer): void {
    for (let off = 0; off < b.length; ) off += writeSync(this.fd, b, off);
  }

  /** Reads more bytes into inbuf, waiting no later than the deadline. */
  private fill(): void {
    const left = this.deadline() - Date.now();
    if (left <= 0 || !native().waitFd(this.fd, false, left)) throw new DBusTimeout('no answer in time');
    const b = Buffer.alloc(65536);
    let n: number;
    try {
      n = readSync(this.fd, b, 0, b.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN' || (e as NodeJS.ErrnoException).code === 'EINTR') return;
      throw e;
    }
    if (n === 0) throw new DBusError('org.freedesktop.DBus.Error.Disconnected', 'the bus closed the connection');
    this.inbuf = Buffer.concat([this.inbuf, b.subarray(0, n)]);
  }

  private readLine(): string {
    for (;;) {
      const i = this.inbuf.indexOf('\r\n');
      if (i >= 0) {
        const line = this.inbuf.toString('latin1', 0, i);
        this.inbuf = this.inbuf.subarray(i + 2);
        return line;
      }
      this.fill();
    }
  }

  private next(): Message {
    for (;;) {
      const n = messageLength(this.inbuf);
      if (n !== undefined && this.inbuf.length >= n) {
        const m = decodeMessage(this.inbuf.subarray(0, n));
        this.inbuf = this.inbuf.subarray(n);
        return m;
      }
      this.fill();
    }
  }

  /** Calls a method and returns its reply's body; an error reply throws DBusError. */
  call(dest: string, path: string, iface: string, member: string, sig = '', args: Value[] = []): Value[] {
    const serial = ++this.serial;
    this.write(encodeCall(serial, dest, path, iface, member, sig, args));
    for (;;) {
      const m = this.next();
      if (m.type === SIGNAL) this.signals.push(m);
      if ((m.type !== RETURN && m.type !== ERROR) || m.replySerial !== serial) continue;
      if (m.type === ERROR) throw new DBusError(m.errorName ?? 'unknown', typeof m.body[0] === 'string' ? m.body[0] : m.errorName ?? 'error');
      return m.body;
    }
  }

  /** The first signal (queued or new) that matches, taken off the queue. */
  waitSignal(match: (m: Message) => boolean): Message {
    for (;;) {
      const i = this.signals.findIndex(match);
      if (i >= 0) return this.signals.splice(i, 1)[0];
      const m = this.next();
      if (m.type === SIGNAL) this.signals.push(m);
    }
  }
}
