import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';

/** A loopback port whose TCP connects hang: its accept queue is full and SYNs are dropped. */
export interface StalledListener {
  port: number;
  stop(): Promise<void>;
}

// The child listens with backlog 1 (0 would mean Node's default) and then blocks its event loop for good, so it never accepts.
const CHILD = `
const s = require('node:net').createServer();
s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  process.stdout.write(s.address().port + '\\n');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
});`;

/** Starts the listener in its own process group and fills its accept queue. */
export async function startStalledListener(): Promise<StalledListener> {
  const child = spawn(process.execPath, ['-e', CHILD], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  child.stdout.setEncoding('utf8');
  const [line] = (await once(child.stdout, 'data')) as [string];
  const port = Number(line.trim());
  // Two queued connections fill a backlog-1 queue (Linux allows backlog + 1); a third makes sure.
  const fillers: Socket[] = [0, 1, 2].map(() => connect({ host: '127.0.0.1', port }));
  for (const f of fillers) f.on('error', () => {});
  await Promise.all([once(fillers[0]!, 'connect'), once(fillers[1]!, 'connect')]);
  return {
    port,
    stop: async () => {
      for (const f of fillers) f.destroy();
      const exited = once(child, 'exit');
      process.kill(-child.pid!, 'SIGKILL');
      await exited;
    },
  };
}
