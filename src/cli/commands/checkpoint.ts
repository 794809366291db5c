import type { Args, Command, OptionSpec } from '../command';

/** Flags checkpoint and restore share (runc's). */
export const criuFlags: Record<string, OptionSpec> = {
  'image-path': { type: 'string', describe: 'path for the CRIU image files (default: ./checkpoint)' },
  'work-path': { type: 'string', describe: 'path for CRIU\'s work files and logs (default: the image path)' },
  'tcp-established': { type: 'boolean', default: false, describe: 'allow open tcp connections' },
  'ext-unix-sk': { type: 'boolean', default: false, describe: 'allow external unix sockets' },
  'shell-job': { type: 'boolean', default: false, describe: 'allow shell jobs' },
  'file-locks': { type: 'boolean', default: false, describe: 'handle file locks, for safety' },
  'manage-cgroups-mode': { type: 'string', describe: 'cgroups mode: soft|full|strict|ignore (default: soft)' },
  'empty-ns': { type: 'string', repeat: true, describe: 'create a namespace, but do not restore its properties (network)' },
  'auto-dedup': { type: 'boolean', default: false, describe: 'enable auto deduplication of memory images' },
  'lazy-pages': { type: 'boolean', default: false, describe: 'use userfaultfd to lazily restore memory pages' },
};

export function criuFlagValues(a: Args) {
  return {
    imagePath: a['image-path'] as string | undefined, workPath: a['work-path'] as string | undefined,
    tcpEstablished: !!a['tcp-established'], extUnixSk: !!a['ext-unix-sk'], shellJob: !!a['shell-job'], fileLocks: !!a['file-locks'],
    manageCgroupsMode: a['manage-cgroups-mode'] as string | undefined,
    emptyNs: a['empty-ns'] === undefined ? [] : ([] as string[]).concat(a['empty-ns']).map(String),
    autoDedup: !!a['auto-dedup'], lazyPages: !!a['lazy-pages'],
  };
}

const command: Command = {
  name: 'checkpoint',
  describe: 'checkpoint a running container (with CRIU)',
  positionals: [{ name: 'id', required: true }],
  options: {
    ...criuFlags,
    'parent-path': { type: 'string', describe: 'path of the previous (pre-dump) images, relative to the image path' },
    'leave-running': { type: 'boolean', default: false, describe: 'leave the process running after checkpointing' },
    'tcp-skip-in-flight': { type: 'boolean', default: false, describe: 'skip in-flight tcp connections' },
    'link-remap': { type: 'boolean', default: false, describe: 'allow one to link unlinked files back when possible' },
    'pre-dump': { type: 'boolean', default: false, describe: 'dump the container\'s memory only, and leave it running' },
    'status-fd': { type: 'number', default: -1, describe: 'criu writes \\0 to this fd once lazy-pages is ready' },
    'page-server': { type: 'string', describe: 'ADDRESS:PORT of the page server' },
  },
  run: (a) => {
    const { checkpointContainer } = require('../../checkpoint/checkpoint') as typeof import('../../checkpoint/checkpoint');
    checkpointContainer({
      ...criuFlagValues(a), root: a.root, id: a.id, parentPath: a['parent-path'], leaveRunning: !!a['leave-running'],
      tcpSkipInFlight: !!a['tcp-skip-in-flight'], linkRemap: !!a['link-remap'], preDump: !!a['pre-dump'],
      statusFd: Number(a['status-fd'] ?? -1), pageServer: a['page-server'],
    });
  },
};
export default command;
