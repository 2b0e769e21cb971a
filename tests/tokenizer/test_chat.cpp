// The native DeepSeek-V3/R1 chat format against the strings DeepSeek's own chat templates render
// (fixtures/chat_expected.json, rendered once with @huggingface/jinja by oracle/render_chat.mjs).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "core/error.hpp"
#include "tokenizer/tokenizer.hpp"

namespace seek {
namespace {

nlohmann::json load(const char* name) {
  std::ifstream f(std::string(SEEK_TEST_DIR) + "/tokenizer/fixtures/" + name);
  EXPECT_TRUE(f) << name << " is missing";
  return nlohmann::json::parse(f);
}

TEST(Chat, MatchesRenderedTemplates) {
  auto convs = load("chat_conversations.json");
  auto expected = load("chat_expected.json");
  ASSERT_EQ(expected.size(), convs.size() * 4);
  size_t k = 0;
  for (const auto& c : convs) {
    std::vector<ChatMessage> msgs;
    for (const auto& m : c["messages"]) msgs.push_back({m["role"], m["content"]});
    for (ChatStyle style : {ChatStyle::V3, ChatStyle::R1}) {
      for (bool gen : {false, true}) {
        const auto& e = expected[k++];
        ASSERT_EQ(e["name"], c["name"]);
        ASSERT_EQ(e["style"], style == ChatStyle::V3 ? "V3" : "R1");
        ASSERT_EQ(e["add_generation_prompt"], gen);
        EXPECT_EQ(render_chat(msgs, {style, gen, true}), e["expected"].get<std::string>())
            << c["name"] << " " << e["style"] << " generation prompt " << gen;
      }
    }
  }
}

TEST(Chat, UnknownRoleIsAnError) {
  EXPECT_THROW(render_chat({{"narrator", "x"}}), Error);
}

TEST(Chat, WithoutBos) {
  EXPECT_EQ(render_chat({{"user", "hi"}}, {ChatStyle::V3, true, false}), "<｜User｜>hi<｜Assistant｜>");
}

TEST(Chat, EncodesSpecialTokensWithByteTokenizer) {
  auto tok = make_byte_tokenizer();
  auto ids =
      encode_chat(*tok, {{"user", "hi"}, {"assistant", "<think>x</think>yo"}}, {ChatStyle::R1, true, true});
  std::vector<TokenId> want = {tok->bos_id(),
                               *tok->token_to_id(tokens::kUser),
                               'h',
                               'i',
                               *tok->token_to_id(tokens::kAssistant),
                               'y',
                               'o',
                               tok->eos_id(),
                               *tok->token_to_id(tokens::kAssistant),
                               *tok->token_to_id(tokens::kThink),
                               '\n'};
  EXPECT_EQ(ids, want);
}

}  // namespace
}  // namespace seek
