'use strict';
// OKX V5 signatures computed independently of okx-vaultd, and the shared vectors.

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const okxSign = (secret, prehash) => crypto.createHmac('sha256', secret).update(prehash, 'utf8').digest('base64');

const vectors = (kind) => JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'tests', 'data', 'okx_v5_sign_vectors.json'), 'utf8'))
  .filter((v) => v.kind === kind);

module.exports = { okxSign, vectors };
