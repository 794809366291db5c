// Where CRIU is and whether it works on this host, for `features`. Only CRIU
// knows (a kernel may have every option and still fail it: this machine's
// "Unexpected rt vDSO area bounds"), so `criu check` is asked, once per boot and
// CRIU binary; the answer is kept under --root (`criu check` takes a second or
// two on a slow machine, `features` must not).
import { accessSync, constants as C, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { logDebug } from '../log/log';
import { writeAtomic } from '../state/store';
import { readKernelFile } from '../state/proc';

/** The criu executable as runc finds it (PATH), or in the sbin directories PATH may lack. */
export function findCriu(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const d of dirs) {
    const p = join(d, 'criu');
    try {
      accessSync(p, C.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

const CACHE_FILE = '@criu-check.json';

interface Verdict { key: string; ok: boolean; reason: string }

/** True when CRIU is installed and `criu check` passes on this kernel (reason says why not). */
export function checkpointSupport(root: string): { ok: boolean; reason: string } {
  const criu = findCriu();
  if (!criu) return { ok: false, reason: 'criu is not installed' };
  const st = statSync(criu);
  let boot = '';
  try {
    boot = readKernelFile('/proc/sys/kernel/random/boot_id').trim();
  } catch {
    // no boot id: cached for this binary only
  }
  const key = `${boot} ${criu} ${st.size} ${st.mtimeMs}`;
  const file = join(root, CACHE_FILE);
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as Verdict;
    if (v.key === key) return v;
  } catch {
    // not asked yet
  }
  const r = spawnSync(criu, ['check'], { encoding: 'utf8', timeout: 60_000 });
  const errors = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.split('\n').filter((l) => /Error/.test(l));
  const v: Verdict = { key, ok: r.status === 0, reason: r.status === 0 ? '' : (errors[0]?.trim() ?? `criu check: exit status ${r.status}`) };
  logDebug(`criu check: ${v.ok ? 'works' : v.reason}`);
  try {
    mkdirSync(root, { recursive: true, mode: 0o711 });
    writeAtomic(file, JSON.stringify(v));
  } catch {
    // a root we cannot write: asked again next time
  }
  return v;
}
