// A one-layer image of a rootfs directory as a tar that is both an OCI image
// layout and a docker-archive, so `ctr images import` and `docker load` both take
// it (the same shape test/engines/engine.ts builds for the engine tests).
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Writes the image of rootfs, named ref, with default command cmd, to out. */
export function imageArchive(rootfs, ref, cmd, out) {
  const work = mkdtempSync(`${out}.work-`);
  try {
    const blobs = join(work, 'blobs/sha256');
    mkdirSync(blobs, { recursive: true });
    const blob = (data) => {
      const hex = createHash('sha256').update(data).digest('hex');
      writeFileSync(join(blobs, hex), data);
      return { digest: `sha256:${hex}`, size: data.length, hex };
    };
    const layer = blob(execFileSync('tar', ['-C', rootfs, '--numeric-owner', '--owner=0', '--group=0', '--sort=name', '-cf', '-', '.'], { maxBuffer: 1 << 28 }));
    const config = blob(Buffer.from(JSON.stringify({
      architecture: 'amd64', os: 'linux',
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: cmd },
      rootfs: { type: 'layers', diff_ids: [layer.digest] },
    })));
    const desc = ({ digest, size }, mediaType) => ({ mediaType, digest, size });
    const manifest = blob(Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: desc(config, 'application/vnd.oci.image.config.v1+json'),
      layers: [desc(layer, 'application/vnd.oci.image.layer.v1.tar')],
    })));
    writeFileSync(join(work, 'index.json'), JSON.stringify({
      schemaVersion: 2,
      manifests: [{
        ...desc(manifest, 'application/vnd.oci.image.manifest.v1+json'),
        annotations: { 'io.containerd.image.name': ref, 'org.opencontainers.image.ref.name': ref.replace(/.*:/, '') },
      }],
    }));
    writeFileSync(join(work, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    writeFileSync(join(work, 'manifest.json'), JSON.stringify([{ Config: `blobs/sha256/${config.hex}`, RepoTags: [ref], Layers: [`blobs/sha256/${layer.hex}`] }]));
    execFileSync('tar', ['-C', work, '-cf', out, 'oci-layout', 'index.json', 'manifest.json', 'blobs']);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
