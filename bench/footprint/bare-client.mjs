// The baseline: what a plain Node monitor needs to check N services every second — one keep-alive
// node:http agent (one socket per service), GET /health, read the body, parse the JSON, a 5 s
// timeout per request. No state, no history, no server: the floor a general-purpose client sets.
import http from 'node:http';

const ports = JSON.parse(process.argv[2]);
const intervalMs = Number(process.argv[3] ?? 1000);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
let up = 0;
let down = 0;

function check(port) {
  const req = http.get({ host: '127.0.0.1', port, path: '/health', agent, timeout: 5000 }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk) => (body += chunk));
    res.on('end', () => {
      let ok = res.statusCode === 200;
      try {
        ok = ok && JSON.parse(body).status === 'ok';
      } catch {
        ok = false;
      }
      if (ok) up++;
      else down++;
    });
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', () => down++);
}

setInterval(() => {
  for (const port of ports) check(port);
}, intervalMs);
process.on('SIGTERM', () => {
  process.stderr.write(`bare client: ${up} up, ${down} down\n`);
  process.exit(0);
});
