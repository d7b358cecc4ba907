'use strict';
// A CommonJS ccxt bot that knows nothing of the vault.
const ccxt = require('ccxt');
require('./scenario.cjs')(ccxt).then((result) => console.log(JSON.stringify({ ...result, build: 'cjs' })));
