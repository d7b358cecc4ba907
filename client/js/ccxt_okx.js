'use strict';
// ccxt's okx exchange, signing its private requests through okx-vaultd.
//
//   const ccxt = require('ccxt');            // or: import ccxt from 'ccxt'
//   const { vaultOkx } = require('okx-vault/ccxt');
//   const exchange = vaultOkx(ccxt, { key: 'main' }, { enableRateLimit: true });
//   await exchange.fetchBalance();
//
// Works with ccxt.okx and ccxt.pro.okx (and their subclasses), from ccxt's
// CommonJS or ES module build. The instance holds no secret and no passphrase:
// its secret is the placeholder `okx-vault:KEY`, which the patches of
// ccxt_shim.js (installed on the given ccxt module by this call) recognise; see
// there how a request is signed. Public requests are ccxt's own.

const shim = require('./ccxt_shim');

// A ccxt okx instance (of `okxClass`, default ccxt.okx; ccxt.pro.okx works too)
// whose private requests are signed with the vault's key `key`. `config` is
// ccxt's usual config, without `secret` and `password`: those stay in the vault.
function vaultOkx(ccxt, { key, socketPath, timeout, okxClass = ccxt && ccxt.okx } = {}, config = {}) {
  if (typeof key !== 'string' || key === '') throw new TypeError('okx-vault: vaultOkx needs the vault key name: { key }');
  for (const field of ['secret', 'password']) {
    if (config[field]) throw new TypeError(`okx-vault: do not give ccxt a ${field}: the vault keeps it`);
  }
  if (!shim.patchCcxt(ccxt)) throw new TypeError('okx-vault: vaultOkx needs the ccxt module');
  if (!(typeof okxClass === 'function' && (okxClass === ccxt.okx || okxClass.prototype instanceof ccxt.okx))) {
    throw new TypeError('okx-vault: okxClass is not ccxt\'s okx exchange');
  }
  const exchange = new okxClass({ ...config, secret: shim.PREFIX + key });
  if (socketPath !== undefined) exchange.options.okxVaultSocket = socketPath;
  if (timeout !== undefined) exchange.options.okxVaultTimeout = timeout;
  return exchange;
}

module.exports = { vaultOkx };
