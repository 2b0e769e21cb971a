// Tests for printing and checking untrusted JSON: describe_json stays short and never recurses, and
// check_json_depth / parse_json_unique_keys refuse what nlohmann would mishandle (deep nesting, duplicate
// keys) with messages naming where.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.hpp"
#include "core/untrusted_json.hpp"
#include "support/error_of.hpp"

namespace seek {
namespace {

using nlohmann::json;

// Deep enough that anything recursing once per level (dump, copy, ==) overflows an 8 MiB stack.
constexpr size_t kDeep = 200000;

std::string nested_array_text(size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

using test::error_of;

// The rest of the project relies on this: the installed nlohmann parses and destroys any depth without
// recursing (its parser keeps an explicit stack and its destructor flattens children), so only dump, copy
// and comparison need guarding.
TEST(UntrustedJson, NlohmannParsesAndDestroysDeepNestingWithoutRecursing) {
  json j = json::parse("{\"a\": " + nested_array_text(kDeep) + "}");
  EXPECT_TRUE(j["a"].is_array());
  j = json::parse(nested_array_text(kDeep), [](int, json::parse_event_t, json&) { return true; });
  EXPECT_TRUE(j.is_array());
}

TEST(UntrustedJson, DescribesScalarsAsJson) {
  EXPECT_EQ(describe_json(json(12)), "12");
  EXPECT_EQ(describe_json(json(-1.5)), "-1.5");
  EXPECT_EQ(describe_json(json(true)), "true");
  EXPECT_EQ(describe_json(json(nullptr)), "null");
  EXPECT_EQ(describe_json(json("big")), "\"big\"");
}

TEST(UntrustedJson, DescribesContainersOneLevelDeep) {
  EXPECT_EQ(describe_json(json::parse("[2, 3]")), "[2, 3]");
  EXPECT_EQ(describe_json(json::parse("[]")), "[]");
  EXPECT_EQ(describe_json(json::parse(R"({"a": 1, "b": [1], "c": {}})")), R"({"a": 1, "b": [...], "c": {}})");
  EXPECT_EQ(describe_json(json::parse(nested_array_text(kDeep))), "[[...]]");
}

TEST(UntrustedJson, CapsLongValues) {
  std::string s = describe_json(json(std::string(100000, 'x')));
  EXPECT_LT(s.size(), 80u) << s;
  EXPECT_EQ(s.substr(0, 4), "\"xxx");
  EXPECT_EQ(s.substr(s.size() - 3), "...");

  json big = json::array();
  for (int i = 0; i < 1000; ++i) big.push_back(i);
  s = describe_json(big);
  EXPECT_EQ(s.substr(0, 10), "[0, 1, 2, ");
  EXPECT_NE(s.find("... (an array of 1000 values)"), std::string::npos) << s;
  EXPECT_LT(s.size(), 100u) << s;
}

TEST(UntrustedJson, CutsOnlyBetweenUtf8Sequences) {
  // Each "é" is two bytes; a cut must not leave half of one, or the message would not be valid UTF-8.
  for (size_t prefix = 0; prefix < 3; ++prefix) {
    std::string text = std::string(prefix, 'a');
    for (int i = 0; i < 100; ++i) text += "\xC3\xA9";
    std::string s = describe_json(json::array({text}));
    SCOPED_TRACE(s);
    EXPECT_NO_THROW(json(s).dump());  // dump() throws on invalid UTF-8
  }
}

TEST(UntrustedJson, DepthCheckNamesThePath) {
  json ok = json::parse(R"({"model": {"vocab": {"a": [[1]]}}})");
  EXPECT_EQ(error_of([&] { check_json_depth(ok, "t.json", 5); }), "");  // 5 levels: {} {} {} [] []
  std::string msg = error_of([&] { check_json_depth(ok, "t.json", 4); });
  EXPECT_NE(msg.find("t.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find(R"(at ["model"]["vocab"]["a"][0] nests)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("more than 4 levels"), std::string::npos) << msg;

  json deep = json::parse(R"({"x": 1, "list": [0, )" + nested_array_text(kDeep) + "]}");
  msg = error_of([&] { check_json_depth(deep, "t.json"); });
  EXPECT_NE(msg.find(R"(["list"][1][0][0])"), std::string::npos) << msg;
  EXPECT_LT(msg.size(), 200u) << msg;
  EXPECT_EQ(error_of([&] { check_json_depth(json(5), "t.json", 0); }), "");
}

TEST(UntrustedJson, DuplicateKeysAreNamedWithTheirPath) {
  EXPECT_EQ(parse_json_unique_keys(R"({"a": {"b": 1}, "c": [{"b": 2}, {"b": 3}]})", "t.json")["c"][1]["b"],
            3);
  std::string msg = error_of([] { parse_json_unique_keys(R"({"a": 1, "b": 2, "a": 3})", "t.json"); });
  EXPECT_NE(msg.find("t.json: key \"a\" appears more than once"), std::string::npos) << msg;
  msg = error_of([] { parse_json_unique_keys(R"({"r": {"f": 1, "f": 2}})", "t.json"); });
  EXPECT_NE(msg.find("\"r.f\""), std::string::npos) << msg;
  msg = error_of([] { parse_json_unique_keys(R"({"l": [{"f": 1}, {"g": 1, "g": 1}]})", "t.json"); });
  EXPECT_NE(msg.find("\"l[].g\""), std::string::npos) << msg;
  EXPECT_THROW(parse_json_unique_keys("{\"a\": ", "t.json"), json::parse_error);
  // Deep nesting stops the parse at the limit (naming where), so neither memory nor a later copy's recursion
  // grows with it; a higher limit reads it.
  msg = error_of(
      [] { parse_json_unique_keys("{\"x\": {\"y\": " + nested_array_text(kDeep) + "}}", "t.json"); });
  EXPECT_NE(msg.find("t.json: the value at x.y[][]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("more than 64 levels deep"), std::string::npos) << msg;
  EXPECT_TRUE(parse_json_unique_keys(nested_array_text(kDeep), "t.json", kDeep + 1).is_array());
  EXPECT_TRUE(parse_json_unique_keys(nested_array_text(64), "t.json").is_array());
  EXPECT_THROW(parse_json_unique_keys(nested_array_text(65), "t.json"), Error);
  // A number past double is nlohmann's out_of_range, as json::parse throws it.
  EXPECT_THROW(parse_json_unique_keys(R"({"a": 1e400})", "t.json"), json::out_of_range);
  // An integer past 64 bits would become a nearby double (100000000000000000001 → 1e20): refused, naming it.
  msg = error_of([] { parse_json_unique_keys(R"({"l": [1, {"n": 100000000000000000001}]})", "t.json"); });
  EXPECT_NE(msg.find("t.json: the integer 100000000000000000001 at l[].n does not fit in 64 bits"),
            std::string::npos)
      << msg;
  EXPECT_NE(error_of([] { parse_json_unique_keys("-9223372036854775809", "t.json"); }).find("at the top"),
            std::string::npos);
  EXPECT_EQ(
      parse_json_unique_keys("[18446744073709551615, -9223372036854775808, 1e20, 2.5]", "t.json").dump(),
      "[18446744073709551615,-9223372036854775808,1e+20,2.5]");
}

// nlohmann's parser stops at a NUL byte as at the end of the text: what followed one (a safetensors header's
// later entries, any garbage) was dropped without a word.
TEST(UntrustedJson, ANulByteIsAnError) {
  using namespace std::string_literals;
  const std::string msg = error_of([] { parse_json_unique_keys("{\"a\": 1}\0{not json"s, "t.json"); });
  EXPECT_EQ(msg, "t.json: a NUL byte at offset 8, which JSON text cannot hold");
  EXPECT_NE(error_of([] { parse_json_unique_keys("{\"a\": \"x\0y\"}"s, "t.json"); }).find("offset 8"),
            std::string::npos);
}

// nlohmann's parse callback, which the key check used, rescanned the enclosing object at the end of every
// inner object: 90,000 tensor entries in one safetensors header took 45 s. Linear now.
TEST(UntrustedJson, ManyObjectsInOneObjectParseInLinearTime) {
  std::string text = "{";
  for (int i = 0; i < 200000; ++i) text += fmt::format("{}\"t{}\": {{\"s\": [1, 2]}}", i ? "," : "", i);
  text += "}";
  const auto t0 = std::chrono::steady_clock::now();
  const json j = parse_json_unique_keys(text, "t.json");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(j.size(), 200000u);
  EXPECT_EQ(j["t199999"]["s"][1], 2);
  EXPECT_LT(seconds, 5.0) << "quadratic again?";  // ~0.3 s; the callback parser needed minutes
}

// A JSONL record's error said "bad.jsonl:2: ... [json.exception.parse_error.101] parse error at line 1,
// column 14": two line numbers, and a tag meant for programmers.
TEST(UntrustedJson, ErrorTextDropsTheTagAndALoneLine) {
  auto parse_error = [](const std::string& text) -> std::string {
    try {
      const json parsed = json::parse(text);
      return parsed.dump();
    } catch (const json::exception& e) {
      return json_error_text(e, /*one_line=*/true) + "|" + json_error_text(e);
    }
    return "";
  };
  const std::string one = parse_error(R"({"text": "bad)");
  EXPECT_EQ(one.find("[json.exception"), std::string::npos) << one;
  EXPECT_TRUE(one.starts_with("parse error at column 14: syntax error")) << one;
  EXPECT_NE(one.find("|parse error at line 1, column 14:"), std::string::npos) << one;  // whole files keep it
  const std::string two = parse_error("{\n\"a\": oops}");
  EXPECT_TRUE(two.starts_with("parse error at line 2, column 6")) << two;  // not one line: kept
  // The input it quotes stays valid text: bytes outside UTF-8 as \xNN, well-formed characters as they are
  // (the message of a header with raw bytes was itself not text).
  const std::string bytes = parse_error("{\"é\xff\xc3\": 1}");
  EXPECT_NE(bytes.find("last read: '\"é\\xff'"), std::string::npos) << bytes;
  for (const char* bad :
       {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80"}) {  // overlong, surrogate, > U+10FFFF
    const std::string t = parse_error(std::string("[\"") + bad);
    EXPECT_NE(t.find("\\x"), std::string::npos) << t;
    EXPECT_EQ(t.find(bad), std::string::npos) << t;
  }
  try {
    const json missing = json::parse("[1]").at("key");
    ADD_FAILURE() << missing.dump();
  } catch (const json::exception& e) {
    EXPECT_EQ(json_error_text(e).find("[json.exception"), std::string::npos) << json_error_text(e);
  }
}

}  // namespace
}  // namespace seek
