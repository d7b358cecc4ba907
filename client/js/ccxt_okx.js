'use strict';
// ccxt's okx exchange, signing its private requests through okx-vaultd.
//
//   const ccxt = require('ccxt');
//   const { vaultOkx } = require('okx-vault/ccxt_okx');
//   const exchange = vaultOkx(ccxt, { key: 'main' }, { enableRateLimit: true });
//   await exchange.fetchBalance();
//
// The instance holds no secret and no passphrase. ccxt's sign() is synchronous
// and the vault is not, so sign() below is ccxt's okx.sign() without the HMAC: it
// builds the exact path, query and body, and fetch() asks the vault for the
// headers over those bytes just before ccxt sends them. Public requests are
// ccxt's own.

const { Client, VaultError } = require('./okx_vault');

const SIMULATED = 'x-simulated-trading';

// A ccxt okx instance (of `okxClass`, default ccxt.okx; ccxt.pro.okx works too)
// whose private REST requests are signed with the vault's key `key`. `config` is
// ccxt's usual config, without `secret` and `password`: those stay in the vault.
function vaultOkx(ccxt, { key, socketPath, timeout, okxClass = ccxt.okx } = {}, config = {}) {
  if (typeof key !== 'string' || key === '') throw new TypeError('okx-vault: vaultOkx needs the vault key name: { key }');
  if (!(okxClass && okxClass.prototype instanceof ccxt.Exchange)) throw new TypeError('okx-vault: vaultOkx needs the ccxt module');
  for (const field of ['secret', 'password']) {
    if (config[field]) throw new TypeError(`okx-vault: do not give ccxt a ${field}: the vault keeps it`);
  }

  class VaultOkx extends okxClass {
    #vault = new Client({ socketPath, timeout });
    #pending = new WeakMap(); // headers object of a private request -> what to sign

    // Mirrors okx.sign() (js/src/okx.js) step by step, with ccxt's own helpers.
    sign(path, api = 'public', method = 'GET', params = {}, headers = undefined, body = undefined) {
      if (api !== 'private') return super.sign(path, api, method, params, headers, body);
      const isArray = Array.isArray(params);
      const request = '/api/' + this.version + '/' + this.implodeParams(path, params);
      const query = this.omit(params, this.extractParams(path));
      let url = this.implodeHostname(this.urls['api']['rest']) + request;
      if (method === 'POST' && ['trade/batch-orders', 'trade/order-algo', 'trade/order'].includes(path)) {
        this.#tagOrders(params);
      }
      let signedPath = request;
      if (method === 'GET') {
        if (Object.keys(query).length > 0) {
          const encodedQuery = '?' + this.urlencode(query);
          signedPath += encodedQuery;
          url += encodedQuery;
        }
      } else if (isArray || Object.keys(query).length > 0) {
        body = this.json(query);
      }
      headers = {};
      this.#pending.set(headers, { path: signedPath, timestamp: this.iso8601(this.#okxNonce()) });
      return { url, method, body, headers };
    }

    async fetch(url, method = 'GET', headers = undefined, body = undefined) {
      const pending = headers && this.#pending.get(headers);
      if (pending) headers = await this.#vaultHeaders(method, pending, body);
      return super.fetch(url, method, headers, body);
    }

    // ccxt's broker tag on new orders that carry no client order id.
    #tagOrders(params) {
      const brokerId = this.safeString(this.options, 'brokerId', '6b9ad766b55dBCDE');
      for (const entry of Array.isArray(params) ? params : [params]) {
        if (this.safeString(entry, 'clOrdId') === undefined) {
          entry['clOrdId'] = brokerId + this.uuid16();
          entry['tag'] = brokerId;
        }
      }
    }

    // Newer ccxt stamps okx requests with okx.nonce() (milliseconds corrected by
    // options.timeDifference); older ones with milliseconds().
    #okxNonce() {
      return okxDefinesNonce(this) ? this.nonce() : this.milliseconds();
    }

    async #vaultHeaders(method, { path, timestamp }, body) {
      let reply;
      try {
        reply = await this.#vault.sign(key, { method, path, body: body ?? '', timestamp });
      } catch (error) {
        if (!(error instanceof VaultError)) throw error;
        throw new (ccxt[CCXT_ERRORS[error.code] ?? 'ExchangeError'])('okx-vault: ' + error.message);
      }
      const headers = { ...reply.headers };
      const demoKey = SIMULATED in headers;
      if (demoKey !== SIMULATED in (this.headers ?? {})) {
        throw new ccxt.AuthenticationError(`okx-vault: key '${key}' is a ${demoKey ? 'demo' : 'live'} key but ccxt is ` +
          `${demoKey ? 'not ' : ''}in sandbox mode: call setSandboxMode(${demoKey})`);
      }
      if (this.apiKey && this.apiKey !== headers['OK-ACCESS-KEY']) {
        throw new ccxt.AuthenticationError(`okx-vault: ccxt's apiKey is not the api key of vault key '${key}'`);
      }
      return headers;
    }

    // ccxt's close(), and the vault's connections too.
    async close() {
      this.#vault.close();
      if (super.close) await super.close();
    }
  }
  return new VaultOkx(config);
}

// Vault errors as the ccxt errors bots already handle: an unreachable vault is a
// network error worth retrying, a refusal is a permission error.
const CCXT_ERRORS = {
  unreachable: 'NetworkError',
  forbidden: 'PermissionDenied',
  policy_denied: 'PermissionDenied',
  key_expired: 'PermissionDenied',
  key_not_found: 'AuthenticationError',
  timestamp_skew: 'InvalidNonce',
};

// Whether one of ccxt's okx classes (REST or pro) in the chain defines nonce().
function okxDefinesNonce(exchange) {
  for (let proto = Object.getPrototypeOf(exchange); proto; proto = Object.getPrototypeOf(proto)) {
    if (proto.constructor?.name === 'okx' && Object.prototype.hasOwnProperty.call(proto, 'nonce')) return true;
  }
  return false;
}

module.exports = { vaultOkx };
