// Types of the OCI runtime-spec documents berth reads and writes, under stable names.
// They are generated from spec-schemas/ (the same schemas dist/validators.js checks) into
// ./types.generated.ts by scripts/build-validators.mjs; import them from here.
export type {
  // config.json
  Spec,
  Root,
  Mount,
  Hook,
  Hooks,
  Annotations,
  LinuxIDMapping,
  // process (config.json `process`, exec --process)
  Process,
  User,
  ConsoleSize,
  POSIXRlimit,
  RlimitType,
  LinuxCapabilities,
  Scheduler,
  LinuxSchedulerPolicy,
  LinuxSchedulerFlag,
  LinuxIOPriority,
  CPUAffinity,
  // config.json `linux`
  Linux,
  LinuxNamespace,
  LinuxNamespaceType,
  LinuxTimeOffset,
  LinuxDevice,
  LinuxNetDevice,
  LinuxIntelRdt,
  LinuxMemoryPolicy,
  MemoryPolicyModeType,
  MemoryPolicyFlagType,
  LinuxSeccomp,
  LinuxSyscall,
  LinuxSeccompArg,
  LinuxSeccompAction,
  LinuxSeccompArch,
  LinuxSeccompFlag,
  LinuxSeccompOperator,
  RootfsPropagation,
  LinuxPersonality,
  // linux.resources (update --resources)
  LinuxResources,
  LinuxDeviceCgroup,
  LinuxMemory,
  LinuxCPU,
  LinuxBlockIO,
  LinuxWeightDevice,
  LinuxThrottleDevice,
  LinuxHugepageLimit,
  LinuxNetwork,
  LinuxInterfacePriority,
  LinuxPids,
  LinuxRdma,
  // other platforms
  FreeBSD,
  ZOS,
  // state.json, features
  State,
  Features,
  LinuxFeatures,
} from './types.generated';

/** Every document that has a schema, by validator name, with the type it validates to. */
import type { SpecDocuments } from './types.generated';
export type { SpecDocuments };
export type DocumentKind = keyof SpecDocuments;
