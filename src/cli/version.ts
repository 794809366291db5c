// `berth --version`: three lines, `<name> version X`, `commit: C`, `spec: S`, the
// shape runc printed before it added go/libseccomp lines. containerd's go-runc
// has had two parsers: the older one demands exactly these three lines, each
// split once on "version " or ": "; the newer one takes any lines and fills
// its fields only when the first says "runc version" (for crun, youki and berth
// it returns an empty version and no error). Three lines satisfy both.
import { writeOut } from './output';

declare const BERTH_VERSION: string;
declare const BERTH_COMMIT: string;

export function printVersion(): void {
  const version = typeof BERTH_VERSION === 'string' ? BERTH_VERSION : '0.0.0-dev';
  const commit = typeof BERTH_COMMIT === 'string' ? BERTH_COMMIT : 'none';
  writeOut(`berth version ${version}\ncommit: ${commit}\nspec: 1.3.0\n`);
}
