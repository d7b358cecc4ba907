'use strict';
// A CommonJS bot that asks for the register itself: after ccxt, to show the
// order does not matter.
const ccxt = require('ccxt');
require('okx-vault/register');
require('./scenario.cjs')(ccxt).then((result) => console.log(JSON.stringify({ ...result, build: 'cjs' })));
