'use strict';
// Zero code changes: every ccxt okx instance whose secret is `okx-vault:NAME`
// signs through the vault's key NAME (see ccxt_shim.js); others are untouched.
//
//   node --require okx-vault/register bot.js     CommonJS or ES module bots
//   NODE_OPTIONS=--require=okx-vault/register    the same, for any node
//   node --import okx-vault/register bot.mjs     the same
//   require('okx-vault/register')                first thing in a CommonJS bot
//
// ccxt's package has two builds with separate classes: `require('ccxt')` loads
// its CommonJS build, `import ccxt from 'ccxt'` its ES module build. The
// CommonJS one is patched when it is loaded (or now, if it already is); the ES
// module one through module.register() load hooks (esm_hooks.mjs) that append
// the patch to ccxt's okx modules as they are loaded, so the register must run
// before they are: by --require or --import, not from an `import` statement in
// the bot (static imports are all loaded before any of them runs).

const Module = require('node:module');
const { pathToFileURL } = require('node:url');
const shim = require('./ccxt_shim');

const INSTALLED = Symbol.for('okx-vault.register');

if (!globalThis[INSTALLED]) {
  globalThis[INSTALLED] = true;

  for (const loaded of Object.values(require.cache)) {
    if (loaded && /[\\/]ccxt[^\\/]*[\\/]dist[\\/]ccxt\.cjs$/.test(loaded.filename)) shim.patchCcxt(loaded.exports);
  }

  const load = Module._load;
  Module._load = function (request, ...rest) {
    const exports = load.call(this, request, ...rest);
    if (exports !== null && typeof exports === 'object' && 'okx' in exports && 'Exchange' in exports) {
      shim.patchCcxt(exports);
    }
    return exports;
  };

  if (typeof Module.register === 'function') {
    Module.register('./esm_hooks.mjs', pathToFileURL(__filename));
  } else {
    process.emitWarning('okx-vault/register: this node has no module.register(): ccxt imported as an ES module is not patched ' +
      '(Node.js 18.19 or 20.6 or later has it)');
  }
}
