'use strict';
// The ccxt adapter against a real okx-vaultd and the real ccxt from the npm
// registry. Each private request goes through ccxt twice, signed by the vault
// and by ccxt holding the secret itself, on the same clock: what would go on
// the wire (url, method, headers, body) must be identical. Nothing reaches OKX:
// ccxt's fetchImplementation hook records the request and answers it.

const assert = require('node:assert/strict');
const util = require('node:util');
const { after, before, describe, test } = require('node:test');

const ccxt = require('ccxt'); // a dev dependency: `npm ci` in client/js
const { vaultOkx } = require('../ccxt_okx');
const { okxSign } = require('./reference');
const { VaultDaemon } = require('./vault_daemon');

const API_KEY = '37c5e7d2-96a3-4d4f-9d4b-1f0a2b3c8418';
const SECRET = 'SECRET-ccxt-js-0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const PASSPHRASE = 'PASSPHRASE-ccxt-js-Kk4';

// Whether `text` is in any string reachable from `root` through own data
// properties (enumerable or not, symbol-keyed too) and Map entries.
function holds(root, text) {
  const seen = new Set();
  const stack = [root];
  while (stack.length) {
    const value = stack.pop();
    if (typeof value === 'string') {
      if (value.includes(text)) return true;
    } else if (value !== null && typeof value === 'object' && !seen.has(value)) {
      seen.add(value);
      for (const key of Reflect.ownKeys(value)) {
        const descriptor = Object.getOwnPropertyDescriptor(value, key);
        stack.push(typeof key === 'string' ? key : key.description, descriptor.value);
      }
      if (value instanceof Map) for (const entry of value) stack.push(...entry);
    }
  }
  return false;
}

describe('ccxt okx through the vault', () => {
  let daemon;
  const open = [];

  before(async () => {
    daemon = await VaultDaemon.start();
    daemon.addKey('main', API_KEY, SECRET, PASSPHRASE);
    daemon.addKey('demo', API_KEY, SECRET, PASSPHRASE, '--simulated');
  });

  after(async () => {
    for (const exchange of open) await exchange.close();
    await daemon.stop();
    const written = daemon.stateBytes();
    await daemon.close();
    assert.equal(written.includes(SECRET), false, 'the secret is in the daemon log or a state file');
  });

  function recording(exchange, now) {
    exchange.milliseconds = () => now;
    exchange.fetchImplementation = async (url, { method, headers, body }) => {
      exchange.sent = { url, method, headers: { ...headers }, body };
      return new Response('{"code":"0","msg":"","data":[]}', { status: 200, headers: { 'Content-Type': 'application/json' } });
    };
    return exchange;
  }

  function pair({ key = 'main', sandbox = false, okxClass = ccxt.okx } = {}) {
    const now = Date.now();
    const vaulted = recording(vaultOkx(ccxt, { key, socketPath: daemon.socket, okxClass }), now);
    const direct = recording(new okxClass({ apiKey: API_KEY, secret: SECRET, password: PASSPHRASE }), now);
    open.push(vaulted, direct);
    vaulted.setSandboxMode(sandbox);
    direct.setSandboxMode(sandbox);
    return { vaulted, direct };
  }

  async function sameRequest(call, options) {
    const { vaulted, direct } = pair(options);
    const logged = [];
    vaulted.verbose = true; // ccxt logs each request and response
    vaulted.log = (...args) => logged.push(util.format(...args));
    await call(vaulted);
    await call(direct);
    assert.deepEqual(vaulted.sent, direct.sent);
    assert.ok(logged.length > 0);
    assert.equal(logged.join('\n').includes(SECRET), false, 'the secret is in ccxt\'s log');
    assert.equal(holds(vaulted, SECRET), false, 'the ccxt instance holds the secret');
    assert.equal(holds(direct, SECRET), true); // the search does find it where it is
    assert.ok(!vaulted.secret && !vaulted.password);
    return vaulted.sent;
  }

  test('GET with a query', async () => {
    const sent = await sameRequest((e) => e.privateGetAccountBalance({ ccy: 'BTC,ETH' }));
    assert.match(sent.url, /\?ccy=BTC%2CETH$/);
    const path = sent.url.slice('https://www.okx.com'.length);
    assert.equal(sent.headers['OK-ACCESS-SIGN'], okxSign(SECRET, sent.headers['OK-ACCESS-TIMESTAMP'] + 'GET' + path));
    assert.equal(sent.headers['OK-ACCESS-PASSPHRASE'], PASSPHRASE);
  });

  test('GET through a unified method', async () => {
    await sameRequest((e) => e.fetchOpenOrders(undefined, undefined, undefined, { instType: 'SPOT' }));
  });

  test('POST with a JSON body', async () => {
    const order = { instId: 'BTC-USDT', tdMode: 'cash', side: 'buy', ordType: 'limit', px: '1', sz: '0.01', clOrdId: 'bot1' };
    const sent = await sameRequest((e) => e.privatePostTradeOrder({ ...order }));
    assert.deepEqual(JSON.parse(sent.body), order);
    assert.equal(sent.headers['Content-Type'], 'application/json');
  });

  test('POST with an array body', async () => {
    const orders = [0, 1].map((i) => ({ instId: 'BTC-USDT', side: 'buy', sz: '1', clOrdId: `b${i}` }));
    await sameRequest((e) => e.privatePostTradeBatchOrders(orders.map((o) => ({ ...o }))));
  });

  test('batch orders without a client id get ccxt\'s broker tag, signed as sent', async () => {
    const { vaulted } = pair();
    await vaulted.privatePostTradeBatchOrders([{ instId: 'BTC-USDT', side: 'buy', sz: '1' }]);
    const { headers, body } = vaulted.sent;
    assert.match(JSON.parse(body)[0].clOrdId, /^6b9ad766b55dBCDE[0-9a-f]{16}$/);
    assert.equal(headers['OK-ACCESS-SIGN'], okxSign(SECRET, headers['OK-ACCESS-TIMESTAMP'] + 'POST/api/v5/trade/batch-orders' + body));
  });

  test('demo mode: sandbox and a demo key', async () => {
    const sent = await sameRequest((e) => e.privateGetAccountBalance(), { key: 'demo', sandbox: true });
    assert.equal(sent.headers['x-simulated-trading'], '1');
  });

  test('ccxt.pro okx signs its REST requests the same way', async () => {
    await sameRequest((e) => e.privateGetAccountBalance({ ccy: 'BTC' }), { okxClass: ccxt.pro.okx });
  });

  test('the timestamp follows ccxt\'s clock correction (options.timeDifference)', async () => {
    const { vaulted, direct } = pair();
    for (const e of [vaulted, direct]) e.options.timeDifference = 5000;
    await vaulted.privateGetAccountBalance();
    await direct.privateGetAccountBalance();
    assert.deepEqual(vaulted.sent, direct.sent);
  });

  test('public requests never ask the vault', async () => {
    const { vaulted } = pair({ key: 'absent' });
    await vaulted.publicGetPublicTime();
    assert.equal('OK-ACCESS-SIGN' in vaulted.sent.headers, false);
  });

  test('a demo key without sandbox mode, or a live key in it, is refused', async () => {
    await assert.rejects(pair({ key: 'demo' }).vaulted.privateGetAccountBalance(), ccxt.AuthenticationError);
    await assert.rejects(pair({ key: 'main', sandbox: true }).vaulted.privateGetAccountBalance(), ccxt.AuthenticationError);
  });

  test('an apiKey that is not the vault key\'s is refused', async () => {
    const exchange = recording(vaultOkx(ccxt, { key: 'main', socketPath: daemon.socket }, { apiKey: 'other' }), Date.now());
    open.push(exchange);
    await assert.rejects(exchange.privateGetAccountBalance(), ccxt.AuthenticationError);
  });

  test('vault errors become ccxt errors', async () => {
    const { vaulted } = pair();
    await assert.rejects(vaulted.privatePostAssetWithdrawal({ ccy: 'BTC' }), ccxt.PermissionDenied);
    await assert.rejects(pair({ key: 'absent' }).vaulted.privateGetAccountBalance(), ccxt.AuthenticationError);
    const down = recording(vaultOkx(ccxt, { key: 'main', socketPath: `${daemon.dir}/missing.sock` }), Date.now());
    open.push(down);
    await assert.rejects(down.privateGetAccountBalance(), ccxt.NetworkError);
    assert.equal(vaulted.sent, undefined, 'a refused request was sent');
  });

  test('a secret or password given to ccxt is refused', () => {
    assert.throws(() => vaultOkx(ccxt, { key: 'main' }, { secret: SECRET }), /secret/);
    assert.throws(() => vaultOkx(ccxt, { key: 'main' }, { password: PASSPHRASE }), /password/);
    assert.throws(() => vaultOkx(ccxt, {}), /key/);
  });
});
