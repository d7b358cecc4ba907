'use strict';
// The ccxt adapter against a real okx-vaultd and the real ccxt from the npm
// registry, in each version of ccxt_versions.js. Each private request goes
// through ccxt twice, signed by the vault and by ccxt holding the secret
// itself, on the same pinned clock: what would go on the wire (url, method,
// headers in order, body) must be identical. Nothing reaches OKX: ccxt's
// fetchImplementation hook records the request and answers it.

const assert = require('node:assert/strict');
const util = require('node:util');
const { after, before, describe, test } = require('node:test');

const { vaultOkx } = require('../ccxt_okx');
const { PLACEHOLDER } = require('../ccxt_shim');
const { VERSIONS } = require('./ccxt_versions');
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

// Records each request instead of sending it; the clock and ccxt's client
// order ids are pinned so that two instances build the same bytes.
function recording(exchange, now) {
  exchange.milliseconds = () => now;
  exchange.uuid16 = () => '0123456789abcdef';
  exchange.requests = [];
  exchange.fetchImplementation = async (url, { method, headers, body }) => {
    exchange.sent = { url, method, headers: { ...headers }, body };
    exchange.requests.push(exchange.sent);
    return new Response('{"code":"0","msg":"","data":[]}', { status: 200, headers: { 'Content-Type': 'application/json' } });
  };
  return exchange;
}

let daemon;

before(async () => {
  daemon = await VaultDaemon.start();
  daemon.addKey('main', API_KEY, SECRET, PASSPHRASE);
  daemon.addKey('demo', API_KEY, SECRET, PASSPHRASE, '--simulated');
});

after(async () => {
  await daemon.stop();
  const written = daemon.stateBytes();
  await daemon.close();
  assert.equal(written.includes(SECRET), false, 'the secret is in the daemon log or a state file');
});

for (const { ccxt, version } of VERSIONS) {
  describe(`ccxt ${version} okx through the vault`, () => {
    const open = [];

    after(async () => {
      for (const exchange of open) await exchange.close();
    });

    function pair({ key = 'main', sandbox = false, okxClass = ccxt.okx, config = {} } = {}) {
      const now = Date.now();
      const vaulted = recording(vaultOkx(ccxt, { key, socketPath: daemon.socket, okxClass }, config), now);
      const direct = recording(new okxClass({ ...config, apiKey: API_KEY, secret: SECRET, password: PASSPHRASE }), now);
      open.push(vaulted, direct);
      vaulted.setSandboxMode(sandbox);
      direct.setSandboxMode(sandbox);
      return { vaulted, direct };
    }

    function assertSame(vaulted, direct) {
      assert.deepEqual(vaulted.sent, direct.sent);
      assert.deepEqual(Object.keys(vaulted.sent.headers), Object.keys(direct.sent.headers));
    }

    async function sameRequest(call, options) {
      const { vaulted, direct } = pair(options);
      const logged = [];
      vaulted.verbose = true; // ccxt logs each request and response
      vaulted.log = (...args) => logged.push(util.format(...args));
      await call(vaulted);
      await call(direct);
      assertSame(vaulted, direct);
      assert.ok(logged.length > 0);
      assert.equal(logged.join('\n').includes(SECRET), false, 'the secret is in ccxt\'s log');
      assert.equal(holds(vaulted, SECRET), false, 'the ccxt instance holds the secret');
      assert.equal(holds(direct, SECRET), true); // the search does find it where it is
      assert.equal(vaulted.secret, `okx-vault:${options?.key ?? 'main'}`);
      assert.equal(vaulted.password, PLACEHOLDER);
      const { headers, method, url, body } = vaulted.sent;
      const path = url.slice(url.indexOf('/api/'));
      assert.equal(headers['OK-ACCESS-SIGN'], okxSign(SECRET, headers['OK-ACCESS-TIMESTAMP'] + method + path + (body ?? '')));
      return vaulted.sent;
    }

    test('GET with a query', async () => {
      const sent = await sameRequest((e) => e.privateGetAccountBalance({ ccy: 'BTC,ETH' }));
      assert.match(sent.url, /^https:\/\/www\.okx\.com\/api\/v5\/account\/balance\?ccy=BTC%2CETH$/);
      assert.equal(sent.headers['OK-ACCESS-PASSPHRASE'], PASSPHRASE);
      assert.equal(sent.headers['OK-ACCESS-KEY'], API_KEY);
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

    test('POST an order without a client id, as ccxt builds it', async () => {
      const order = { instId: 'BTC-USDT', tdMode: 'cash', side: 'buy', ordType: 'limit', px: '1', sz: '0.01' };
      await sameRequest((e) => e.privatePostTradeOrder({ ...order }));
    });

    test('POST with an array body (a batch), broker-tagged', async () => {
      const orders = [0, 1].map((i) => ({ instId: 'BTC-USDT', side: 'buy', sz: '1', ...(i ? { clOrdId: `b${i}` } : {}) }));
      const sent = await sameRequest((e) => e.privatePostTradeBatchOrders(orders.map((o) => ({ ...o }))));
      const [tagged, own] = JSON.parse(sent.body);
      assert.match(tagged.clOrdId, /^[0-9A-Za-z]+0123456789abcdef$/);
      assert.equal(tagged.tag, tagged.clOrdId.slice(0, -16));
      assert.equal(own.clOrdId, 'b1');
      assert.match(sent.body, /^\[\{/);
    });

    test('a unified createOrder', async () => {
      const markets = { 'BTC/USDT': { id: 'BTC-USDT', symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', baseId: 'BTC', quoteId: 'USDT', type: 'spot', spot: true, active: true, precision: { amount: 0.00000001, price: 0.1 }, limits: { amount: {}, price: {}, cost: {} } } };
      await sameRequest((e) => { e.setMarkets(Object.values(markets)); return e.createOrder('BTC/USDT', 'limit', 'buy', 0.01, 20000).catch(() => {}); });
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
      assertSame(vaulted, direct);
    });

    test('fetchCurrencies, which needs credentials, works', async () => {
      const { vaulted } = pair();
      await vaulted.fetchCurrencies();
      assert.ok(vaulted.requests.some((r) => r.url.includes('/api/v5/asset/currencies') && 'OK-ACCESS-SIGN' in r.headers));
    });

    test('public requests never ask the vault', async () => {
      const { vaulted } = pair({ key: 'absent' });
      await vaulted.publicGetPublicTime();
      assert.equal('OK-ACCESS-SIGN' in vaulted.sent.headers, false);
    });

    test('a demo key without sandbox mode, or a live key in it, is refused before sending', async () => {
      for (const [key, sandbox] of [['demo', false], ['main', true]]) {
        const { vaulted } = pair({ key, sandbox });
        await assert.rejects(vaulted.privateGetAccountBalance(), (e) => e instanceof ccxt.AuthenticationError && /sandbox mode/.test(e.message));
        assert.equal(vaulted.sent, undefined);
      }
    });

    test('the real apiKey and any password beside the okx-vault: secret sign as ccxt would', async () => {
      vaultOkx(ccxt, { key: 'main' }); // patches this ccxt
      for (const password of ['okx-vault', 'not-the-passphrase']) {
        const now = Date.now();
        const config = { apiKey: API_KEY, secret: 'okx-vault:main', password, options: { okxVaultSocket: daemon.socket } };
        const vaulted = recording(new ccxt.okx(config), now);
        const direct = recording(new ccxt.okx({ apiKey: API_KEY, secret: SECRET, password: PASSPHRASE }), now);
        open.push(vaulted, direct);
        await vaulted.privateGetAccountBalance({ ccy: 'BTC' });
        await direct.privateGetAccountBalance({ ccy: 'BTC' });
        assertSame(vaulted, direct);
        assert.equal(vaulted.sent.headers['OK-ACCESS-PASSPHRASE'], PASSPHRASE);
      }
    });

    test('an apiKey that is not the vault key\'s is refused', async () => {
      const exchange = recording(vaultOkx(ccxt, { key: 'main', socketPath: daemon.socket }, { apiKey: 'other' }), Date.now());
      open.push(exchange);
      await assert.rejects(exchange.privateGetAccountBalance(), ccxt.AuthenticationError);
      assert.equal(exchange.sent, undefined);
    });

    test('vault errors become ccxt errors', async () => {
      const { vaulted } = pair();
      await assert.rejects(vaulted.privatePostAssetWithdrawal({ ccy: 'BTC' }), (e) => e instanceof ccxt.PermissionDenied && /policy_denied/.test(e.message));
      await assert.rejects(pair({ key: 'absent' }).vaulted.privateGetAccountBalance(), ccxt.AuthenticationError);
      const down = recording(vaultOkx(ccxt, { key: 'main', socketPath: `${daemon.dir}/missing.sock` }), Date.now());
      open.push(down);
      await assert.rejects(down.privateGetAccountBalance(), ccxt.NetworkError);
      assert.equal(vaulted.sent, undefined, 'a refused request was sent');
    });

    test('any instance with the secret okx-vault:NAME signs through the vault; others are untouched', async () => {
      vaultOkx(ccxt, { key: 'main' }); // patches this ccxt
      const now = Date.now();
      const plain = recording(new ccxt.okx({ secret: 'okx-vault:main', options: { okxVaultSocket: daemon.socket } }), now);
      const direct = recording(new ccxt.okx({ apiKey: API_KEY, secret: SECRET, password: PASSPHRASE, options: { okxVaultSocket: '/nonexistent' } }), now);
      open.push(plain, direct);
      await plain.privateGetAccountBalance();
      await direct.privateGetAccountBalance();
      assertSame(plain, direct);
    });

    // A daemon of its own for a test that locks or stops it.
    async function ownDaemon(t) {
      const own = await VaultDaemon.start();
      t.after(() => own.close());
      own.addKey('main', API_KEY, SECRET, PASSPHRASE);
      const exchange = recording(vaultOkx(ccxt, { key: 'main', socketPath: own.socket }), Date.now());
      open.push(exchange);
      await exchange.privateGetAccountBalance();
      assert.equal(exchange.requests.length, 1);
      return { own, exchange };
    }

    test('a vault locked with okx-vault lock: ExchangeNotAvailable, and signing again once unlocked', async (t) => {
      const { own, exchange } = await ownDaemon(t);
      const locked = own.cli(['lock']);
      assert.equal(locked.status, 0, locked.stderr);
      await assert.rejects(exchange.privateGetAccountBalance(), (e) => e instanceof ccxt.ExchangeNotAvailable && /vault_locked/.test(e.message));
      assert.equal(exchange.requests.length, 1, 'nothing was sent while locked');
      const unlocked = own.cli(['unlock']);
      assert.equal(unlocked.status, 0, unlocked.stderr);
      await exchange.privateGetAccountBalance();
      assert.equal(exchange.requests.length, 2);
    });

    test('a daemon stopped mid-session: NetworkError (not ExchangeNotAvailable)', async (t) => {
      const { own, exchange } = await ownDaemon(t);
      await own.stop();
      await assert.rejects(exchange.privateGetAccountBalance(), (e) => e instanceof ccxt.NetworkError &&
        !(e instanceof ccxt.ExchangeNotAvailable) && /unreachable/.test(e.message));
      assert.equal(exchange.requests.length, 1);
    });

    test('a secret or password given to ccxt is refused', () => {
      assert.throws(() => vaultOkx(ccxt, { key: 'main' }, { secret: SECRET }), /secret/);
      assert.throws(() => vaultOkx(ccxt, { key: 'main' }, { password: PASSPHRASE }), /password/);
      assert.throws(() => vaultOkx(ccxt, {}), /key/);
      assert.throws(() => vaultOkx({}, { key: 'main' }), /ccxt module/);
      assert.throws(() => vaultOkx(ccxt, { key: 'main', okxClass: ccxt.binance }), /okx/);
    });
  });
}
