// Bench-only baseline for bench/scenarios/streaming.sh: Node's `ws` 8 holding the
// same WebSocket subscribers and broadcasting the same frames Chorus sends.
//
//   node ws_server.mjs PORT
//
// Any GET upgrade is a subscriber. `POST /broadcast?n=K` with a text body sends
// that text K times to every subscriber (the idiomatic ws broadcast loop:
// for each client, client.send(text)), then answers 200 with the subscriber
// count; `GET /count` answers the number of subscribers.
import http from 'node:http';
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2]);
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (req.method === 'GET' && url.pathname === '/count') {
    res.end(String(wss.clients.size));
    return;
  }
  if (req.method === 'POST' && url.pathname === '/broadcast') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const n = Number(url.searchParams.get('n') || '1');
      let i = 0;
      // One event per macrotask, as a server publishing events as they come would.
      const next = () => {
        for (const client of wss.clients) client.send(text);
        if (++i < n) setImmediate(next);
      };
      next();
      res.end(String(wss.clients.size));
    });
    return;
  }
  res.statusCode = 404;
  res.end();
});
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (ws) => ws.on('error', () => {}));
server.listen(port, '127.0.0.1', () => console.log(`listening ${port}`));
