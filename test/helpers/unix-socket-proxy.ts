import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';

/**
 * A pass-through between a client and a unix socket (e.g. dockerd's) that a test can take down and
 * bring back: to the client it looks like the daemon going away and returning, while the daemon
 * itself keeps running (and keeps recording events).
 */
export class UnixSocketProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  /** Client connections accepted so far. */
  connections = 0;

  constructor(
    readonly path: string,
    private readonly target: string,
  ) {}

  /** Start listening on path (replacing a stale socket file). */
  async up(): Promise<void> {
    if (this.server) return;
    await rm(this.path, { force: true });
    const server = createServer((client) => {
      this.connections++;
      const upstream = createConnection(this.target);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.once('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    server.listen(this.path);
    await once(server, 'listening');
    this.server = server;
  }

  /** Stop listening and cut every open connection. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) {
      server.close();
      await once(server, 'close');
    }
    await rm(this.path, { force: true });
  }
}
