// Unit tests of the tokenizer's parts: UTF-8 repair, the JavaScript-compatible regex translation, NFC,
// split behaviours, the byte tokenizer, and errors for malformed or unsupported tokenizer.json files.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include "core/error.hpp"
#include "support/error_of.hpp"
#include "tokenizer/bpe_tokenizer.hpp"
#include "tokenizer/byte_level.hpp"
#include "tokenizer/normalizer.hpp"
#include "tokenizer/pretokenizer.hpp"
#include "tokenizer/regex.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/utf8.hpp"

namespace seek {
namespace {

using nlohmann::json;

TEST(Utf8, RepairReplacesMaximalSubparts) {
  EXPECT_EQ(tok::utf8_repair("abc"), "abc");
  EXPECT_EQ(tok::utf8_repair("a\x80"
                             "b"),
            "a\uFFFD"
            "b");
  EXPECT_EQ(tok::utf8_repair("\xE2\x82"), "\uFFFD");                  // truncated 3-byte sequence: one U+FFFD
  EXPECT_EQ(tok::utf8_repair("\xC0\xAF"), "\uFFFD\uFFFD");            // overlong: each byte
  EXPECT_EQ(tok::utf8_repair("\xED\xA0\x80"), "\uFFFD\uFFFD\uFFFD");  // surrogate
  EXPECT_EQ(tok::utf8_repair("\xF0\x9F\x98"), "\uFFFD");
  EXPECT_TRUE(tok::utf8_is_valid("héllo 😀"));
  EXPECT_FALSE(tok::utf8_is_valid("\xFF"));
}

// Streamed text is cut where no character is split: "é" is C3 A9, "€" E2 82 AC, "😀" F0 9F 98 80.
TEST(Utf8, CutsBeforeAnUnfinishedCharacterOnly) {
  const std::string s = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";
  EXPECT_EQ(tok::utf8_cut_before(s, 0), 0u);
  EXPECT_EQ(tok::utf8_cut_before(s, 1), 1u);
  EXPECT_EQ(tok::utf8_cut_before(s, 2), 1u);  // inside é
  EXPECT_EQ(tok::utf8_cut_before(s, 3), 3u);
  EXPECT_EQ(tok::utf8_cut_before(s, 4), 3u);  // inside €
  EXPECT_EQ(tok::utf8_cut_before(s, 5), 3u);
  EXPECT_EQ(tok::utf8_cut_before(s, 6), 6u);
  for (size_t end = 7; end < 10; ++end) EXPECT_EQ(tok::utf8_cut_before(s, end), 6u) << end;  // inside 😀
  EXPECT_EQ(tok::utf8_cut_before(s, 10), 10u);
  // Bytes that start no character are not held: stray continuations, C0/C1, F5-FF.
  EXPECT_EQ(tok::utf8_cut_before("ab\x80\x80", 4), 4u);
  EXPECT_EQ(tok::utf8_cut_before("a\xC0", 2), 2u);
  EXPECT_EQ(tok::utf8_cut_before("a\xF8", 2), 2u);
  EXPECT_EQ(tok::utf8_cut_before("\x80\x80\x80\x80", 4), 4u);  // no lead within reach
}

TEST(ByteLevel, RoundTripsEveryByte) {
  std::string all;
  for (int b = 0; b < 256; ++b) all += char(b);
  auto s = tok::bytes_to_byte_level(all);
  EXPECT_EQ(tok::byte_level_to_bytes(s), all);
  EXPECT_EQ(tok::bytes_to_byte_level(" \n"), "ĠĊ");
  EXPECT_FALSE(tok::byte_level_to_bytes("日").has_value());
}

TEST(Regex, TranslatesClasses) {
  // \s is Oniguruma's Unicode set, as in Hugging Face's tokenizers: U+0085 is whitespace, U+FEFF is not. It
  // was JavaScript's set, which has them the other way round.
  tok::Regex ws("\\s+");
  size_t b, e;
  ASSERT_TRUE(
      ws.find("a\xC2\x85"
              "b",
              0, &b, &e));
  EXPECT_EQ(b, 1u);
  EXPECT_EQ(e, 3u);
  EXPECT_FALSE(
      ws.find("a\xEF\xBB\xBF"
              "b",
              0, &b, &e));
  tok::Regex in_class("[\\s]+");
  ASSERT_TRUE(in_class.find("x\xC2\x85\xE3\x80\x80\xEF\xBB\xBF", 0, &b, &e));
  EXPECT_EQ(b, 1u);
  EXPECT_EQ(e, 6u);
  tok::Regex non_space("\\S+");
  ASSERT_TRUE(non_space.find(" \xEF\xBB\xBFx\xC2\x85", 0, &b, &e));
  EXPECT_EQ(b, 1u);
  EXPECT_EQ(e, 5u);
  // \d stays ASCII, as in JavaScript (Oniguruma reads it as Unicode's decimal digits; docs/tokenizer.md).
  tok::Regex d("\\d+");
  EXPECT_FALSE(d.find("٣", 0, &b, &e));
  tok::Regex n("\\p{N}+");
  EXPECT_TRUE(n.find("٣", 0, &b, &e));
  // Characters newer than PCRE2's Unicode tables still count as symbols (U+1FA77 pink heart, Unicode 15).
  tok::Regex sym("^\\p{S}$");
  EXPECT_TRUE(sym.find("\U0001FA77", 0, &b, &e));
  EXPECT_THROW(tok::Regex("(unclosed"), Error);
}

// \v is the vertical tab alone, in JavaScript and in Hugging Face's Rust engine (Oniguruma); PCRE2 reads it
// as any vertical space, so a Split on \v removed newlines too. Escapes the engines read apart are refused.
TEST(Regex, VerticalTabIsOneCharacterAndEscapesReadApartAreRefused) {
  size_t b, e;
  for (const char* pattern : {"\\v", "[\\v]"}) {
    tok::Regex vt(pattern);
    EXPECT_FALSE(vt.find("a\nb\rc\u2028", 0, &b, &e)) << pattern;
    ASSERT_TRUE(vt.find("a\x0B", 0, &b, &e)) << pattern;
    EXPECT_EQ(b, 1u);
  }
  for (const char* pattern : {"\\h", "[\\H]", "\\V", "\\Qa.b\\E"}) {
    const std::string msg = test::error_of([&] { tok::Regex r(pattern); });
    EXPECT_NE(msg.find("is not supported: JavaScript has no such escape"), std::string::npos)
        << pattern << msg;
  }
  tok::Regex escaped_backslash("\\\\h");  // a backslash, then h
  ASSERT_TRUE(escaped_backslash.find("x\\h", 0, &b, &e));
  EXPECT_EQ(b, 1u);
}

std::vector<std::string> pieces(const json& pre, std::string_view text) {
  auto p = tok::PreTokenizer::from_json(pre, "test");
  std::vector<std::string> out;
  p.run(text, [&](std::string_view s) { out.emplace_back(s); });
  return out;
}

json split(const char* behavior, bool invert = false) {
  return json{
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", behavior}, {"invert", invert}},
        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
}

TEST(PreTokenizer, SplitBehavioursFollowHuggingFace) {
  const char* t = "the-final--countdown";
  using V = std::vector<std::string>;
  EXPECT_EQ(pieces(split("Isolated"), t), (V{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(pieces(split("Removed"), t), (V{"the", "final", "countdown"}));
  EXPECT_EQ(pieces(split("MergedWithPrevious"), t), (V{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(pieces(split("MergedWithNext"), t), (V{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(pieces(split("Contiguous"), t), (V{"the", "-", "final", "--", "countdown"}));
  EXPECT_EQ(pieces(split("Removed", true), t), (V{"-", "-", "-"}));
}

// An empty match is a cut, as in Hugging Face's tokenizers: they were skipped, and merges ran across them
// ("abcab" split at (?=b) gave "ab" and "cab"). An empty match where the previous match ended is none.
// Checked against the Rust library on 660 pattern × behaviour × text cases in an audit; these are a few of
// them.
TEST(PreTokenizer, EmptyMatchesCutAsInHuggingFace) {
  const auto split_at = [](const char* regex, const char* behavior) {
    return json{
        {"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", behavior}, {"invert", false}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(pieces(split_at("(?=b)", "Removed"), "abcab"), (V{"a", "bca", "b"}));
  EXPECT_EQ(pieces(split_at("(?=[A-Z])", "MergedWithNext"), "HelloWorld FooBar"),
            (V{"Hello", "World ", "Foo", "Bar"}));
  EXPECT_EQ(pieces(split_at("x*", "Isolated"), "axxb"), (V{"a", "xx", "b"}));
  EXPECT_EQ(pieces(split_at("x*", "Isolated"), "ab"), (V{"a", "b"}));
  EXPECT_EQ(pieces(split_at("x*", "Contiguous"), "ab"), (V{"a", "b"}));
  EXPECT_EQ(pieces(split_at("(?:)", "Removed"), "h\u00e9"), (V{"h", "\u00e9"}));  // a code point, not a byte
}

TEST(PreTokenizer, ByteLevelPrefixSpaceAndGpt2Regex) {
  json bl = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}};
  using V = std::vector<std::string>;
  EXPECT_EQ(pieces(bl, "Hello world's  end"), (V{" Hello", " world", "'s", " ", " end"}));
  json digits = {{"type", "Sequence"},
                 {"pretokenizers",
                  {{{"type", "Digits"}, {"individual_digits", true}},
                   {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  EXPECT_EQ(pieces(digits, "a12"), (V{"a", "1", "2"}));
}

TEST(PreTokenizer, RejectsUnsupported) {
  EXPECT_THROW(pieces(json{{"type", "Metaspace"}}, "x"), Error);
  EXPECT_THROW(pieces(json{{"type", "Split"}, {"pattern", {{"Regex", "a"}}}, {"behavior", "Isolated"}}, "x"),
               Error);  // no ByteLevel
  try {
    pieces(json{{"type", "Sequence"}, {"pretokenizers", {{{"type", "Whitespace"}}}}}, "x");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Whitespace"), std::string::npos) << e.what();
  }
}

TEST(Nfc, ComposesAndReorders) {
  EXPECT_EQ(tok::nfc("e\xCC\x81"), "é");
  EXPECT_EQ(tok::nfc("a\xCC\xA3\xCC\x82"), "ậ");  // dot below (220) before circumflex (230)
  EXPECT_EQ(tok::nfc("a\xCC\x82\xCC\xA3"), "ậ");  // reordered, then composed
  EXPECT_EQ(tok::nfc("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8"), "각");  // Hangul jamo L V T
  EXPECT_EQ(tok::nfc("\xE2\x84\xAB"), "Å");                           // U+212B ANGSTROM SIGN is a singleton
  EXPECT_EQ(tok::nfc("plain ascii"), "plain ascii");
}

// nfc copies stable stretches and normalizes the rest piecewise; the whole text through the full algorithm
// must come out the same, whatever surrounds the marks, jamo and singletons.
TEST(Nfc, PiecewiseEqualsTheWholeText) {
  EXPECT_EQ(tok::nfc("x\u0B47\u0B3E"),
            "x\u0B4B");  // a second of combining class 0 composes with what precedes
  EXPECT_EQ(tok::nfc("\u0F73a"), "\u0F71\u0F72a");  // class 0, decomposing into two marks
  EXPECT_EQ(tok::nfc("\u4E00\u0301\u00C5"), "\u4E00\u0301\u00C5");
  const std::vector<uint32_t> pool = {
      'a',     'e',     ' ',    '<',    0xE9,   0xC5,   0x0300, 0x0301,  0x0323,  0x0338,  0x0344,
      0x0F71,  0x0F72,  0x0F73, 0x0B47, 0x0B3E, 0x0CD5, 0x0DCF, 0x102E,  0x1100,  0x1161,  0x11A8,
      0xAC00,  0xAC01,  0x212B, 0x2126, 0x4E00, 0x3099, 0x304B, 0x1D15E, 0x1F600, 0x110B9, 0x110BA,
      0x1D165, 0x1D16E, 0x0627, 0x0653, 0x05D0, 0x05B7, 0xFB2E, 0x2260,  0x0041,  0x030A};
  std::mt19937 gen(7);
  int differing_from_input = 0;
  for (int n = 0; n < 20000; ++n) {
    std::string s;
    const int len = 1 + int(gen() % 12);
    for (int k = 0; k < len; ++k) tok::utf8_append(s, pool[gen() % pool.size()]);
    const std::string want = tok::nfc_unsegmented(s);
    ASSERT_EQ(tok::nfc(s), want) << "input " << s;
    differing_from_input += want != s;
  }
  EXPECT_GT(differing_from_input, 10000);  // the inputs exercise normalization, not only copying
}

TEST(ByteTokenizer, EncodesBytesAndSpecials) {
  auto t = make_byte_tokenizer();
  EXPECT_EQ(t->vocab_size(), 265u);
  EXPECT_EQ(t->kind(), "byte");
  auto ids = t->encode("hé<think>", true);
  std::vector<TokenId> want = {256, 'h', 0xC3, 0xA9, 260};
  EXPECT_EQ(ids, want);
  EXPECT_EQ(t->decode(ids), "<｜begin▁of▁sentence｜>hé<think>");
  EXPECT_EQ(t->decode(ids, true), "hé");
  // A skipped special token between the bytes of one character does not split it (it decoded as three
  // U+FFFD): the token is gone before decoding, as in Hugging Face's decoder.
  EXPECT_EQ(t->decode(std::vector<TokenId>{0xE4, 256, 0xB8, 0xAD}, true), "中");
  EXPECT_EQ(t->encode("<think>", false, false).size(), 7u);
  EXPECT_EQ(t->token_to_id("</answer>"), 263);
  EXPECT_EQ(t->pad_id(), 264);
  std::vector<TokenId> bad = {265};
  EXPECT_THROW(t->decode(bad), Error);
  std::vector<TokenId> partial = {0xE6, 0x97};
  EXPECT_EQ(t->decode(partial), "\uFFFD");
}

// A minimal byte-level tokenizer.json: all 256 byte tokens, a couple of merges.
json tiny_tokenizer() {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[tok::bytes_to_byte_level(std::string(1, char(b)))] = b;
  vocab["ab"] = 256;
  vocab["abc"] = 257;
  return json{{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"a b", json::array({"ab", "c"})}}}},
              {"added_tokens", json::array({{{"id", 258}, {"content", "<s>"}, {"special", true}}})},
              {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
              {"decoder", {{"type", "ByteLevel"}}}};
}

std::string load_error(const json& j) {
  try {
    tok::BpeTokenizer t(j, json(), "tokenizer.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(BpeTokenizer, TinyModelEncodesWithBothMergeForms) {
  tok::BpeTokenizer t(tiny_tokenizer(), json(), "tiny");
  auto ids = t.encode("abcab<s>");
  EXPECT_EQ(ids, (std::vector<TokenId>{257, 256, 258}));
  EXPECT_EQ(t.decode(ids), "abcab<s>");
  EXPECT_EQ(t.vocab_size(), 259u);
}

// merges.txt's "#version: 0.2" header, which files converted from one may keep among string merges, is
// skipped as Hugging Face's tokenizers skip it: the file was refused ("expected two tokens separated by one
// space").
TEST(BpeTokenizer, AVersionLineAmongStringMergesIsSkipped) {
  auto j = tiny_tokenizer();
  j["model"]["merges"] = {"#version: 0.2", "a b", "ab c"};
  tok::BpeTokenizer t(j, json(), "tiny");
  EXPECT_EQ(t.encode("abcab"), (std::vector<TokenId>{257, 256}));
}

// lstrip/rstrip strip what Hugging Face's tokenizers take for whitespace (Unicode White_Space, Rust's
// char::is_whitespace): U+0085 (NEL) is, U+FEFF (BOM) is not. JavaScript's set, used before, has them the
// other way round, so both texts encoded otherwise than in Hugging Face.
TEST(BpeTokenizer, AddedTokensStripUnicodeWhiteSpace) {
  auto j = tiny_tokenizer();
  j["added_tokens"][0]["lstrip"] = true;
  j["added_tokens"][0]["rstrip"] = true;
  tok::BpeTokenizer t(j, json(), "tiny");
  EXPECT_EQ(t.encode("a\u0085<s>\u0085b"), (std::vector<TokenId>{'a', 258, 'b'}));
  EXPECT_EQ(t.encode("a\uFEFF<s>\uFEFFb"),
            (std::vector<TokenId>{'a', 0xEF, 0xBB, 0xBF, 258, 0xEF, 0xBB, 0xBF, 'b'}));
  EXPECT_EQ(t.encode("a \u3000<s>\t\nb"), (std::vector<TokenId>{'a', 258, 'b'}));
}

// Without parse_special a special token is left as text, and no other added token is matched inside it, as in
// Hugging Face (encode_special_tokens: special tokens are found, dropped, and the search goes on after
// them). The non-special "b>" was matched inside "<ab>" here. (Both are matched in the raw text: neither is
// normalized.)
TEST(BpeTokenizer, UnparsedSpecialTokensHideTheTokensInsideThem) {
  auto j = tiny_tokenizer();
  j["added_tokens"].push_back({{"id", 259}, {"content", "b>"}, {"special", false}, {"normalized", false}});
  j["added_tokens"].push_back({{"id", 260}, {"content", "<ab>"}, {"special", true}});
  tok::BpeTokenizer t(j, json(), "tiny");
  EXPECT_EQ(t.encode("<ab>", false, true), (std::vector<TokenId>{260}));
  EXPECT_EQ(t.encode("<ab>", false, false), (std::vector<TokenId>{'<', 256, '>'}));
  EXPECT_EQ(t.encode("<ab>b>", false, false), (std::vector<TokenId>{'<', 256, '>', 259}));
  EXPECT_EQ(t.encode("<s>", false, false), (std::vector<TokenId>{'<', 's', '>'}));
}

// A single_word token with a word character (Unicode \w: letters, marks, digits, "_") right before or after
// it is no match, and the search goes on after it, as in Hugging Face's tokenizers: the flag was ignored,
// so "hi" was found inside "this".
TEST(BpeTokenizer, SingleWordTokensMatchOnlyWholeWords) {
  auto j = tiny_tokenizer();
  j["added_tokens"].push_back({{"id", 259}, {"content", "hi"}, {"single_word", true}});
  tok::BpeTokenizer t(j, json(), "tiny");
  using V = std::vector<TokenId>;
  EXPECT_EQ(t.encode("hi"), (V{259}));
  EXPECT_EQ(t.encode("this"), (V{'t', 'h', 'i', 's'}));
  EXPECT_EQ(t.encode("hi,hi_ (hi)"), (V{259, ',', 'h', 'i', '_', ' ', '(', 259, ')'}));
  EXPECT_EQ(t.encode("\u00e9hi"), (V{0xC3, 0xA9, 'h', 'i'}));        // é is a letter
  EXPECT_EQ(t.encode("hi\u0301"), (V{'h', 'i', 0xCC, 0x81}));        // a combining mark
  EXPECT_EQ(t.encode("\u4e00hi"), (V{0xE4, 0xB8, 0x80, 'h', 'i'}));  // 一
  // A letter assigned after Unicode 14 (PCRE2's tables): CJK Extension H's first, U+31350.
  EXPECT_EQ(t.encode("\U00031350hi"), (V{0xF0, 0xB1, 0x8D, 0x90, 'h', 'i'}));
  EXPECT_EQ(t.encode("hi2"), (V{'h', 'i', '2'}));
  EXPECT_EQ(t.encode("-hi\u00a0"), (V{'-', 259, 0xC2, 0xA0}));
  // The longest token found is dropped whole; the shorter "hi" at the same place is not tried.
  j["added_tokens"][1]["single_word"] = false;
  j["added_tokens"].push_back({{"id", 260}, {"content", "his"}, {"single_word", true}});
  tok::BpeTokenizer longer(j, json(), "tiny");
  EXPECT_EQ(longer.encode("his x"), (V{260, ' ', 'x'}));
  EXPECT_EQ(longer.encode("hisx"), (V{'h', 'i', 's', 'x'}));
  // A part of a text cut after a newline would end with such a token where the whole has a word after it.
  EXPECT_TRUE(longer.cuts_at_line_starts());
  j["added_tokens"][2]["content"] = "his\n";
  EXPECT_FALSE(tok::BpeTokenizer(j, json(), "tiny").cuts_at_line_starts());
}

// Added tokens are found in Hugging Face's two passes: those with normalized false in the raw text, then
// those with normalized true (the default for non-special ones) in each piece between, once it is normalized,
// spelled as the normalizer writes them. One pass over the raw text, with the flag read but unused, matched
// the normalized "ab" before the unnormalized "bc" in "abc", matched " d" in the space an rstrip token had
// already taken, and with NFC missed "ő" written as o + U+030B and matched "<u>" where NFC makes ">" + U+0338
// into "≯".
TEST(BpeTokenizer, NormalizedAddedTokensAreFoundAfterTheOthersInNormalizedText) {
  using V = std::vector<TokenId>;
  auto j = tiny_tokenizer();
  j["added_tokens"].push_back({{"id", 256}, {"content", "ab"}, {"special", false}, {"normalized", true}});
  j["added_tokens"].push_back({{"id", 259}, {"content", "bc"}, {"special", true}, {"normalized", false}});
  j["added_tokens"].push_back({{"id", 260}, {"content", "<b>"}, {"special", true}, {"rstrip", true}});
  j["added_tokens"].push_back({{"id", 261}, {"content", " d"}, {"special", false}});  // normalized: true
  tok::BpeTokenizer t(j, json(), "tiny");
  EXPECT_EQ(t.encode("abc"), (V{'a', 259}));
  EXPECT_EQ(t.encode("ab c"), (V{256, ' ', 'c'}));
  EXPECT_EQ(t.encode("<b> d"), (V{260, 'd'}));
  EXPECT_EQ(t.encode("<b>  d"), (V{260, 'd'}));
  EXPECT_EQ(t.encode("x d<b>"), (V{'x', 261, 260}));
  // Without parse_special a special token's text stays in its piece, where the second pass can find a
  // normalized token inside it, as Hugging Face's does.
  EXPECT_EQ(t.encode("abc", false, false), (V{256, 'c'}));
  EXPECT_EQ(t.encode("<b> d", false, false), (V{'<', 'b', '>', 261}));
  j = tiny_tokenizer();
  j["normalizer"] = {{"type", "NFC"}};
  j["added_tokens"].push_back({{"id", 259}, {"content", "\u0151"}, {"special", false}});  // ő, normalized
  j["added_tokens"].push_back({{"id", 260}, {"content", "<u>"}, {"special", false}});
  j["added_tokens"].push_back({{"id", 261}, {"content", "e\u0301"}, {"special", false}});  // é, decomposed
  j["added_tokens"].push_back(
      {{"id", 262}, {"content", "\u00e0"}, {"special", true}, {"normalized", false}});  // à, as written
  tok::BpeTokenizer nfc(j, json(), "tiny");
  EXPECT_EQ(nfc.encode("o\u030b \u0151"), (V{259, ' ', 259}));
  EXPECT_EQ(nfc.encode("<u>\u0338"), (V{'<', 'u', 0xE2, 0x89, 0xAF}));  // <u≯
  EXPECT_EQ(nfc.encode("<u>\u0301"), (V{260, 0xCC, 0x81}));
  EXPECT_EQ(nfc.encode("\u00e9e\u0301"), (V{261, 261}));
  EXPECT_EQ(nfc.encode("a\u0300\u00e0"), (V{0xC3, 0xA0, 262}));
}

// An id that the file leaves unused is named as such: "not in the vocabulary (size 261)" read wrong for 259.
TEST(BpeTokenizer, AnUnusedIdInsideTheVocabularyIsNamedAsUnused) {
  auto j = tiny_tokenizer();
  j["added_tokens"][0]["id"] = 260;  // 258 and 259 left unused
  tok::BpeTokenizer t(j, json(), "tiny");
  std::vector<TokenId> gap = {259}, past = {261};
  EXPECT_EQ(
      test::error_of([&] { t.decode(gap); }),
      "token id 259 is not in the vocabulary: tokenizer.json gives no token that id (its ids run to 260)");
  EXPECT_EQ(test::error_of([&] { t.decode(past); }), "token id 261 is not in the vocabulary (size 261)");
}

// A merge listed twice takes its last rank, as Hugging Face's tokenizers and its JavaScript port read it
// (the first rank was kept: "the" came out as one token where they give "t" + "he").
TEST(BpeTokenizer, ARepeatedMergeTakesItsLastRank) {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[tok::bytes_to_byte_level(std::string(1, char(b)))] = b;
  vocab["th"] = 256;
  vocab["he"] = 257;
  vocab["the"] = 258;
  const json j = {
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"t h", "h e", "th e", "t h"}}}},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
      {"decoder", {{"type", "ByteLevel"}}}};
  tok::BpeTokenizer t(j, json(), "tokenizer.json");
  EXPECT_EQ(t.encode("the"), (std::vector<TokenId>{'t', 257}));
}

// A text cut at a line start keeps its tokens unless an added token strips the whitespace beside it (the
// newline before a cut would then stay, where the whole text loses it) or holds a newline a cut can fall
// after: "a <x\ny> b" cut after its newline finds the token in neither part. One ending in a newline ends
// before any such cut.
TEST(BpeTokenizer, CutsAtLineStartsUnlessAnAddedTokenStripsOrHoldsANewline) {
  EXPECT_TRUE(tok::BpeTokenizer(tiny_tokenizer(), json(), "tiny").cuts_at_line_starts());
  auto j = tiny_tokenizer();
  j["added_tokens"][0]["lstrip"] = true;
  EXPECT_FALSE(tok::BpeTokenizer(j, json(), "tiny").cuts_at_line_starts());
  for (const char* content : {"<x\ny>", "\n<x>", "<x>\n<y>\n"}) {
    j = tiny_tokenizer();
    j["added_tokens"][0]["content"] = content;
    EXPECT_FALSE(tok::BpeTokenizer(j, json(), "tiny").cuts_at_line_starts()) << content;
  }
  // No cut can fall inside these: a newline at the end, or next to whitespace.
  for (const char* content : {"<x>\n", "\n", "<x>", "\n\n", "<x>\n\n", "<x> \ny"}) {
    j = tiny_tokenizer();
    j["added_tokens"][0]["content"] = content;
    EXPECT_TRUE(tok::BpeTokenizer(j, json(), "tiny").cuts_at_line_starts()) << content;
  }
}

TEST(BpeTokenizer, NamesWhatIsWrong) {
  auto j = tiny_tokenizer();
  j["model"]["merges"].push_back("a b c");
  EXPECT_NE(load_error(j).find("model.merges[2]"), std::string::npos) << load_error(j);
  j = tiny_tokenizer();
  j["model"]["merges"].push_back("a zzz");
  EXPECT_NE(load_error(j).find("\"zzz\" is not in the vocabulary"), std::string::npos) << load_error(j);
  j = tiny_tokenizer();
  j["model"]["type"] = "WordPiece";
  EXPECT_NE(load_error(j).find("WordPiece"), std::string::npos) << load_error(j);
  j = tiny_tokenizer();
  j["normalizer"] = {{"type", "Lowercase"}};
  EXPECT_NE(load_error(j).find("unsupported normalizer type \"Lowercase\""), std::string::npos)
      << load_error(j);
  j = tiny_tokenizer();
  j["decoder"] = {{"type", "Metaspace"}};
  EXPECT_NE(load_error(j).find("decoder"), std::string::npos) << load_error(j);
  j = tiny_tokenizer();
  j["model"]["vocab"]["x"] = "seven";
  EXPECT_NE(load_error(j).find("model.vocab[\"x\"]"), std::string::npos) << load_error(j);
  // A key that is a quote was shown as model.vocab["""]: keys are shown as JSON strings.
  j = tiny_tokenizer();
  j["model"]["vocab"]["\""] = -1;
  EXPECT_NE(load_error(j).find(R"(model.vocab["\""] = -1)"), std::string::npos) << load_error(j);
  j = tiny_tokenizer();
  j["post_processor"] = {{"type", "BertProcessing"}};
  EXPECT_NE(load_error(j).find("BertProcessing"), std::string::npos) << load_error(j);
  j = tiny_tokenizer();
  j["added_tokens"] = 5;
  EXPECT_NE(load_error(j).find("added_tokens"), std::string::npos) << load_error(j);
  j = tiny_tokenizer();
  j["model"]["vocab"]["huge"] = 2000000000;  // would size a 2-billion-entry table
  EXPECT_NE(load_error(j).find("not a valid token id"), std::string::npos) << load_error(j);
  j = tiny_tokenizer();
  j["model"]["vocab"] = json::array();
  EXPECT_NE(load_error(j).find("model.vocab"), std::string::npos) << load_error(j);
}

TEST(BpeTokenizer, DeeplyNestedValuesAreErrorsNotCrashes) {
  // Printing or copying such a value recursed once per level and overflowed the stack.
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  auto j = tiny_tokenizer();
  j["model"]["vocab"]["x"] = json::parse(deep);
  std::string msg = load_error(j);
  EXPECT_NE(msg.find(R"(tokenizer.json: the value at ["model"]["vocab"]["x"][0])"), std::string::npos) << msg;
  j = tiny_tokenizer();
  j["decoder"] = json::parse(deep);
  EXPECT_NE(load_error(j).find(R"(["decoder"][0])"), std::string::npos) << load_error(j);
  // Sequence steps are read recursively, so a deep chain of them needs the same limit.
  std::string chain;
  for (int i = 0; i < 100000; ++i) chain += R"({"type": "Sequence", "pretokenizers": [)";
  chain += R"({"type": "ByteLevel"})";
  for (int i = 0; i < 100000; ++i) chain += "]}";
  j = tiny_tokenizer();
  j["pre_tokenizer"] = json::parse(chain);
  EXPECT_NE(load_error(j).find(R"(["pre_tokenizer"]["pretokenizers"][0])"), std::string::npos)
      << load_error(j);
}

TEST(BpeTokenizer, MissingByteSymbolIsAnError) {
  // Without "Q" the encoder had nothing to start "Quick" from and left the Q out of the ids.
  auto j = tiny_tokenizer();
  j["model"]["vocab"].erase("Q");
  EXPECT_NE(load_error(j).find("tokenizer.json: the vocabulary has no symbol for byte 0x51 ('Q')"),
            std::string::npos)
      << load_error(j);
  j = tiny_tokenizer();
  j["model"]["vocab"].erase(tok::bytes_to_byte_level(" "));
  EXPECT_NE(load_error(j).find("byte 0x20 (spelled \"\u0120\")"), std::string::npos) << load_error(j);
  // With an unk_token the byte becomes that token, as in Hugging Face: visible, not dropped.
  j = tiny_tokenizer();
  j["model"]["vocab"].erase("Q");
  j["model"]["vocab"]["<unk>"] = 259;
  j["model"]["unk_token"] = "<unk>";
  tok::BpeTokenizer t(j, json(), "tokenizer.json");
  EXPECT_EQ(t.encode("Qa"), (std::vector<TokenId>{259, 'a'}));
  EXPECT_EQ(t.encode("QQaQ"), (std::vector<TokenId>{259, 259, 'a', 259}));
  // model.fuse_unk makes a run of such bytes one unk, as in Hugging Face (it was read as false whatever it
  // said).
  j["model"]["vocab"].erase("Z");
  j["model"]["fuse_unk"] = true;
  tok::BpeTokenizer fused(j, json(), "tokenizer.json");
  EXPECT_EQ(fused.encode("QQaQZQ"), (std::vector<TokenId>{259, 'a', 259}));
  EXPECT_EQ(fused.encode("Q"), (std::vector<TokenId>{259}));
  j["model"]["fuse_unk"] = "yes";
  EXPECT_NE(load_error(j).find("fuse_unk"), std::string::npos) << load_error(j);
}

TEST(LoadTokenizer, FallsBackToBytesAndReportsBadJson) {
  auto dir = std::filesystem::temp_directory_path() / ("seek-tok-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  EXPECT_EQ(load_tokenizer(dir)->kind(), "byte");
  std::ofstream(dir / "tokenizer.json") << "{ not json";
  try {
    load_tokenizer(dir);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not valid JSON"), std::string::npos) << e.what();
  }
  std::ofstream(dir / "tokenizer.json") << tiny_tokenizer().dump();
  std::ofstream(dir / "tokenizer_config.json") << R"({"add_bos_token": true, "bos_token": "<s>"})";
  auto t = load_tokenizer(dir);
  EXPECT_EQ(t->kind(), "bpe");
  EXPECT_EQ(t->encode("ab", true), (std::vector<TokenId>{258, 256}));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace seek
