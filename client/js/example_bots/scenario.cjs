'use strict';
// What each bot does with the ccxt it loaded, the way it loaded it: one okx
// instance with the secret okx-vault:main, one with a secret of its own, a
// ccxt.pro one, and a live vault key in sandbox mode. Nothing is sent: ccxt's
// fetchImplementation records the requests.

function recorder(exchange, sent, name) {
  exchange.fetchImplementation = async (url, { method, headers, body }) => {
    sent[name] = { url, method, headers: { ...headers }, body };
    return new Response('{"code":"0","msg":"","data":[]}', { status: 200, headers: { 'Content-Type': 'application/json' } });
  };
  return exchange;
}

module.exports = async function scenario(ccxt) {
  const sent = {};
  const vault = recorder(new ccxt.okx({ secret: 'okx-vault:main' }), sent, 'vault');
  const plain = recorder(new ccxt.okx({ apiKey: 'plain-key', secret: 'plain-secret', password: 'plain-pass' }), sent, 'plain');
  const pro = recorder(new ccxt.pro.okx({ secret: 'okx-vault:main' }), sent, 'pro');
  const sandbox = recorder(new ccxt.okx({ secret: 'okx-vault:main' }), sent, 'sandbox');
  sandbox.setSandboxMode(true);
  await vault.privateGetAccountBalance({ ccy: 'BTC' });
  await plain.privateGetAccountBalance({ ccy: 'BTC' });
  await pro.privatePostTradeOrder({ instId: 'BTC-USDT', tdMode: 'cash', side: 'buy', ordType: 'limit', px: '1', sz: '1', clOrdId: 'x1' });
  let refused;
  try {
    await sandbox.privateGetAccountBalance();
  } catch (error) {
    refused = error instanceof ccxt.AuthenticationError ? 'AuthenticationError' : String(error);
  }
  for (const exchange of [vault, plain, pro, sandbox]) await exchange.close();
  return { version: ccxt.version, sent, refused };
};
