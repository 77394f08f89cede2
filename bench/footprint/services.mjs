// The services a footprint run watches: N healthy HTTP servers in this one process (so their CPU
// is not the subject's), each on its own loopback port, answering GET /health like llama.cpp when
// ready. Prints the ports as one JSON line; answers each "count" line on stdin with the number of
// health requests answered so far (the checks a subject really made).
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';

const count = Number(process.argv[2] ?? 200);
const body = '{"status":"ok"}';
let answered = 0;
const ports = [];
for (let i = 0; i < count; i++) {
  const server = createServer((req, res) => {
    answered++;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
  // Longer than any subject's own idle limit: a subject's socket is never closed under it.
  server.keepAliveTimeout = 120_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  ports.push(server.address().port);
}
process.stdout.write(`${JSON.stringify(ports)}\n`);
createInterface({ input: process.stdin }).on('line', () => process.stdout.write(`${answered}\n`)).on('close', () => process.exit(0));
