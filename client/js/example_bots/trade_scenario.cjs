'use strict';
// What trade.cjs and trade.mjs do with the ccxt they loaded: a plain okx
// instance configured from the environment (OKX_API_KEY, OKX_SECRET,
// OKX_PASSWORD, and OKX_REST_URL for another REST endpoint than OKX's), no
// hook of any kind; ccxt sends its requests itself.

module.exports = async function trade(ccxt) {
  const exchange = new ccxt.okx({
    apiKey: process.env.OKX_API_KEY,
    secret: process.env.OKX_SECRET,
    password: process.env.OKX_PASSWORD,
    options: { fetchMarkets: { types: ['spot'] } },
  });
  if (process.env.OKX_REST_URL) exchange.urls.api.rest = process.env.OKX_REST_URL;
  try {
    await exchange.loadMarkets();
    const balance = await exchange.fetchBalance();
    const order = await exchange.createOrder('BTC/USDT', 'limit', 'buy', 0.001, 1000);
    return { version: ccxt.version, usdt: balance.USDT.free, order: order.id };
  } finally {
    await exchange.close();
  }
};
