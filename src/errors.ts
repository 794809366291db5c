// The errors berth reports. The message is the single line a user (or an engine
// reading our log) sees: the step that failed, the config field involved and the
// cause. The subclasses tell a program (src/lib/) what kind of failure it was;
// the CLI prints every one the same way.
export class BerthError extends Error {
  /** The config.json (or process.json) field involved, e.g. "linux.namespaces[1].path". */
  readonly field?: string;
  /** The errno code of the system call that failed, e.g. "ENOENT", where known. */
  readonly code?: string;
  /** Its errno number, where known. */
  readonly errno?: number;
  constructor(
    message: string,
    readonly exitCode = 1,
    o: { field?: string; code?: string; errno?: number; cause?: unknown } = {},
  ) {
    super(message, o.cause === undefined ? undefined : { cause: o.cause });
    this.name = 'BerthError';
    if (o.field) this.field = o.field;
    if (o.code) this.code = o.code;
    if (o.errno) this.errno = o.errno;
  }
}

/** No container with the id under the runtime's root. */
export class NotFoundError extends BerthError {
  constructor(readonly id: string, message = `container ${id} does not exist`) {
    super(message);
    this.name = 'NotFoundError';
  }
}

/** A container with the id exists already (create, run, restore). */
export class ExistsError extends BerthError {
  constructor(readonly id: string) {
    super(`container with id ${id} already exists`);
    this.name = 'ExistsError';
  }
}

/** The container is in a state the operation does not apply to (start a running one, delete a running one). */
export class StateError extends BerthError {
  constructor(message: string, readonly id: string, readonly status: string) {
    super(message);
    this.name = 'StateError';
  }
}

/** config.json (or a process or resources document) is unreadable or invalid: `problems` lists every schema error. */
export class ConfigError extends BerthError {
  constructor(message: string, readonly problems: string[] = [], o: { field?: string; code?: string } = {}) {
    super(message, 1, o);
    this.name = 'ConfigError';
  }
}

/**
 * A step of setting up the container or a process failed (a field that cannot
 * be applied, a mount, a namespace, a hook): `step`, `field` and `code` say which
 * and why, as berth-init reported it.
 */
export class SetupError extends BerthError {
  constructor(message: string, readonly step: string, o: { field?: string; code?: string; errno?: number } = {}) {
    super(message, 1, o);
    this.name = 'SetupError';
  }
}

/** The errno code ("ENOENT") of an errno number, as berth-init reports them. */
export function errnoCode(errno: number): string | undefined {
  const { errno: table } = (require('node:os') as typeof import('node:os')).constants;
  for (const [code, n] of Object.entries(table)) if (n === errno) return code;
  return undefined;
}

/** Text for an errno code such as 'ENOENT', the way strerror(3) says it. */
export function errnoText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string' && ERRNO_TEXT[e.code]) return ERRNO_TEXT[e.code];
  // Node's own wording, "ECODE: description, syscall 'path'": the description.
  const m = typeof e?.message === 'string' ? /^E[A-Z0-9]+: ([^,]+)/.exec(e.message) : null;
  if (m) return m[1].charAt(0).toLowerCase() + m[1].slice(1);
  return e?.message ?? String(err);
}

/**
 * The single line any error ends a command with: a BerthError's message; a failed
 * system call as Go (and so runc) words it, "rmdir /run/berth/x: permission
 * denied"; the first line of anything else (never a stack trace).
 */
export function errorLine(err: unknown): string {
  if (err instanceof BerthError) return err.message;
  const e = err as NodeJS.ErrnoException & { dest?: string };
  if (e && typeof e.code === 'string' && typeof e.syscall === 'string') {
    return `${[e.syscall, e.path, e.dest].filter(Boolean).join(' ')}: ${errnoText(e)}`;
  }
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0];
}

const ERRNO_TEXT: Record<string, string> = {
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  ESRCH: 'no such process',
  EINTR: 'interrupted system call',
  EIO: 'input/output error',
  EBADF: 'bad file descriptor',
  EAGAIN: 'resource temporarily unavailable',
  ENOMEM: 'cannot allocate memory',
  EACCES: 'permission denied',
  EBUSY: 'device or resource busy',
  EEXIST: 'file exists',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  EINVAL: 'invalid argument',
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
  ENOSYS: 'function not implemented',
  ENOTEMPTY: 'directory not empty',
  ELOOP: 'too many levels of symbolic links',
  EXDEV: 'invalid cross-device link',
  ERANGE: 'numerical result out of range',
  EOPNOTSUPP: 'operation not supported',
  E2BIG: 'argument list too long',
};
