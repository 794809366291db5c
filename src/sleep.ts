// A synchronous pause: berth's commands are short, single-purpose and synchronous,
// so waiting for a process or a cgroup to go away need not involve the event loop.
const cell = new Int32Array(new SharedArrayBuffer(4));

export function sleepSync(ms: number): void {
  Atomics.wait(cell, 0, 0, ms);
}
