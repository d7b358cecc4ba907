// An ES module ccxt bot that knows nothing of the vault: see trade.cjs.
import ccxt from 'ccxt';
import trade from './trade_scenario.cjs';

console.log(JSON.stringify({ ...(await trade(ccxt)), build: 'esm' }));
