// The native DeepSeek-V3/R1 and V2 chat formats against the strings DeepSeek's own chat templates render
// (fixtures/chat_expected.json, rendered once with @huggingface/jinja by oracle/render_chat.mjs;
// fixtures/chat_expected_v2.json with Jinja2 by oracle/render_chat_v2.py), and which style a model folder's
// chat template names.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/trainer.hpp"

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

TEST(Chat, V2MatchesItsRenderedTemplate) {
  auto convs = load("chat_conversations.json");
  auto expected = load("chat_expected_v2.json");
  size_t k = 0;
  for (const auto& c : convs) {
    std::vector<ChatMessage> msgs;
    bool tool = false;
    for (const auto& m : c["messages"]) {
      msgs.push_back({m["role"], m["content"]});
      tool |= m["role"] == "tool";
    }
    if (tool) {  // V2's template has no tool turns (it would drop them): an error here
      EXPECT_THROW(render_chat(msgs, {ChatStyle::V2, true, true}), Error) << c["name"];
      continue;
    }
    for (bool gen : {false, true}) {
      ASSERT_LT(k, expected.size());
      const auto& e = expected[k++];
      ASSERT_EQ(e["name"], c["name"]);
      ASSERT_EQ(e["add_generation_prompt"], gen);
      EXPECT_EQ(render_chat(msgs, {ChatStyle::V2, gen, true}), e["expected"].get<std::string>())
          << c["name"] << " generation prompt " << gen;
    }
  }
  EXPECT_EQ(k, expected.size());
  EXPECT_GE(k, 4u);
}

TEST(Chat, StyleComesFromTheModelsChatTemplate) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("seek_chat_style_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  EXPECT_EQ(chat_style_of(dir), ChatStyle::V3);  // no tokenizer_config.json
  bool recognised = false;
  EXPECT_EQ(chat_style_of(dir, &recognised), ChatStyle::V3);
  EXPECT_TRUE(recognised);
  auto with_template = [&](const std::string& file) {
    std::ifstream f(std::string(SEEK_TEST_DIR) + "/tokenizer/fixtures/" + file);
    std::string t((std::istreambuf_iterator<char>(f)), {});
    EXPECT_FALSE(t.empty()) << file;
    std::ofstream(dir / "tokenizer_config.json") << nlohmann::json{{"chat_template", t}}.dump();
    recognised = false;
    const ChatStyle style = chat_style_of(dir, &recognised);
    EXPECT_TRUE(recognised) << file;
    return style;
  };
  EXPECT_EQ(with_template("deepseek_v2_chat_template.jinja"), ChatStyle::V2);
  EXPECT_EQ(with_template("deepseek_r1_chat_template.jinja"), ChatStyle::R1);
  std::ofstream(dir / "tokenizer_config.json")
      << nlohmann::json{{"chat_template", kDeepSeekV3ChatTemplate}}.dump();
  EXPECT_EQ(chat_style_of(dir, &recognised), ChatStyle::V3);
  EXPECT_TRUE(recognised);
  // "" is no template.
  std::ofstream(dir / "tokenizer_config.json") << nlohmann::json{{"chat_template", ""}}.dump();
  recognised = false;
  EXPECT_EQ(chat_style_of(dir, &recognised), ChatStyle::V3);
  EXPECT_TRUE(recognised);
  // Another family's template, a list without a "default" one, or V3.1's hybrid (whose <think> is behind its
  // `thinking` switch: not R1's prompt) render as V3 but are flagged.
  for (const nlohmann::json& t :
       {nlohmann::json(
            "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>{% endfor %}"),
        nlohmann::json::array({{{"name", "default"}}}),
        nlohmann::json(
            "{{'<｜User｜>' + m['content']}}{% if thinking %}{{'<｜Assistant｜><think>'}}{% else %}"
            "{{'<｜Assistant｜></think>'}}{% endif %}")}) {
    std::ofstream(dir / "tokenizer_config.json") << nlohmann::json{{"chat_template", t}}.dump();
    recognised = true;
    EXPECT_EQ(chat_style_of(dir, &recognised), ChatStyle::V3);
    EXPECT_FALSE(recognised) << t.dump();
  }
  fs::remove_all(dir);
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
