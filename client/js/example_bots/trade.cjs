'use strict';
// A CommonJS ccxt bot that knows nothing of the vault: its credentials and
// the exchange's URL come from its environment, as a bot's config might give
// them. It loads the markets, reads the balance and places an order.
const ccxt = require('ccxt');
require('./trade_scenario.cjs')(ccxt).then((result) => console.log(JSON.stringify({ ...result, build: 'cjs' })));
