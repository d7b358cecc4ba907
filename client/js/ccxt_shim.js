'use strict';
// Any ccxt okx instance whose secret is `okx-vault:NAME` signs through the
// vault's key NAME; every other instance is left as it is.
//
//   node --require okx-vault/register bot.js      (or NODE_OPTIONS=--require=...)
//   const exchange = new ccxt.okx({ secret: 'okx-vault:main' });
//   await exchange.fetchBalance();
//
// okx-vault/register patches ccxt's okx and ccxt.pro's okx classes, in
// ccxt's CommonJS build (require) and in its ES module build (import): the two
// are separate classes, see register.js. The patches are these:
//
// ccxt's own sign() builds every request as usual, with placeholders for the
// api key and passphrase it does not have (so that its credential checks pass
// and fetchCurrencies, for one, works); then, in fetch(), just before the
// request is sent, the vault signs exactly the method, the path and query of
// the URL ccxt built, ccxt's body and ccxt's OK-ACCESS-TIMESTAMP, and its
// OK-ACCESS-KEY, -SIGN and -PASSPHRASE replace ccxt's. Everything else (broker
// tags, timeDifference, batch bodies, the x-simulated-trading header of sandbox
// mode) stays ccxt's. ccxt.pro's login to private WebSockets sends the
// daemon's ws-login frame. An apiKey given to ccxt must be the vault key's, for
// REST and WebSocket alike, or nothing is sent. close() closes the vault's
// connections too.
//
// The socket is the instance's options.okxVaultSocket, else $OKX_VAULT_SOCKET,
// else the default; options.okxVaultTimeout (ms) bounds each vault call.
// Errors from the vault are ccxt's (see CCXT_ERRORS).

const { Client, VaultError } = require('./okx_vault');

const PREFIX = 'okx-vault:';
// What ccxt holds for the credentials the vault keeps: never sent, since the
// vault's headers replace every header that carries them.
const PLACEHOLDER = 'okx-vault';
const SIMULATED = 'x-simulated-trading';
const VAULT_HEADERS = ['OK-ACCESS-KEY', 'OK-ACCESS-SIGN', 'OK-ACCESS-PASSPHRASE'];
// On a patched prototype; shared by every copy of this module in the process.
const PATCHED = Symbol.for('okx-vault.ccxt.patched');

// Vault errors as the ccxt errors bots already handle: an unreachable vault is
// a network error worth retrying, a locked one an exchange that is not
// available, a refusal a permission error.
const CCXT_ERRORS = {
  unreachable: 'NetworkError',
  too_many_connections: 'ExchangeNotAvailable',
  vault_locked: 'ExchangeNotAvailable',
  audit_unavailable: 'ExchangeNotAvailable',
  policy_denied: 'PermissionDenied',
  rate_limited: 'PermissionDenied',
  forbidden: 'PermissionDenied',
  key_expired: 'PermissionDenied',
  key_not_found: 'AuthenticationError',
  timestamp_skew: 'InvalidNonce',
};

// The ccxt exception (from `errors`, the error classes of the ccxt build the
// instance comes from) for a VaultError, its message naming the daemon's rule.
function ccxtError(errors, error, key) {
  const what = key === undefined ? 'okx-vault' : `okx-vault key '${key}'`;
  let message = `${what}: ${error.message}`;
  if (error.rule && !error.message.includes(error.rule)) message += ` (rule: ${error.rule})`;
  const Class = errors[CCXT_ERRORS[error.code] ?? 'ExchangeError'] ?? errors.ExchangeError ?? Error;
  const exception = new Class(message);
  exception.cause = error;
  return exception;
}

// NAME if the instance's secret is okx-vault:NAME, else undefined.
function vaultKey(exchange) {
  const secret = exchange.secret;
  return typeof secret === 'string' && secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : undefined;
}

// An instance's link to the vault: its client and what the key list says.
class Binding {
  constructor(key, client) {
    this.key = key;
    this.client = client;
    this.simulated = undefined; // the key's demo flag, from the vault's key list
    this.listing = undefined;
  }

  // Throws before anything is signed for an unknown key, or a demo key used
  // live (or a live one in sandbox mode).
  async checkMode(exchange, errors) {
    if (this.simulated === undefined) {
      this.listing ??= this.client.list().finally(() => { this.listing = undefined; });
      const listed = (await this.listing).filter((k) => k && k.name === this.key);
      if (listed.length === 0) {
        throw new errors.AuthenticationError(`okx-vault: no key '${this.key}' in the vault at ${this.client.socketPath}, ` +
          'or none this user may sign with');
      }
      this.simulated = Boolean(listed[0].simulated);
    }
    const sandbox = SIMULATED in (exchange.headers ?? {});
    if (this.simulated !== sandbox) {
      throw new errors.AuthenticationError(`okx-vault: key '${this.key}' is a ${this.simulated ? 'demo' : 'live'} key but ccxt is ` +
        `${this.simulated ? 'not ' : ''}in sandbox mode: call setSandboxMode(${this.simulated})`);
    }
  }

  // An api key given to ccxt must be the vault key's: else the bot believes it
  // trades on one account and signs for another.
  checkApiKey(exchange, errors, vaultApiKey) {
    const apiKey = exchange.apiKey;
    if (apiKey && apiKey !== PLACEHOLDER && apiKey !== vaultApiKey) {
      throw new errors.AuthenticationError(`okx-vault: ccxt's apiKey is not the api key of vault key '${this.key}'`);
    }
  }

  apply(exchange, errors, headers, vaultHeaders) {
    if ((SIMULATED in vaultHeaders) !== (SIMULATED in (exchange.headers ?? {}))) {
      throw new errors.AuthenticationError(`okx-vault: key '${this.key}' and ccxt's sandbox mode disagree`);
    }
    this.checkApiKey(exchange, errors, vaultHeaders['OK-ACCESS-KEY']);
    for (const name of VAULT_HEADERS) headers[name] = vaultHeaders[name];
  }
}

const bindings = new WeakMap(); // exchange -> Binding

function binding(exchange) {
  const key = vaultKey(exchange);
  let current = bindings.get(exchange);
  if (current && current.key === key) return current;
  if (current) current.client.close(); // the secret now names another key
  const options = exchange.options ?? {};
  current = new Binding(key, new Client({ socketPath: options.okxVaultSocket, timeout: options.okxVaultTimeout }));
  bindings.set(exchange, current);
  return current;
}

// The vault client of an instance that signs through the vault, else undefined.
function vaultClient(exchange) {
  return vaultKey(exchange) === undefined ? undefined : binding(exchange).client;
}

// Only what is missing: an api key given to ccxt is checked against the vault's.
function fillPlaceholders(exchange) {
  if (!exchange.apiKey) exchange.apiKey = PLACEHOLDER;
  if (!exchange.password) exchange.password = PLACEHOLDER;
}

// Runs a vault call for `exchange`, its VaultErrors as ccxt's.
async function throughVault(exchange, errors, call) {
  const link = binding(exchange);
  try {
    await link.checkMode(exchange, errors);
    return await call(link);
  } catch (error) {
    if (error instanceof VaultError) throw ccxtError(errors, error, link.key);
    throw error;
  }
}

// The path with its query of the URL ccxt built.
function signedPath(url) {
  const start = url.indexOf('/', url.indexOf('://') + 3);
  return start >= 0 ? url.slice(start) : '/';
}

function isPatched(cls) {
  return Object.prototype.hasOwnProperty.call(cls.prototype, PATCHED);
}

// ccxt's okx (REST; ccxt.pro's okx inherits it): credentials, fetch, close.
// `errors`: the error classes of the same ccxt build (the ccxt module itself,
// or its base/errors module).
function patchRest(cls, errors) {
  if (isPatched(cls)) return;
  const proto = cls.prototype;
  const { checkRequiredCredentials, fetch, close } = proto;

  proto.checkRequiredCredentials = function (...args) {
    if (vaultKey(this) !== undefined) fillPlaceholders(this);
    return checkRequiredCredentials.apply(this, args);
  };

  proto.fetch = async function (url, method = 'GET', headers = undefined, body = undefined, ...rest) {
    if (headers && headers['OK-ACCESS-SIGN'] !== undefined && vaultKey(this) !== undefined) {
      const request = { method, path: signedPath(url), body: body ?? '', timestamp: headers['OK-ACCESS-TIMESTAMP'] };
      await throughVault(this, errors, async (link) => {
        const reply = await link.client.sign(link.key, request);
        link.apply(this, errors, headers, reply.headers ?? {});
      });
    }
    return fetch.call(this, url, method, headers, body, ...rest);
  };

  proto.close = async function (...args) {
    try {
      return close ? await close.apply(this, args) : undefined;
    } finally {
      const link = bindings.get(this);
      if (link) {
        bindings.delete(this);
        link.client.close();
      }
    }
  };

  Object.defineProperty(proto, PATCHED, { value: 'rest' });
}

// The daemon's login frame for the authenticate() running now: set just
// around ccxt's authenticate(), which calls watch() synchronously.
const frames = new WeakMap(); // exchange -> frame

// ccxt.pro's okx: authenticate() builds and sends its login message as usual,
// with the daemon's ws-login frame's arguments in place of its own.
function patchPro(cls, errors) {
  if (isPatched(cls)) return;
  const proto = cls.prototype;
  const { authenticate, watch } = proto;

  proto.authenticate = async function (params = {}, ...rest) {
    if (vaultKey(this) === undefined) return authenticate.call(this, params, ...rest);
    fillPlaceholders(this);
    const access = this.safeString(params, 'access', 'private');
    const client = this.client(this.getUrl('users', access));
    let frame;
    if (this.safeValue(client.subscriptions, 'authenticated') === undefined) {
      frame = await throughVault(this, errors, async (link) => {
        const login = JSON.parse(await link.client.wsLogin(link.key, { timestamp: String(this.seconds()) }));
        link.checkApiKey(this, errors, login.args?.[0]?.apiKey);
        return login;
      });
    }
    let result;
    frames.set(this, frame);
    try {
      result = authenticate.call(this, params, ...rest);
    } finally {
      frames.delete(this);
    }
    return await result;
  };

  proto.watch = function (url, messageHash, message, ...rest) {
    const frame = frames.get(this);
    if (frame !== undefined && message && message.op === 'login') message = { ...message, args: frame.args };
    return watch.call(this, url, messageHash, message, ...rest);
  };

  Object.defineProperty(proto, PATCHED, { value: 'pro' });
}

// Patches ccxt.okx and ccxt.pro.okx of a loaded ccxt module (CommonJS exports,
// or the default export of the ES module build); true if it is one.
function patchCcxt(ccxt) {
  let okx;
  let pro;
  try {
    if (ccxt === null || (typeof ccxt !== 'object' && typeof ccxt !== 'function')) return false;
    okx = ccxt.okx;
    if (typeof okx !== 'function' || typeof ccxt.Exchange !== 'function' || !(okx.prototype instanceof ccxt.Exchange)) return false;
    pro = ccxt.pro && ccxt.pro.okx;
  } catch {
    return false;
  }
  patchRest(okx, ccxt);
  if (typeof pro === 'function') patchPro(pro, ccxt);
  return true;
}

module.exports = {
  CCXT_ERRORS, PLACEHOLDER, PREFIX, ccxtError, isPatched, patchCcxt, patchPro, patchRest, vaultClient, vaultKey,
};
