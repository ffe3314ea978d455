#!/usr/bin/env node
// The game server's webhook receiver for `pnpm bench`, in a process of its own (as a game server is
// a system of its own), so receiving deliveries does not share an event loop with the load generator
// and add to the latencies it measures. Answers 204, or 500 while told to fail; keeps, per message
// id, when it first arrived, and the delay from the message's timestamp. The bench talks to it over
// IPC: { op: 'state' } → { attempts, delivered, delays?, times? }, { op: 'failing', value },
// { op: 'reset' }.
import { createServer } from 'node:http';

let failing = false;
let attempts = 0;
let delivered = new Map();
let delays = [];

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    attempts++;
    if (failing) return void res.writeHead(500).end();
    const id = req.headers['webhook-id'];
    if (!delivered.has(id)) {
      delivered.set(id, performance.now());
      const body = JSON.parse(Buffer.concat(chunks).toString());
      delays.push(Date.now() - Date.parse(body.timestamp));
    }
    res.writeHead(204).end();
  });
});

process.on('message', (msg) => {
  if (msg.op === 'failing') failing = msg.value;
  if (msg.op === 'reset') [attempts, delivered, delays] = [0, new Map(), []];
  const reply = { id: msg.id, attempts, delivered: delivered.size };
  if (msg.delays) reply.delays = delays;
  if (msg.timesFrom !== undefined) reply.times = [...delivered.values()].slice(msg.timesFrom);
  process.send(reply);
});
process.on('disconnect', () => server.close(() => process.exit(0)));

server.listen(0, '127.0.0.1', () => process.send({ ready: server.address().port }));
