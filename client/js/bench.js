'use strict';
// Latency of a sign round trip: through okx_vault.Client, and through a
// minimal client that writes the same HTTP/1.1 request on one kept-alive raw
// Unix socket and reads the reply by its Content-Length. Same daemon, same
// request, same key; the two alternate in blocks so that drift hits both.
//
//   node bench.js [--iterations N] [--socket PATH --key NAME]
//
// Without --socket, starts an okx-vaultd of its own in a temporary directory
// (the binaries as the tests find them: $OKX_VAULTD_BINARY, $OKX_VAULT_CLI_BINARY,
// else ../../build) with one key. Prints per-call latencies and the ratio.

const net = require('node:net');
const { performance } = require('node:perf_hooks');
const { Client } = require('./okx_vault');

function parseArgs(argv) {
  const args = { iterations: 5000, socket: undefined, key: 'bench' };
  for (let i = 0; i < argv.length; i += 2) {
    const value = argv[i + 1];
    if (argv[i] === '--iterations') args.iterations = Number(value);
    else if (argv[i] === '--socket') args.socket = value;
    else if (argv[i] === '--key') args.key = value;
    else throw new Error(`usage: node bench.js [--iterations N] [--socket PATH --key NAME]; not ${argv[i]}`);
  }
  return args;
}

// One kept-alive connection, one request at a time.
class RawClient {
  constructor(socketPath) {
    this.socketPath = socketPath;
    this.pending = Buffer.alloc(0);
    this.waiting = undefined;
  }

  connect() {
    return new Promise((resolve, reject) => {
      this.socket = net.connect(this.socketPath, resolve);
      this.socket.once('error', reject);
      this.socket.on('data', (chunk) => this.onData(chunk));
    });
  }

  onData(chunk) {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const end = this.pending.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.pending.subarray(0, end).toString('latin1');
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)[1]);
    if (this.pending.length < end + 4 + length) return;
    const body = this.pending.subarray(end + 4, end + 4 + length).toString('utf8');
    this.pending = this.pending.subarray(end + 4 + length);
    const status = Number(head.slice(9, 12));
    const resolve = this.waiting;
    this.waiting = undefined;
    resolve({ status, reply: JSON.parse(body) });
  }

  sign(key, request) {
    const body = JSON.stringify(request);
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.socket.write(`POST /v1/keys/${key}/sign HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    });
  }

  close() {
    this.socket.destroy();
  }
}

const request = () => ({ method: 'GET', path: '/api/v5/account/balance?ccy=BTC', body: '', timestamp: new Date().toISOString() });

function summary(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  return { mean, p50: at(0.5), p90: at(0.9), p99: at(0.99) };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  let daemon;
  if (!args.socket) {
    const { VaultDaemon } = require('./test/vault_daemon');
    daemon = await VaultDaemon.start();
    daemon.addKey(args.key, '37c5e7d2-96a3-4d4f-9d4b-1f0a2b3c8418', 'SECRET-bench-0123456789abcdef', 'PASSPHRASE-bench');
    args.socket = daemon.socket;
  }
  const client = new Client({ socketPath: args.socket });
  const raw = new RawClient(args.socket);
  await raw.connect();
  const runs = {
    'okx_vault.Client': async () => { await client.sign(args.key, request()); },
    'raw socket': async () => {
      const { status } = await raw.sign(args.key, request());
      if (status !== 200) throw new Error(`raw sign: HTTP ${status}`);
    },
  };
  const samples = Object.fromEntries(Object.keys(runs).map((name) => [name, []]));
  for (const run of Object.values(runs)) for (let i = 0; i < 200; i += 1) await run(); // warm-up
  const block = 100;
  for (let done = 0; done < args.iterations; done += block) {
    for (const [name, run] of Object.entries(runs)) {
      for (let i = 0; i < block; i += 1) {
        const start = performance.now();
        await run();
        samples[name].push((performance.now() - start) * 1000);
      }
    }
  }
  client.close();
  raw.close();
  if (daemon) await daemon.close();

  const results = Object.fromEntries(Object.entries(samples).map(([name, s]) => [name, summary(s)]));
  const f = (v) => v.toFixed(1).padStart(8);
  console.log(`sign round trip, ${samples['raw socket'].length} calls each, node ${process.version}, microseconds`);
  console.log(`${'client'.padEnd(18)}${'mean'.padStart(8)}${'p50'.padStart(8)}${'p90'.padStart(8)}${'p99'.padStart(8)}`);
  for (const [name, r] of Object.entries(results)) console.log(`${name.padEnd(18)}${f(r.mean)}${f(r.p50)}${f(r.p90)}${f(r.p99)}`);
  const a = results['okx_vault.Client'];
  const b = results['raw socket'];
  console.log(`ratio Client / raw: mean ${(a.mean / b.mean).toFixed(2)}x, p50 ${(a.p50 / b.p50).toFixed(2)}x (target <= 1.5x)`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
