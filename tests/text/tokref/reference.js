// The reference token ids of tests/text/tokref/corpus.txt: the JavaScript
// tokenizers of @lenml/tokenizer-{llama2,llama3,qwen3} (transformers.js
// with each model's own tokenizer.json).
//
//   node reference.js NODE_PREFIX corpus.txt out.txt
//
// out.txt: one line per tokenizer and entry, "name<TAB>index<TAB>ids", ids
// comma-separated, encoded without BOS/EOS and with special tokens matched.
// Invalid UTF-8 is read as U+FFFD, as TextDecoder and erg both read it.
'use strict';
const fs = require('fs');
const path = require('path');

const [prefix, corpusPath, outPath] = process.argv.slice(2);
const names = ['llama2', 'llama3', 'qwen3'];

// The escapes of corpus.txt: \n \r \t \\ and \xHH, into bytes.
function unescape(line) {
  const bytes = [];
  const raw = Buffer.from(line, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== 0x5c || i + 1 >= raw.length) { bytes.push(raw[i]); continue; }
    const c = String.fromCharCode(raw[++i]);
    if (c === 'n') bytes.push(10);
    else if (c === 'r') bytes.push(13);
    else if (c === 't') bytes.push(9);
    else if (c === '\\') bytes.push(0x5c);
    else if (c === 'x') { bytes.push(parseInt(raw.slice(i + 1, i + 3).toString(), 16)); i += 2; }
    else throw new Error('unknown escape \\' + c + ' in: ' + line);
  }
  return Buffer.from(bytes);
}

const entries = fs.readFileSync(corpusPath, 'utf8').split('\n')
  .filter((l) => l.length && !l.startsWith('#'))
  .map((l) => new TextDecoder('utf-8').decode(unescape(l)));
// The GPT-2 and SmolLM pre-tokenizers have no package of their own: they
// run on Llama-3's vocabulary (which has multi-digit tokens, so splitting
// digits shows), without its ignore_merges, their tokenizer.json written to
// PREFIX/variants/NAME/ for erg's importer to read.
const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
const variants = {
  gpt2pre: byteLevel,
  smollmpre: { type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, byteLevel] },
};

function encodeAll(name, tok, out) {
  entries.forEach((text, i) => {
    const ids = tok.encode(text, { add_special_tokens: false });
    out.push(name + '\t' + i + '\t' + ids.join(','));
  });
}

const out = [];
const pkgOf = (name) => require(path.join(prefix, 'node_modules', '@lenml', 'tokenizer-' + name));
for (const name of names)
  encodeAll(name, pkgOf(name).fromPreTrained(), out);
for (const [name, pre] of Object.entries(variants)) {
  const base = pkgOf('llama3').tokenizerJSON;
  const json = { ...base, pre_tokenizer: pre, model: { ...base.model, ignore_merges: false } };
  fs.mkdirSync(path.join(prefix, 'variants', name), { recursive: true });
  fs.writeFileSync(path.join(prefix, 'variants', name, 'tokenizer.json'), JSON.stringify(json));
  encodeAll(name, pkgOf('llama3').fromPreTrained({ tokenizerJSON: json }), out);
}
fs.writeFileSync(outPath, out.join('\n') + '\n');
console.log('reference ids of ' + entries.length + ' entries by ' +
  (names.length + Object.keys(variants).length) + ' tokenizers');
