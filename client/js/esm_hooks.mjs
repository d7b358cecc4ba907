// module.register() load hooks (see register.js): ccxt's ES module build
// defines okx in js/src/okx.js and ccxt.pro's in js/src/pro/okx.js, each as
// `export default class okx`. To each, as it is loaded, this appends the patch
// of ccxt_shim.js with the error classes of the same build.

const SHIM = new URL('./ccxt_shim.js', import.meta.url).href;
const MARK = '// okx-vault: patched';
const OKX_MODULE = /\/ccxt[^/]*\/js\/src\/(pro\/)?okx\.js$/;

export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context);
  if (!url.startsWith('file:') || result.format !== 'module') return result;
  const match = OKX_MODULE.exec(new URL(url).pathname);
  if (!match) return result;
  const source = typeof result.source === 'string' ? result.source : new TextDecoder().decode(result.source);
  if (!/^export default class okx extends /m.test(source)) return result; // not a build this knows
  if (source.includes(MARK)) return result; // registered twice (the hooks' own thread runs --require too)
  const errors = match[1] ? '../base/errors.js' : './base/errors.js';
  const patch = match[1] ? 'patchPro' : 'patchRest';
  return {
    ...result,
    source: `${source}\n${MARK}\nimport * as okxVaultErrors from ${JSON.stringify(errors)};\n` +
      `import okxVaultShim from ${JSON.stringify(SHIM)};\nokxVaultShim.${patch}(okx, okxVaultErrors);\n`,
  };
}
