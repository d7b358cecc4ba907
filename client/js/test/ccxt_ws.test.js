'use strict';
// ccxt.pro okx's private WebSocket login through the vault, against a local
// stand-in for OKX's WebSocket API that checks a login as OKX does:
// sign = base64(HMAC-SHA256(secret, timestamp + 'GET' + '/users/self/verify')),
// the api key and passphrase, the timestamp within 30 s; then watchBalance,
// watchOrders, watchPositions and createOrderWs on the logged-in connection.
// Its REST requests (markets, currencies) are answered by ccxt's
// fetchImplementation hook.

const assert = require('node:assert/strict');
const { after, before, describe, test } = require('node:test');
const { WebSocketServer } = require('ws'); // ccxt's own dependency

const { vaultOkx } = require('../ccxt_okx');
const { patchCcxt } = require('../ccxt_shim');
const { VERSIONS } = require('./ccxt_versions');
const { okxSign } = require('./reference');
const { VaultDaemon } = require('./vault_daemon');

const API_KEY = '37c5e7d2-96a3-4d4f-9d4b-1f0a2b3c8418';
const SECRET = 'SECRET-ws-js-1a2b3c4d5e6f7a8b9c0d';
const PASSPHRASE = 'PASSPHRASE-ws-js-Pp5';
const DEMO_API_KEY = '5a1f0b9c-0000-4d4f-9d4b-1f0a2b3c0000';
const DEMO_SECRET = 'SECRET-ws-js-demo-77aa55bb33cc11dd';
const DEMO_PASSPHRASE = 'PASSPHRASE-ws-js-demo-Zz9';
const NOW = () => String(Date.now());

const INSTRUMENT = {
  instType: 'SPOT', instId: 'BTC-USDT', uly: '', instFamily: '', baseCcy: 'BTC', quoteCcy: 'USDT', settleCcy: '', ctVal: '',
  ctMult: '', ctValCcy: '', optType: '', stk: '', listTime: '1548133413000', expTime: '', lever: '10', tickSz: '0.1',
  lotSz: '0.00000001', minSz: '0.00001', ctType: '', alias: '', state: 'live', maxLmtSz: '9999999999', maxMktSz: '1000000',
};
const ACCOUNT = { uTime: NOW(), totalEq: '100', details: [{ ccy: 'USDT', availBal: '90', cashBal: '100', eq: '100', frozenBal: '10', uTime: NOW() }] };
const POSITION = {
  instType: 'MARGIN', instId: 'BTC-USDT', posId: '616057041198907393', posSide: 'net', pos: '0.5', posCcy: 'BTC', ccy: 'USDT',
  avgPx: '20000', mgnMode: 'cross', lever: '3', upl: '1', markPx: '20002', notionalUsd: '10000', liqPx: '', imr: '', mmr: '',
  margin: '', mgnRatio: '', cTime: NOW(), uTime: NOW(),
};
const ORDER = {
  instType: 'SPOT', instId: 'BTC-USDT', ordId: '312269865356374016', clOrdId: 'bot1', px: '20000', sz: '0.01', side: 'buy',
  ordType: 'limit', state: 'live', tdMode: 'cash', cTime: NOW(), uTime: NOW(), fillSz: '0', accFillSz: '0', avgPx: '', fee: '0', feeCcy: 'BTC',
};

// OKX's private WebSocket, as far as logins, the account, orders and
// positions channels and the order operation go. `credentials`:
// {apiKey: [secret, passphrase]}.
class OkxWsStandIn {
  static async start(credentials) {
    const standin = new OkxWsStandIn(credentials);
    await new Promise((resolve) => standin.server.on('listening', resolve));
    standin.url = `ws://127.0.0.1:${standin.server.address().port}/ws/v5`;
    return standin;
  }

  constructor(credentials) {
    this.credentials = credentials;
    this.logins = []; // [{args, accepted, refusal, path}]
    this.orders = []; // [{frame, loggedIn}]
    this.server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    this.server.on('connection', (socket, request) => this.serve(socket, request.url));
  }

  verify(login) {
    const credentials = this.credentials[login.apiKey];
    if (!credentials) return 'unknown api key';
    if (login.passphrase !== credentials[1]) return 'wrong passphrase';
    if (Math.abs(Number(login.timestamp) - Date.now() / 1000) > 30) return 'timestamp expired';
    if (login.sign !== okxSign(credentials[0], login.timestamp + 'GET' + '/users/self/verify')) return 'invalid sign';
    return undefined;
  }

  serve(socket, path) {
    let loggedIn = false;
    const send = (message) => socket.send(JSON.stringify(message));
    socket.on('message', (data) => {
      const text = data.toString();
      if (text === 'ping') return socket.send('pong');
      const message = JSON.parse(text);
      if (message.op === 'login') {
        const refusal = this.verify(message.args[0]);
        this.logins.push({ args: message.args, accepted: !refusal, refusal, path });
        loggedIn = !refusal;
        return send(refusal ? { event: 'error', code: '60009', msg: `Login failed: ${refusal}` } : { event: 'login', code: '0', msg: '', connId: 'c1' });
      }
      if (message.op === 'order' || message.op === 'batch-orders') {
        this.orders.push({ frame: message, loggedIn });
        if (!loggedIn) return send({ id: message.id, op: message.op, code: '60011', msg: 'Please log in', data: [] });
        return send({
          id: message.id, op: message.op, code: '0', msg: '',
          data: message.args.map((order, i) => ({ ordId: String(2001 + i), clOrdId: order.clOrdId ?? '', tag: order.tag ?? '', ts: NOW(), sCode: '0', sMsg: '' })),
        });
      }
      if (message.op === 'subscribe') {
        for (const arg of message.args) {
          if (!loggedIn) return send({ event: 'error', code: '60011', msg: 'Please log in' });
          send({ event: 'subscribe', arg, connId: 'c1' });
          if (arg.channel === 'account') send({ arg: { channel: 'account', uid: '7' }, data: [ACCOUNT] });
          if (arg.channel === 'orders') send({ arg: { channel: 'orders', instType: arg.instType, uid: '7' }, data: [ORDER] });
          if (arg.channel === 'positions') send({ arg: { channel: 'positions', instType: arg.instType, uid: '7' }, data: [POSITION] });
        }
      }
      return undefined;
    });
  }

  close() {
    for (const client of this.server.clients) client.terminate();
    return new Promise((resolve) => this.server.close(resolve));
  }
}

let daemon;
let standin;
before(async () => {
  daemon = await VaultDaemon.start();
  daemon.addKey('main', API_KEY, SECRET, PASSPHRASE);
  daemon.addKey('demo', DEMO_API_KEY, DEMO_SECRET, DEMO_PASSPHRASE, '--simulated');
  standin = await OkxWsStandIn.start({ [API_KEY]: [SECRET, PASSPHRASE], [DEMO_API_KEY]: [DEMO_SECRET, DEMO_PASSPHRASE] });
});
after(async () => {
  await standin.close();
  await daemon.close();
});

for (const { ccxt, version } of VERSIONS) {
  describe(`ccxt ${version}: ccxt.pro okx WebSocket login through the vault`, () => {
    const open = [];
    after(async () => {
      for (const exchange of open) await exchange.close();
    });

    // Pointed at the stand-ins; ccxt needs its agent loaded for a ws:// URL.
    async function local(exchange, sandbox = false) {
      exchange.setSandboxMode(sandbox);
      exchange.urls.api.ws = standin.url;
      await exchange.loadHttpProxyAgent();
      exchange.fetchImplementation = async (url) => {
        const data = url.includes('/public/instruments') && url.includes('instType=SPOT') ? [INSTRUMENT] : [];
        return new Response(JSON.stringify({ code: '0', msg: '', data }), { status: 200, headers: { 'Content-Type': 'application/json' } });
      };
      open.push(exchange);
      return exchange;
    }

    function proOkx(key, { sandbox = false } = {}) {
      return local(vaultOkx(ccxt, { key, socketPath: daemon.socket, okxClass: ccxt.pro.okx }), sandbox);
    }

    test('watchBalance and watchOrders with a vault key', async () => {
      const before = standin.logins.length;
      const exchange = await proOkx('main');
      const balance = await exchange.watchBalance();
      assert.equal(balance.USDT.free, 90);
      assert.equal(balance.USDT.total, 100);
      const orders = await exchange.watchOrders();
      assert.equal(orders[0].id, ORDER.ordId);
      assert.equal(orders[0].symbol, 'BTC/USDT');
      const logins = standin.logins.slice(before);
      assert.equal(logins.length, 1, 'one login for both channels');
      assert.equal(logins[0].accepted, true);
      assert.equal(logins[0].args[0].apiKey, API_KEY);
      assert.equal(logins[0].path, '/ws/v5/private');
    });

    test('watchPositions and createOrderWs with a vault key', async () => {
      const before = standin.logins.length;
      const ordersBefore = standin.orders.length;
      const exchange = await proOkx('main');
      const positions = await exchange.watchPositions();
      assert.equal(positions[0].symbol, 'BTC/USDT');
      assert.equal(positions[0].contracts, 0.5);
      const order = await exchange.createOrderWs('BTC/USDT', 'limit', 'buy', 0.001, 1000, { op: 'order' });
      assert.equal(order.id, '2001');
      const [{ frame, loggedIn }] = standin.orders.slice(ordersBefore);
      assert.equal(frame.op, 'order');
      assert.equal(frame.args[0].instId, 'BTC-USDT');
      assert.equal(frame.args[0].px, '1000');
      assert.equal(loggedIn, true, 'the order came after an accepted login');
      const logins = standin.logins.slice(before);
      assert.equal(logins.length, 1);
      assert.equal(logins[0].accepted, true);
    });

    test('the stand-in refuses a login outside 30 s, as OKX does', () => {
      const login = (timestamp) => ({ apiKey: API_KEY, passphrase: PASSPHRASE, timestamp, sign: okxSign(SECRET, `${timestamp}GET/users/self/verify`) });
      const now = Math.floor(Date.now() / 1000);
      assert.equal(standin.verify(login(String(now - 31))), 'timestamp expired');
      assert.equal(standin.verify(login(String(now + 31))), 'timestamp expired');
      assert.equal(standin.verify(login(String(now))), undefined);
    });

    test('the real apiKey and any password beside the okx-vault: secret log in', async () => {
      patchCcxt(ccxt);
      const before = standin.logins.length;
      const exchange = await local(new ccxt.pro.okx({ apiKey: API_KEY, secret: 'okx-vault:main', password: 'okx-vault', options: { okxVaultSocket: daemon.socket } }));
      const balance = await exchange.watchBalance();
      assert.equal(balance.USDT.total, 100);
      const [login] = standin.logins.slice(before);
      assert.equal(login.accepted, true);
      assert.equal(login.args[0].passphrase, PASSPHRASE);
    });

    test('an apiKey that is not the vault key\'s is refused before the login', async () => {
      const before = standin.logins.length;
      const exchange = await local(vaultOkx(ccxt, { key: 'main', socketPath: daemon.socket, okxClass: ccxt.pro.okx }, { apiKey: DEMO_API_KEY }));
      // authenticate() alone: watchBalance would load the markets first, and
      // the REST request for the currencies would be refused before the login.
      await assert.rejects(exchange.authenticate(), (e) => e instanceof ccxt.AuthenticationError && /apiKey/.test(e.message));
      assert.equal(standin.logins.length, before);
    });

    test('a demo key in sandbox mode logs in with the demo credentials', async () => {
      const before = standin.logins.length;
      const balance = await (await proOkx('demo', { sandbox: true })).watchBalance();
      assert.equal(balance.USDT.total, 100);
      const [login] = standin.logins.slice(before);
      assert.equal(login.accepted, true);
      assert.equal(login.args[0].apiKey, DEMO_API_KEY);
      assert.match(login.path, /brokerId=9999/);
    });

    test('an instance with its own secret logs in as ccxt does', async () => {
      const before = standin.logins.length;
      const exchange = await local(new ccxt.pro.okx({ apiKey: API_KEY, secret: SECRET, password: PASSPHRASE }));
      await exchange.watchBalance();
      assert.equal(standin.logins.slice(before)[0].accepted, true);
    });

    test('no login frame for a key the vault refuses, or a demo key live', async () => {
      const before = standin.logins.length;
      await assert.rejects((await proOkx('absent')).watchBalance(), ccxt.AuthenticationError);
      await assert.rejects((await proOkx('demo')).watchBalance(), ccxt.AuthenticationError);
      assert.equal(standin.logins.length, before);
    });
  });
}
