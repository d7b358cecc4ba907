'use strict';
// A stand-in for OKX's REST API on 127.0.0.1: canned public data, and private
// requests checked as OKX checks them (OK-ACCESS-SIGN over timestamp, method,
// path with query and body, with the secret of the OK-ACCESS-KEY; the
// passphrase; the timestamp within 30 s). Every request it received is
// recorded: {method, path, headers, body, verified, refusal}.

const http = require('node:http');
const https = require('node:https');
const { okxSign } = require('./reference');

const INSTRUMENT = {
  instType: 'SPOT', instId: 'BTC-USDT', uly: '', instFamily: '', baseCcy: 'BTC', quoteCcy: 'USDT', settleCcy: '', ctVal: '',
  ctMult: '', ctValCcy: '', optType: '', stk: '', listTime: '1548133413000', expTime: '', lever: '10', tickSz: '0.1',
  lotSz: '0.00000001', minSz: '0.00001', ctType: '', alias: '', state: 'live', maxLmtSz: '9999999999', maxMktSz: '1000000',
};
const CURRENCIES = [
  { ccy: 'BTC', chain: 'BTC-Bitcoin', name: 'Bitcoin', canDep: true, canWd: true, canInternal: true, minWd: '0.0005', maxWd: '500', wdTickSz: '8', minFee: '0.0001', maxFee: '0.0002', mainNet: true },
  { ccy: 'USDT', chain: 'USDT-TRC20', name: 'Tether', canDep: true, canWd: true, canInternal: true, minWd: '1', maxWd: '1000000', wdTickSz: '6', minFee: '1', maxFee: '2', mainNet: false },
];

const ok = (data) => [200, { code: '0', msg: '', data }];

class OkxStandIn {
  // `credentials`: {apiKey: [secret, passphrase]}; `tls`: {key, cert} to
  // serve HTTPS, as OKX does, else HTTP.
  static async start(credentials, { tls } = {}) {
    const standin = new OkxStandIn(credentials, tls);
    await new Promise((resolve) => standin.server.listen(0, '127.0.0.1', resolve));
    standin.url = `${tls ? 'https' : 'http'}://127.0.0.1:${standin.server.address().port}`;
    return standin;
  }

  constructor(credentials, tls) {
    this.credentials = credentials;
    this.requests = [];
    const serve = (request, response) => {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk) => { body += chunk; });
      request.on('end', () => {
        const [status, reply] = this.handle(request.method, request.url, request.headers, body);
        const data = JSON.stringify(reply);
        response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) });
        response.end(data);
      });
    };
    this.server = tls ? https.createServer(tls, serve) : http.createServer(serve);
  }

  private() {
    return this.requests.filter((r) => r.headers['ok-access-sign'] !== undefined);
  }

  // undefined if OKX would accept the request's authentication, else why not.
  // `headers` as node gives them, lower-cased.
  verify(method, path, headers, body) {
    const credentials = this.credentials[headers['ok-access-key']];
    if (!credentials) return 'unknown api key';
    const [secret, passphrase] = credentials;
    if (headers['ok-access-passphrase'] !== passphrase) return 'wrong passphrase';
    const timestamp = headers['ok-access-timestamp'] ?? '';
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(timestamp)) return 'bad timestamp';
    if (Math.abs(Date.parse(timestamp) - Date.now()) > 30000) return 'timestamp expired';
    return headers['ok-access-sign'] === okxSign(secret, timestamp + method + path + body) ? undefined : 'invalid sign';
  }

  handle(method, path, headers, body) {
    const isPrivate = headers['ok-access-sign'] !== undefined;
    const refusal = isPrivate ? this.verify(method, path, headers, body) : undefined;
    this.requests.push({ method, path, headers, body, verified: isPrivate && refusal === undefined, refusal });
    if (refusal) return [401, { code: '50113', msg: `Invalid Sign (${refusal})`, data: [] }];
    const route = path.split('?')[0];
    if (route === '/api/v5/public/instruments') return ok(path.includes('instType=SPOT') ? [INSTRUMENT] : []);
    if (route === '/api/v5/public/time') return ok([{ ts: String(Date.now()) }]);
    if (!isPrivate) return [404, { code: '50000', msg: 'not in the stand-in', data: [] }];
    if (route === '/api/v5/asset/currencies') return ok(CURRENCIES);
    if (route === '/api/v5/account/balance') {
      return ok([{ uTime: '1700000000000', totalEq: '100', details: [{ ccy: 'USDT', availBal: '100', cashBal: '100', frozenBal: '0', eq: '100', uTime: '1700000000000' }] }]);
    }
    if ((route === '/api/v5/trade/order' || route === '/api/v5/trade/batch-orders') && method === 'POST') {
      const orders = JSON.parse(body);
      return ok((Array.isArray(orders) ? orders : [orders]).map((order, i) => ({ ordId: String(1001 + i), clOrdId: order.clOrdId ?? '', tag: order.tag ?? '', sCode: '0', sMsg: '' })));
    }
    return ok([]);
  }

  close() {
    this.server.closeAllConnections?.();
    return new Promise((resolve) => this.server.close(resolve));
  }
}

module.exports = { OkxStandIn, INSTRUMENT };
