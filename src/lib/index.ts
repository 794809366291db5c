// The package's library entry: `require('berth')` and `import ... from 'berth'`.
export { Runtime } from './runtime';
export type { ContainerEvent, CreateOptions, ExecCallOptions, Exit, LinuxResources, OutputTarget, Process, RunOptions, RuntimeOptions, Spec, State, StdinSource, Stdio, WaitOptions } from './runtime';
export { BerthError, ConfigError, ExistsError, NotFoundError, SetupError, StateError } from '../errors';
