// An ES module ccxt bot that knows nothing of the vault.
import { createRequire } from 'node:module';
import ccxt from 'ccxt';
import scenario from './scenario.cjs';

const result = await scenario(ccxt);
// import loads ccxt's ES module build: classes apart from require('ccxt')'s.
const build = ccxt.okx === createRequire(import.meta.url)('ccxt').okx ? 'cjs' : 'esm';
console.log(JSON.stringify({ ...result, build }));
