'use strict';
// The ccxt releases every adapter test runs against, from the npm registry
// (pinned in package-lock.json): the current one and the last 4.4.

const path = require('node:path');

const VERSIONS = ['ccxt', 'ccxt-4.4'].map((name) => {
  const main = require.resolve(name); // <package>/dist/ccxt.cjs
  const ccxt = require(name);
  return { name, ccxt, version: ccxt.version, dir: path.resolve(path.dirname(main), '..') };
});

module.exports = { VERSIONS };
