'use strict';
// Client against a real okx-vaultd.

const assert = require('node:assert/strict');
const net = require('node:net');
const { after, before, describe, test } = require('node:test');
const { setTimeout: sleep } = require('node:timers/promises');

const { Client, DEFAULT_SOCKET, VaultError, resolveSocketPath } = require('../okx_vault');
const { okxSign, vectors } = require('./reference');
const { VaultDaemon } = require('./vault_daemon');

const API_KEY = '37c5e7d2-96a3-4d4f-9d4b-1f0a2b3c8418';
const SECRET = 'SECRET-js-5d0c1e8f7a2b4c6d9e0f1a2b3c4d5e6f';
const PASSPHRASE = 'PASSPHRASE-js-Qw7-zR2';
const DEMO_API_KEY = '5a1f0b9c-0000-4d4f-9d4b-1f0a2b3c0000';
const DEMO_SECRET = 'SECRET-js-demo-77aa55bb33cc11dd';
const DEMO_PASSPHRASE = 'PASSPHRASE-js-demo-Zz9';
const BALANCE = '/api/v5/account/balance';

// Relays HTTP exchanges between clients at `path` and the real daemon, recording
// each request the daemon received. On cue it loses the next reply and closes
// the connection, as a crash or a cut link would.
class Relay {
  static async start(path, daemonSocket) {
    const relay = new Relay(path, daemonSocket);
    await new Promise((resolve) => relay.server.listen(path, resolve));
    return relay;
  }

  constructor(path, daemonSocket) {
    this.path = path;
    this.received = [];
    this.loseNextReply = false;
    this.server = net.createServer((connection) => this.relay(connection, daemonSocket));
  }

  close() {
    return new Promise((resolve) => this.server.close(resolve));
  }

  async relay(connection, daemonSocket) {
    const requests = messages(connection);
    for await (const request of requests) {
      const daemon = net.connect(daemonSocket);
      daemon.write(request);
      const { value: reply } = await messages(daemon).next();
      daemon.destroy();
      this.received.push(request.toString('latin1').split(' ', 2).join(' '));
      if (this.loseNextReply) {
        this.loseNextReply = false;
        connection.destroy();
        return;
      }
      connection.write(reply);
    }
  }
}

// Passes each connection through to the daemon as it is, counting them: how
// many were opened, and the most open at once.
class CountingProxy {
  static async start(path, daemonSocket) {
    const proxy = new CountingProxy(daemonSocket);
    proxy.path = path;
    await new Promise((resolve) => proxy.server.listen(path, resolve));
    return proxy;
  }

  constructor(daemonSocket) {
    this.opened = 0;
    this.open = 0;
    this.peak = 0;
    this.server = net.createServer((connection) => {
      this.opened += 1;
      this.open += 1;
      this.peak = Math.max(this.peak, this.open);
      const daemon = net.connect(daemonSocket);
      connection.pipe(daemon).pipe(connection);
      const closed = () => { connection.destroy(); daemon.destroy(); };
      connection.on('error', closed);
      daemon.on('error', closed);
      daemon.on('close', closed);
      connection.once('close', () => { this.open -= 1; closed(); });
    });
  }

  close() {
    return new Promise((resolve) => this.server.close(resolve));
  }
}

// The HTTP messages on a stream, each whole (its body sized by Content-Length).
async function* messages(stream) {
  let pending = Buffer.alloc(0);
  for await (const chunk of stream) {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      const end = pending.indexOf('\r\n\r\n');
      if (end < 0) break;
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(pending.subarray(0, end).toString('latin1'))?.[1] ?? 0);
      if (pending.length < end + 4 + length) break;
      yield pending.subarray(0, end + 4 + length);
      pending = pending.subarray(end + 4 + length);
    }
  }
}

describe('Client', () => {
  let daemon;
  let client;
  const seen = []; // every reply, to check that no secret was ever in one
  const sign = async (...args) => {
    const reply = await client.sign(...args);
    seen.push(JSON.stringify(reply));
    return reply;
  };

  before(async () => {
    daemon = await VaultDaemon.start('--idle-timeout-ms', '300');
    daemon.addKey('main', API_KEY, SECRET, PASSPHRASE);
    daemon.addKey('demo', DEMO_API_KEY, DEMO_SECRET, DEMO_PASSPHRASE, '--simulated');
    client = new Client({ socketPath: daemon.socket });
  });

  after(async () => {
    client.close();
    await daemon.stop();
    const everything = Buffer.concat([Buffer.from(seen.join('')), daemon.stateBytes()]);
    await daemon.close();
    for (const secret of [SECRET, DEMO_SECRET]) {
      assert.equal(everything.includes(secret), false, 'a secret leaked into a reply, the log or a state file');
    }
  });

  test('status', async () => {
    const status = await client.status();
    assert.equal(status.locked, false);
    assert.equal(status.keys, (await client.list()).length);
    assert.equal(typeof status.version, 'string');
  });

  test('list shows metadata only', async () => {
    const keys = Object.fromEntries((await client.list()).map((k) => [k.name, k]));
    seen.push(JSON.stringify(keys));
    assert.equal(keys.main.api_key, '37c5…8418');
    assert.equal(keys.main.simulated, false);
    assert.equal(keys.demo.simulated, true);
    assert.equal(JSON.stringify(keys).includes(PASSPHRASE), false);
  });

  test('a GET with a query matches an independent HMAC', async () => {
    const path = `${BALANCE}?ccy=BTC,ETH&type=1`;
    const { timestamp, headers } = await sign('main', { method: 'GET', path });
    assert.deepEqual(headers, {
      'OK-ACCESS-KEY': API_KEY,
      'OK-ACCESS-PASSPHRASE': PASSPHRASE,
      'OK-ACCESS-TIMESTAMP': timestamp,
      'OK-ACCESS-SIGN': okxSign(SECRET, timestamp + 'GET' + path),
    });
  });

  test('a POST body is signed byte for byte', async () => {
    const body = '{"instId":"BTC-USDT", "sz":"1",\n "tag":"café € \\u00e9"}';
    const timestamp = new Date().toISOString();
    const reply = await sign('main', { method: 'POST', path: '/api/v5/trade/order', body, timestamp });
    assert.equal(reply.timestamp, timestamp);
    assert.equal(reply.headers['OK-ACCESS-SIGN'], okxSign(SECRET, timestamp + 'POST/api/v5/trade/order' + body));
    assert.equal(reply.headers['Content-Type'], 'application/json');
    assert.equal('x-simulated-trading' in reply.headers, false);
  });

  test('a demo key adds x-simulated-trading', async () => {
    const { timestamp, headers } = await sign('demo', { method: 'GET', path: BALANCE });
    assert.equal(headers['x-simulated-trading'], '1');
    assert.equal(headers['OK-ACCESS-SIGN'], okxSign(DEMO_SECRET, timestamp + 'GET' + BALANCE));
  });

  test('shared vectors', async () => {
    // The vectors' timestamps are years old and the daemon refuses those: the
    // reference HMAC is checked against each vector, then the daemon against the
    // reference for the vector's request at the current time. Some vectors sign
    // endpoints on the built-in deny list: the grant names them.
    const rest = vectors('rest');
    const allow = rest.flatMap((v) => ['--allow', `${v.method} ${v.request_path.split('?')[0]}`]);
    for (const vector of rest) {
      assert.equal(okxSign(vector.secret, vector.prehash), vector.expected_sign, vector.name);
      const name = vector.demo ? 'vec-demo' : 'vec';
      if (!(await client.list()).some((k) => k.name === name)) {
        daemon.addKey(name, vector.api_key, vector.secret, vector.passphrase, ...(vector.demo ? ['--simulated'] : []));
        assert.equal(daemon.cli(['grant', name, '--user', 'root', ...allow]).status, 0);
      }
      const timestamp = new Date().toISOString();
      const { method, request_path: path, body } = vector;
      const reply = await sign(name, { method, path, body, timestamp });
      const expected = {
        ...vector.expected_headers,
        'OK-ACCESS-TIMESTAMP': timestamp,
        'OK-ACCESS-SIGN': okxSign(vector.secret, timestamp + method + path + body),
        ...(method === 'POST' ? { 'Content-Type': 'application/json' } : {}),
      };
      assert.deepEqual(reply.headers, expected, vector.name);
    }
  });

  test('WebSocket login frame', async () => {
    const frame = JSON.parse(await client.wsLogin('main'));
    seen.push(JSON.stringify(frame));
    assert.equal(frame.op, 'login');
    const [args] = frame.args;
    assert.equal(args.apiKey, API_KEY);
    assert.equal(args.passphrase, PASSPHRASE);
    assert.ok(Math.abs(Number(args.timestamp) - Date.now() / 1000) < 30);
    assert.equal(args.sign, okxSign(SECRET, args.timestamp + 'GET/users/self/verify'));
    const timestamp = String(Math.floor(Date.now() / 1000));
    assert.equal(JSON.parse(await client.wsLogin('main', { timestamp })).args[0].timestamp, timestamp);
  });

  const rejects = async (promise, code, status) => {
    const error = await promise.then(() => assert.fail(`expected ${code}`), (e) => e);
    assert.ok(error instanceof VaultError, String(error));
    assert.deepEqual([error.code, error.status], [code, status]);
    assert.equal(error.message.includes(SECRET), false);
    return error;
  };

  test('errors carry the daemon code', async () => {
    await rejects(client.sign('nope', { method: 'GET', path: BALANCE }), 'key_not_found', 404);
    await rejects(client.sign('main', { method: 'DELETE', path: BALANCE }), 'bad_request', 400);
    await rejects(client.sign('main', { method: 'GET', path: '/not-okx' }), 'bad_request', 400);
    await rejects(client.sign('main', { method: 'GET', path: BALANCE, timestamp: '2020-12-08T09:08:57.715Z' }), 'timestamp_skew', 400);
    await rejects(client.wsLogin('main', { timestamp: '1538054050' }), 'timestamp_skew', 400);
    const denied = await rejects(client.sign('main', { method: 'POST', path: '/api/v5/asset/withdrawal', body: '{"ccy":"BTC"}' }),
      'policy_denied', 403);
    assert.equal(denied.rule, 'builtin deny POST /api/v5/asset/withdrawal');
    assert.equal((await client.status()).keys, (await client.list()).length); // nothing lost, still usable
  });

  test('an unreachable socket', async () => {
    const missing = new Client({ socketPath: `${daemon.dir}/missing.sock` });
    const error = await rejects(missing.status(), 'unreachable', undefined);
    assert.match(error.message, /missing\.sock/);
    missing.close();
  });

  test('a reply outside the protocol', async () => {
    const cases = [
      ['HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc', /not JSON/, 200],
      ['HTTP/1.1 500 Oops\r\nContent-Length: 2\r\n\r\n{}', /without an error object/, 500],
      ['SSH-2.0-OpenSSH\r\n\r\n', /outside HTTP/, undefined],
    ];
    for (const [reply, what, status] of cases) {
      const socketPath = `${daemon.dir}/impostor.sock`;
      const server = net.createServer((connection) => connection.once('data', () => connection.end(reply)));
      await new Promise((resolve) => server.listen(socketPath, resolve));
      const impostor = new Client({ socketPath });
      const error = await rejects(impostor.status(), 'protocol_error', status);
      assert.match(error.message, what);
      impostor.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('replies that close the connection, and a daemon that does not answer', async () => {
    const cases = [
      ['HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 8\r\n\r\n{"a": 1}', { a: 1 }],
      ['HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{"b": 2}', { b: 2 }], // the body ends with the connection
    ];
    for (const [reply, expected] of cases) {
      const socketPath = `${daemon.dir}/closing.sock`;
      const server = net.createServer((connection) => connection.once('data', () => connection.end(reply)));
      await new Promise((resolve) => server.listen(socketPath, resolve));
      const closing = new Client({ socketPath });
      assert.deepEqual(await closing.status(), expected);
      assert.deepEqual(await closing.status(), expected); // on a new connection
      closing.close();
      await new Promise((resolve) => server.close(resolve));
    }
    const socketPath = `${daemon.dir}/silent.sock`;
    const silent = net.createServer(() => {});
    await new Promise((resolve) => silent.listen(socketPath, resolve));
    const waiting = new Client({ socketPath, timeout: 200 });
    const error = await rejects(waiting.status(), 'unreachable', undefined);
    assert.match(error.message, /did not answer within 200 ms/);
    waiting.close();
    silent.close();
  });

  test('an idle kept-alive connection does not keep node running', async () => {
    const socketPath = `${daemon.dir}/keeping.sock`; // keeps every connection open
    const reply = 'HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{"locked":true}';
    const server = net.createServer((connection) => connection.on('data', () => connection.write(reply)));
    await new Promise((resolve) => server.listen(socketPath, resolve));
    const script = `const { Client } = require(${JSON.stringify(require.resolve('../okx_vault'))});
      new Client({ socketPath: ${JSON.stringify(socketPath)} }).status().then((s) => console.log(s.locked));`;
    try {
      const out = await new Promise((resolve, reject) => {
        require('node:child_process').execFile(process.execPath, ['-e', script], { timeout: 5000 }, (e, stdout) => (e ? reject(e) : resolve(stdout)));
      });
      assert.equal(out.trim(), 'true');
    } finally {
      server.close();
      await new Promise((resolve) => setImmediate(resolve));
    }
  });

  test('socket path from the argument, OKX_VAULT_SOCKET or the default', async () => {
    const saved = process.env.OKX_VAULT_SOCKET;
    try {
      delete process.env.OKX_VAULT_SOCKET;
      assert.equal(resolveSocketPath(), DEFAULT_SOCKET);
      assert.equal(DEFAULT_SOCKET, '/run/okx-vault/okx-vault.sock');
      process.env.OKX_VAULT_SOCKET = daemon.socket;
      const fromEnv = new Client();
      assert.equal((await fromEnv.status()).locked, false);
      fromEnv.close();
      assert.equal(resolveSocketPath('/x.sock'), '/x.sock');
    } finally {
      if (saved === undefined) delete process.env.OKX_VAULT_SOCKET;
      else process.env.OKX_VAULT_SOCKET = saved;
    }
  });

  test('reconnects after the daemon closed an idle connection', async () => {
    assert.equal((await client.status()).locked, false);
    await sleep(600); // past --idle-timeout-ms 300: the daemon has closed the connection
    assert.equal((await client.status()).locked, false);
  });

  // A client whose kept-alive connection goes through a relay, made.
  const relayed = async (t) => {
    const relay = await Relay.start(`${daemon.dir}/relay.sock`, daemon.socket);
    const viaRelay = new Client({ socketPath: relay.path });
    t.after(() => { viaRelay.close(); return relay.close(); });
    await viaRelay.status();
    return { relay, viaRelay };
  };

  test('a sign whose reply was lost is sent once more', async (t) => {
    const { relay, viaRelay } = await relayed(t);
    relay.loseNextReply = true;
    const reply = await viaRelay.sign('main', { method: 'GET', path: BALANCE });
    seen.push(JSON.stringify(reply));
    assert.equal(reply.headers['OK-ACCESS-KEY'], API_KEY);
    assert.equal(relay.received.filter((r) => r === 'POST /v1/keys/main/sign').length, 2);
  });

  test('a change whose reply was lost is not sent again', async (t) => {
    daemon.addKey('doomed', DEMO_API_KEY, DEMO_SECRET, DEMO_PASSPHRASE);
    const { relay, viaRelay } = await relayed(t);
    relay.loseNextReply = true;
    // Sent again, it would answer key_not_found.
    await assert.rejects(viaRelay.call('DELETE', '/v1/keys/doomed'), { code: 'unreachable' });
    assert.equal(relay.received.filter((r) => r === 'DELETE /v1/keys/doomed').length, 1);
    assert.equal((await client.list()).some((k) => k.name === 'doomed'), false, 'the revoke was done');
  });

  test('the client holds no secret', async () => {
    await sign('main', { method: 'GET', path: BALANCE });
    assert.equal(require('node:util').inspect(client, { depth: 6, showHidden: true }).includes(SECRET), false);
  });

  test('50 concurrent signs through one client use at most 8 connections, kept alive', async (t) => {
    const proxy = await CountingProxy.start(`${daemon.dir}/counting.sock`, daemon.socket);
    const pooled = new Client({ socketPath: proxy.path });
    t.after(() => { pooled.close(); return proxy.close(); });
    for (let round = 0; round < 2; round += 1) {
      const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => pooled.sign('main', { method: 'GET', path: `${BALANCE}?ccy=T${round}R${i}` })));
      replies.forEach(({ timestamp, headers }, i) => {
        seen.push(JSON.stringify(headers));
        assert.equal(headers['OK-ACCESS-SIGN'], okxSign(SECRET, `${timestamp}GET${BALANCE}?ccy=T${round}R${i}`));
      });
    }
    assert.equal(proxy.peak, 8, 'most connections open at once');
    assert.equal(proxy.opened, 8, 'the second burst reuses the first one\'s connections');
    assert.equal(pooled.connections.size, 8);
  });

  test('maxConnections 1: calls wait for the connection, in order', async (t) => {
    const proxy = await CountingProxy.start(`${daemon.dir}/counting1.sock`, daemon.socket);
    const single = new Client({ socketPath: proxy.path, maxConnections: 1 });
    t.after(() => { single.close(); return proxy.close(); });
    const order = [];
    await Promise.all([0, 1, 2, 3].map((i) => single.sign('main', { method: 'GET', path: BALANCE }).then(() => order.push(i))));
    assert.deepEqual(order, [0, 1, 2, 3]);
    assert.equal(proxy.opened, 1);
    assert.throws(() => new Client({ maxConnections: 0 }), TypeError);
  });

  test('close() fails the calls waiting for a connection', async () => {
    const single = new Client({ socketPath: daemon.socket, maxConnections: 1 });
    const calls = [0, 1, 2].map(() => single.sign('main', { method: 'GET', path: BALANCE }));
    single.close();
    const results = await Promise.allSettled(calls);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected', 'rejected']);
    assert.equal(results[2].reason.code, 'unreachable');
    await single.sign('main', { method: 'GET', path: BALANCE }); // usable again
    single.close();
  });

  test('concurrent calls', async () => {
    const replies = await Promise.all(Array.from({ length: 20 }, () => sign('main', { method: 'GET', path: BALANCE })));
    for (const { timestamp, headers } of replies) {
      assert.equal(headers['OK-ACCESS-SIGN'], okxSign(SECRET, timestamp + 'GET' + BALANCE));
    }
  });
});
