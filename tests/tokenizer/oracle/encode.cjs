// The reference tokenizer for the parity tests: @lenml/tokenizers (a JavaScript port of Hugging Face's
// tokenizers), with its Split regexes' \s read as Hugging Face reads it (below), encodes and decodes each
// document. Usage:
//   node encode.cjs NPM_CACHE_DIR TOKENIZER_DIR IN.b64 OUT.jsonl
// IN.b64 has one base64 document per line (raw bytes; invalid UTF-8 becomes U+FFFD via TextDecoder, as a
// caller decoding bytes would). OUT.jsonl gets {"ids": [...], "decoded": "..."} per line.
const fs = require("fs");
const path = require("path");
const [cache, tokDir, inFile, outFile] = process.argv.slice(2);
const { TokenizerLoader } = require(path.join(cache, "node_modules", "@lenml", "tokenizers"));
const tokenizerJSON = JSON.parse(fs.readFileSync(path.join(tokDir, "tokenizer.json"), "utf8"));

// seek follows Hugging Face's Rust tokenizers, whose regex engine (Oniguruma) reads \s as Unicode whitespace:
// U+0085 is whitespace there and U+FEFF is not, the other way round from JavaScript's \s, which the port
// uses. So that the reference reads the Split patterns as Hugging Face does, their \s and \S get Oniguruma's
// set spelled out. (ByteLevel's own regex, with use_regex, is the port's and keeps JavaScript's.)
const ONIG_SPACE = "\\t\\n\\v\\f\\r \\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000";
function onigSpaces(pattern) {
  let out = "";
  let inClass = false;
  for (let i = 0; i < pattern.length; ++i) {
    const c = pattern[i];
    if (c === "\\" && i + 1 < pattern.length) {
      const e = pattern[++i];
      if (e === "s") out += inClass ? ONIG_SPACE : `[${ONIG_SPACE}]`;
      else if (e === "S" && !inClass) out += `[^${ONIG_SPACE}]`;
      else if (e === "S") throw new Error(`\\S inside a character class is not supported: /${pattern}/`);
      else out += c + e;
      continue;
    }
    if (c === "[") inClass = true;
    else if (c === "]") inClass = false;
    out += c;
  }
  return out;
}
(function onigSplits(p) {
  if (!p) return;
  if (p.type === "Sequence") p.pretokenizers.forEach(onigSplits);
  else if (p.type === "Split" && p.pattern && p.pattern.Regex !== undefined)
    p.pattern.Regex = onigSpaces(p.pattern.Regex);
})(tokenizerJSON.pre_tokenizer);
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
