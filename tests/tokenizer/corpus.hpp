// The parity corpus: hand-written documents covering prose, code, CJK, emoji, digits, whitespace, special
// tokens and invalid UTF-8, plus seeded random documents that mix the characters where regex engines and
// Unicode tables tend to disagree (JavaScript vs Rust whitespace, marks, other-script digits, controls).
#pragma once
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "tokenizer/utf8.hpp"

namespace seek::test {

inline std::string cp_utf8(uint32_t cp) {
  std::string out;
  tok::utf8_append(out, cp);
  return out;
}

inline std::vector<std::string> handwritten_corpus() {
  std::vector<std::string> d = {
      "Hello world",
      "The quick brown fox jumps over the lazy dog. It's 5 o'clock; we'll see what they've done, I'm sure "
      "he'd agree.",
      "  leading spaces, trailing spaces   ",
      "Don't STOP believing!!! ... Really?! (Yes) [no] {maybe} <tag> a-b_c.d/e\\f",
      "In 1492, Columbus sailed the ocean blue. Population: 7,900,000,000 (approx.) — 3.14159265358979",
      "#include <vector>\nint main(int argc, char** argv) {\n  std::vector<int> v{1, 2, 3};\n  for (auto& x "
      ": v) x *= 2;\n"
      "  return v.size() > 2 ? 0 : 1;\n}\n",
      "def fib(n: int) -> int:\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n    a, b = 0, 1\n    for "
      "_ in range(n):\n"
      "        a, b = b, a + b\n    return a\n\nprint(f\"{fib(30)=}\")\n",
      "fn main() {\n    let xs: Vec<u64> = (1..=10).map(|x| x * x).collect();\n    println!(\"{:?}\", "
      "xs);\n}\n",
      "const f = async (url) => { const r = await fetch(url); return r.ok ? r.json() : null; };\n// TODO: "
      "retry\n",
      "SELECT id, name FROM users WHERE age >= 18 AND email LIKE '%@example.com' ORDER BY name DESC LIMIT "
      "10;",
      "<html><body><p class=\"x\">Hi &amp; bye</p></body></html>",
      "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"hello\")\n}\n",
      "深度求索是一家人工智能公司。我们致力于研究通用人工智能，今天天气很好！",
      "人工智能（AI）正在改变世界，2024年的发展尤其迅速。",
      "日本語のテキストです。カタカナとひらがな、そして漢字が混ざっています。東京は大きい都市だ。",
      "한국어 텍스트입니다. 안녕하세요, 만나서 반갑습니다! 서울은 대한민국의 수도입니다.",
      "Emoji: 😀😃😄 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 🇺🇸🇯🇵 ❤️‍🔥 "
      "🧑🏿‍💻 "
      "1️⃣ "
      "#️⃣",
      "Ελληνικά: Γειά σου Κόσμε. Русский: Привет, мир! Українська: Слава Україні.",
      "العربية: مرحبا بالعالم ١٢٣٤٥ — עברית: שלום עולם",
      "हिन्दी: नमस्ते दुनिया १२३; ไทย: สวัสดีชาวโลก",
      "Combining: e\xCC\x81 a\xCC\x88 n\xCC\x83 Z\xCD\x91\xCD\x8B\xCC\x9F — precomposed: é ä ñ",
      "Math: ∑ᵢ xᵢ² ≤ ∫₀^∞ f(x) dx ≈ 3.0 × 10⁸ ± 2% → ∞; ½ ¾ ① ② Ⅻ",
      "Currency: $100 €200 £300 ¥400 ₹500 ₿0.001",
      "tabs\tand\t\tnewlines\n\n\nand\r\nwindows\r\n\r\nline\u2028sep\u2029para",
      "nbsp\xC2\xA0here em\xE2\x80\x83space ideographic\xE3\x80\x80space zwsp\xE2\x80\x8Bhere "
      "bom\xEF\xBB\xBFhere "
      "nel\xC2\x85here",
      "\x01\x02\x03 control \x7F chars \x1B[31mred\x1B[0m",
      "<｜begin▁of▁sentence｜>Hello<｜end▁of▁sentence｜>",
      "<｜User｜>What is 2+2?<｜Assistant｜>4<｜end▁of▁sentence｜>",
      "text<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{}\n```<"
      "｜tool▁call▁end｜>",
      "partial <｜User and <｜ and ｜> and <｜begin▁of and <|EOT|> and "
      "<｜fim▁hole｜>x<｜place▁holder▁no▁5｜>",
      "<think>\nreasoning here\n</think>\n\nThe answer is <answer>42</answer>.",
      "invalid \x80 byte",
      "invalid \xC3\x28 sequence \xE2\x82 truncated \xF0\x9F\x98 emoji \xFF\xFE bom-ish",
      "overlong \xC0\xAF and surrogate \xED\xA0\x80 and too-big \xF5\x80\x80\x80 end",
      "\xE4\xB8\xAD\xE6\x96",
      "",
      " ",
      "\n",
      "a",
      "'s 'S 'll 'LL 're n't",
      "URL: https://example.com/path?q=1&r=two#frag email: someone@example.org",
      "ALL CAPS TEXT AND camelCaseIdentifiers and snake_case_names and kebab-case-names",
      "a.b.c.d...e....f?!?!",
      "Fullwidth: ＡＢＣ１２３！ halfwidth katakana: ｱｲｳ",
      "Supplementary CJK: 𠀀𠀁𪚥 and private use \xEE\x80\x80",
  };
  // Digits of every length, alone and between words, ASCII and other scripts.
  std::string digits;
  for (int n = 1; n <= 40; ++n) {
    std::string num;
    for (int k = 0; k < n; ++k) num += char('0' + (n * 7 + k * 3) % 10);
    d.push_back(num);
    digits += 'x';
    digits += num;
    digits += ' ';
  }
  d.push_back(digits);
  d.push_back("٠١٢٣٤٥٦٧٨٩ ०१२३४५६७८९ ０１２３４５６７８９ ²³¹ ⅠⅡⅢ");
  // Whitespace runs of every length and mix.
  for (int n = 1; n <= 12; ++n) {
    // Built with append: GCC 12 warns falsely (-Wrestrict) on chained operator+ here.
    std::string a = "a", b(n, ' ');
    a.append(n, ' ').append("b").append(n, '\n').append("c").append(n, '\t').append("d");
    b.append("\n").append(n, ' ').append("x");
    d.push_back(a);
    d.push_back(b);
  }
  return d;
}

inline std::vector<std::string> random_corpus(int count, uint64_t seed) {
  Rng rng(seed);
  auto pick = [&](uint32_t lo, uint32_t hi) { return cp_utf8(lo + uint32_t(rng.below(hi - lo + 1))); };
  const std::vector<std::string> words = {"the",
                                          "The",
                                          "of",
                                          "and",
                                          "token",
                                          "izer",
                                          "DeepSeek",
                                          "model",
                                          "'s",
                                          "'ll",
                                          "n't",
                                          "foo_bar",
                                          "x2",
                                          "v1.0",
                                          "http",
                                          "://",
                                          "==",
                                          "->",
                                          "<｜User｜>",
                                          "<｜Assistant｜>",
                                          "<｜end▁of▁sentence｜>",
                                          "<｜",
                                          "｜>"};
  const std::vector<uint32_t> spaces = {' ',    '\t',   '\n',   '\r',   0x0B,   0x0C,   0xA0,
                                        0x85,   0x1680, 0x2000, 0x2003, 0x200A, 0x200B, 0x2028,
                                        0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF, 0x180E};
  std::vector<std::string> docs;
  for (int i = 0; i < count; ++i) {
    std::string s;
    int n = 1 + int(rng.below(60));
    for (int k = 0; k < n; ++k) {
      switch (rng.below(16)) {
        case 0:
          s += words[rng.below(words.size())];
          break;
        case 1:
          s += cp_utf8(spaces[rng.below(spaces.size())]);
          break;
        case 2:
          s += std::string(1 + rng.below(4), ' ');
          break;
        case 3:
          s += pick('0', '9');
          break;
        case 4:
          s += pick('!', '~');
          break;
        case 5:
          s += pick('a', 'z');
          break;
        case 6:
          s += pick(0x4E00, 0x9FFF);
          break;  // CJK, past DeepSeek's 9FA5 boundary too
        case 7:
          s += pick(0x3040, 0x30FF);
          break;  // kana, including the range edges
        case 8:
          s += pick(0xAC00, 0xD7A3);
          break;  // Hangul
        case 9:
          s += pick(0x0300, 0x036F);
          break;  // combining marks
        case 10:
          s += pick(0x1F300, 0x1FAFF);
          break;
        case 11:
          s += cp_utf8(0x200D);
          break;  // ZWJ
        case 12:
          s += pick(0x00A1, 0x024F);
          break;  // Latin-1 punctuation, symbols, letters
        case 13: {
          const uint32_t other_digits[] = {0x0660, 0x06F0, 0x0966, 0x0E50, 0xFF10,
                                           0x2070, 0x2160, 0x2460, 0x1D7CE};
          s += cp_utf8(other_digits[rng.below(9)] + uint32_t(rng.below(9)));
          break;
        }
        case 14:
          s += pick(0x01, 0x1F);
          break;  // C0 controls
        case 15: {
          const char* bad[] = {"\x80",     "\xBF",         "\xC0",         "\xC1\x81",
                               "\xE2\x82", "\xED\xA0\x80", "\xF0\x9F\x98", "\xF4\x90\x80\x80",
                               "\xFE",     "\xFF"};
          s += bad[rng.below(10)];
          break;
        }
      }
    }
    docs.push_back(s);
  }
  return docs;
}

}  // namespace seek::test
