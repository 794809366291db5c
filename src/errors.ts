// One error type for everything berth reports. The message is the single line a
// user (or an engine reading our log) sees: the step that failed, the config field
// involved and the cause.
export class BerthError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'BerthError';
  }
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
