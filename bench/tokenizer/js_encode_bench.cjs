// The JavaScript reference's encode throughput, for bench_tokenizer.cpp to report beside ours on the same
// text: @lenml/tokenizers with DeepSeek-V3's tokenizer, one document per chunk of the corpus (the same
// chunking as the C++ benchmark: ~64 KB, cut after a newline). Prints JSON: seconds, bytes, tokens.
// Usage: node js_encode_bench.cjs NPM_CACHE_DIR TOKENIZER_DIR CORPUS [MAX_BYTES]
const fs = require("fs");
const path = require("path");
const [cache, tokDir, corpus, maxBytes] = process.argv.slice(2);
const { TokenizerLoader } = require(path.join(cache, "node_modules", "@lenml", "tokenizers"));
const read = (f) => JSON.parse(fs.readFileSync(path.join(tokDir, f), "utf8"));
const tok = TokenizerLoader.fromPreTrained({
  tokenizerJSON: read("tokenizer.json"), tokenizerConfig: read("tokenizer_config.json"),
});
let buf = fs.readFileSync(corpus);
if (maxBytes) buf = buf.subarray(0, Number(maxBytes));
const docs = [];
for (let pos = 0; pos < buf.length; ) {
  let end = Math.min(buf.length, pos + 65536);
  if (end < buf.length) {
    const nl = buf.indexOf(10, end);
    end = nl < 0 ? buf.length : nl + 1;
  }
  docs.push(new TextDecoder().decode(buf.subarray(pos, end)));
  pos = end;
}
const t0 = process.hrtime.bigint();
let tokens = 0;
for (const d of docs) tokens += tok.encode(d, { add_special_tokens: false }).length;
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(JSON.stringify({ seconds, bytes: buf.length, tokens }));
