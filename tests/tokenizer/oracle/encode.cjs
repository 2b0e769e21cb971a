// The reference tokenizer for the parity tests: @lenml/tokenizers (a JavaScript port of Hugging Face's
// tokenizers) encodes and decodes each document. Usage:
//   node encode.cjs NPM_CACHE_DIR TOKENIZER_DIR IN.b64 OUT.jsonl
// IN.b64 has one base64 document per line (raw bytes; invalid UTF-8 becomes U+FFFD via TextDecoder, as a
// caller decoding bytes would). OUT.jsonl gets {"ids": [...], "decoded": "..."} per line.
const fs = require("fs");
const path = require("path");
const [cache, tokDir, inFile, outFile] = process.argv.slice(2);
const { TokenizerLoader } = require(path.join(cache, "node_modules", "@lenml", "tokenizers"));
const tokenizerJSON = JSON.parse(fs.readFileSync(path.join(tokDir, "tokenizer.json"), "utf8"));
const cfgPath = path.join(tokDir, "tokenizer_config.json");
const tokenizerConfig = fs.existsSync(cfgPath) ? JSON.parse(fs.readFileSync(cfgPath, "utf8")) : {};
const tok = TokenizerLoader.fromPreTrained({ tokenizerJSON, tokenizerConfig });
const dec = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
const lines = fs.readFileSync(inFile, "utf8").split("\n");
if (lines.length && lines[lines.length - 1] === "") lines.pop();
const out = [];
for (const line of lines) {
  const text = dec.decode(Buffer.from(line, "base64"));
  // add_special_tokens: false — compare the text's own tokens; BOS handling is tested separately.
  const ids = tok.encode(text, { add_special_tokens: false });
  const decoded = ids.length ? tok.decode(ids, { skip_special_tokens: false }) : "";
  out.push(JSON.stringify({ ids, decoded }));
}
fs.writeFileSync(outFile, out.join("\n") + (out.length ? "\n" : ""));
