'use strict';
// Vault errors as ccxt errors, keep-alive and close(), against a stand-in for
// okx-vaultd on a Unix socket that answers like the daemon (proto/PROTOCOL.md,
// "Errors"): codes the daemon only gives in states hard to set up, such as
// 429 rate_limited or 423 vault_locked, and for each ccxt version.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { after, before, describe, test } = require('node:test');

const { vaultOkx } = require('../ccxt_okx');
const { VERSIONS } = require('./ccxt_versions');

const API_KEY = '37c5e7d2-96a3-4d4f-9d4b-1f0a2b3c8418';

// [code, HTTP status, ccxt error, rule]
const ERRORS = [
  ['vault_locked', 423, 'ExchangeNotAvailable'],
  ['audit_unavailable', 503, 'ExchangeNotAvailable'],
  ['too_many_connections', 503, 'ExchangeNotAvailable'],
  ['policy_denied', 403, 'PermissionDenied', 'path-allowlist'],
  ['rate_limited', 429, 'PermissionDenied', 'uid:1000: orders-per-minute 60'],
  ['forbidden', 403, 'PermissionDenied'],
  ['key_expired', 403, 'PermissionDenied'],
  ['key_not_found', 404, 'AuthenticationError'],
  ['timestamp_skew', 400, 'InvalidNonce'],
  ['bad_request', 400, 'ExchangeError'],
];

// Answers GET /v1/keys with the key `main`, and sign with `this.answer`
// (an error code of ERRORS, or undefined: headers). Counts connections.
class FakeDaemon {
  static async start() {
    const fake = new FakeDaemon();
    await new Promise((resolve) => fake.server.listen(fake.socket, resolve));
    return fake;
  }

  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'okxv-fake-'));
    this.socket = path.join(this.dir, 'fake.sock');
    this.answer = undefined;
    this.listAnswer = undefined;
    this.connections = 0;
    this.open = new Set();
    this.requests = [];
    this.server = http.createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => { body += chunk; });
      request.on('end', () => {
        this.requests.push(`${request.method} ${request.url}`);
        const code = request.url === '/v1/keys' ? this.listAnswer : this.answer;
        let status = 200;
        let reply;
        if (code !== undefined) {
          const [, errorStatus, , rule] = ERRORS.find(([c]) => c === code);
          status = errorStatus;
          reply = { error: { code, message: `refused: ${code}`, ...(rule ? { rule } : {}) } };
        } else if (request.url === '/v1/keys') {
          reply = { keys: [{ name: 'main', api_key: '37c5…8418', simulated: false }] };
        } else {
          const { timestamp } = JSON.parse(body);
          reply = { timestamp, headers: { 'OK-ACCESS-KEY': API_KEY, 'OK-ACCESS-SIGN': 'c2lnbg==', 'OK-ACCESS-TIMESTAMP': timestamp, 'OK-ACCESS-PASSPHRASE': 'p' } };
        }
        const data = JSON.stringify(reply);
        response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) });
        response.end(data);
      });
    });
    this.server.on('connection', (socket) => {
      this.connections += 1;
      this.open.add(socket);
      socket.on('close', () => this.open.delete(socket));
    });
  }

  async close() {
    this.server.closeAllConnections?.();
    await new Promise((resolve) => this.server.close(resolve));
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function recording(exchange) {
  exchange.sent = [];
  exchange.fetchImplementation = async (url, { headers }) => {
    exchange.sent.push({ url, headers: { ...headers } });
    return new Response('{"code":"0","msg":"","data":[]}', { status: 200, headers: { 'Content-Type': 'application/json' } });
  };
  return exchange;
}

let fake;
before(async () => { fake = await FakeDaemon.start(); });
after(async () => { await fake.close(); });

for (const { ccxt, version } of VERSIONS) {
  describe(`ccxt ${version}: vault errors and connections`, () => {
    for (const [code, status, expected, rule] of ERRORS) {
      test(`${status} ${code} -> ${expected}`, async () => {
        fake.answer = code;
        const exchange = recording(vaultOkx(ccxt, { key: 'main', socketPath: fake.socket }));
        try {
          await assert.rejects(exchange.privatePostTradeOrder({ instId: 'BTC-USDT', side: 'buy', sz: '1', clOrdId: 'a' }), (error) => {
            assert.equal(error.constructor, ccxt[expected], `${error.constructor.name}: ${error.message}`);
            assert.match(error.message, new RegExp(`^okx-vault key 'main': ${code}: `));
            if (rule) assert.ok(error.message.includes(rule), error.message);
            assert.equal(error.cause.code, code);
            return true;
          });
          assert.equal(exchange.sent.length, 0, 'a refused request was sent');
        } finally {
          fake.answer = undefined;
          await exchange.close();
        }
      });
    }

    test('a locked vault refuses the key list too: ExchangeNotAvailable', async () => {
      fake.listAnswer = 'vault_locked';
      const exchange = recording(vaultOkx(ccxt, { key: 'main', socketPath: fake.socket }));
      try {
        await assert.rejects(exchange.privateGetAccountBalance(), ccxt.ExchangeNotAvailable);
      } finally {
        fake.listAnswer = undefined;
        await exchange.close();
      }
    });

    test('one kept-alive connection for many requests; close() closes it', async () => {
      const connections = fake.connections;
      const exchange = recording(vaultOkx(ccxt, { key: 'main', socketPath: fake.socket }));
      for (let i = 0; i < 5; i += 1) await exchange.privateGetAccountBalance();
      assert.equal(exchange.sent.length, 5);
      assert.equal(exchange.sent[4].headers['OK-ACCESS-KEY'], API_KEY);
      assert.equal(fake.connections - connections, 1);
      assert.equal(fake.open.size, 1);
      await exchange.close();
      for (let i = 0; i < 100 && fake.open.size > 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(fake.open.size, 0, 'close() left the vault connection open');
    });
  });
}
