// `berth --version`, in the shape go-runc's parser reads (containerd, podman info):
//   runc version 1.1.5 / commit: ... / spec: 1.0.2-dev / go: ... / libseccomp: ...
declare const BERTH_VERSION: string;

export function printVersion(): void {
  const version = typeof BERTH_VERSION === 'string' ? BERTH_VERSION : '0.0.0-dev';
  process.stdout.write(`berth version ${version}\ncommit: none\nspec: 1.3.0\nnode: ${process.version}\n`);
}
