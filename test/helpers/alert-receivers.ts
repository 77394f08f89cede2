import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { killGroup, waitUntil } from './process-tree.js';
import { freePort } from './stand-in.js';

/** One request a receiver got. */
export interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** A loopback HTTP receiver (webhook, ntfy, Apprise's json://) that records what it gets; it can go down and come back on the same port. */
export interface HttpReceiver {
  port: number;
  url: string;
  received: Received[];
  /** Answer with this status from now on (default 200). */
  answer(status: number): void;
  /** Stop listening (an outage); start() listens again on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function httpReceiver(port?: number): Promise<HttpReceiver> {
  const received: Received[] = [];
  let status = 200;
  let server: Server | null = null;
  const p = port ?? (await freePort());
  const r: HttpReceiver = {
    port: p,
    url: `http://127.0.0.1:${p}`,
    received,
    answer: (s) => (status = s),
    async start() {
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          received.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
          res.writeHead(status, { 'content-type': 'application/json' }).end(status < 300 ? '{"ok":true}' : '{"error":"receiver says no"}');
        });
      });
      await new Promise<void>((resolve, reject) => server!.once('error', reject).listen(p, '127.0.0.1', resolve));
    },
    async stop() {
      const s = server;
      server = null;
      if (!s) return;
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
  await r.start();
  return r;
}

/** A real SMTP server: Debian's aiosmtpd, writing every message it accepts into a Maildir. */
export interface SmtpReceiver {
  port: number;
  /** The raw messages received so far. */
  messages(): Promise<string[]>;
  stop(): Promise<void>;
}

export async function smtpReceiver(dir: string): Promise<SmtpReceiver> {
  const port = await freePort();
  const maildir = path.join(dir, 'maildir');
  // Debian's own Python: python3-aiosmtpd is installed for it (a pyenv python3 on PATH has no aiosmtpd).
  const child = spawn('/usr/bin/python3', ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`, '-c', 'aiosmtpd.handlers.Mailbox', maildir], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitUntil(
    () =>
      new Promise<boolean>((resolve) => {
        if (child.exitCode !== null) throw new Error(`aiosmtpd exited: ${stderr}`);
        const s = net.connect(port, '127.0.0.1');
        s.once('connect', () => (s.destroy(), resolve(true)));
        s.once('error', () => resolve(false));
      }),
    { timeoutMs: 20_000 },
  );
  return {
    port,
    async messages() {
      const names = await fs.readdir(path.join(maildir, 'new')).catch(() => [] as string[]);
      return Promise.all(names.sort().map((n) => fs.readFile(path.join(maildir, 'new', n), 'utf8')));
    },
    async stop() {
      killGroup(child.pid!, 'SIGTERM');
      await exited;
    },
  };
}
