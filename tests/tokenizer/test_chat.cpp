// The native DeepSeek-V3/R1 and V2 chat formats against the strings DeepSeek's own chat templates render
// (fixtures/chat_expected.json, rendered once with @huggingface/jinja by oracle/render_chat.mjs;
// fixtures/chat_expected_v2.json and chat_expected_v31.json with Jinja2 by oracle/render_chat_v2.py and
// render_chat_v31.py), and which style a model folder's chat template names.
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

TEST(Chat, V31MatchesItsRenderedTemplateInBothModes) {
  auto expected = load("chat_expected_v31.json");
  ASSERT_GE(expected.size(), 40u);
  for (const auto& e : expected) {
    std::vector<ChatMessage> msgs;
    for (const auto& m : e["messages"]) msgs.push_back({m["role"], m["content"]});
    const ChatStyle style = e["thinking"].get<bool>() ? ChatStyle::V31Thinking : ChatStyle::V31;
    const bool gen = e["add_generation_prompt"];
    EXPECT_EQ(render_chat(msgs, {style, gen, true}), e["expected"].get<std::string>())
        << e["name"] << " thinking " << e["thinking"] << " generation prompt " << gen;
  }
}

// A reply kept in the history renders as the template renders that turn: V3.1 in thinking mode drops the
// reasoning, also one the reply never closed (stopped by Ctrl-C or the token limit).
TEST(Chat, V31ThinkingReplyLosesItsReasoningInTheHistory) {
  const ChatOptions co{ChatStyle::V31Thinking, true, false};
  std::vector<ChatMessage> h = {{"user", "q"}};
  EXPECT_EQ(render_chat(h, co), "<｜User｜>q<｜Assistant｜><think>");
  for (const char* reply : {"let me see</think>42", "still thinking"}) {
    std::vector<ChatMessage> next = h;
    next.push_back(chat_reply_message(ChatStyle::V31Thinking, reply));
    next.push_back({"user", "and?"});
    const std::string answer = std::string(reply).find("</think>") != std::string::npos ? "42" : "";
    EXPECT_EQ(render_chat(next, co), "<｜User｜>q<｜Assistant｜></think>" + answer +
                                         "<｜end▁of▁sentence｜><｜User｜>and?<｜Assistant｜><think>")
        << reply;
  }
  // Without thinking the reply is kept as written.
  EXPECT_EQ(chat_reply_message(ChatStyle::V31, "plain").content, "plain");
}

// A reply stopped inside a character keeps the characters it finished: its last bytes alone would come back
// as U+FFFD in the next turn's prompt, which the model never wrote.
TEST(Chat, AReplyCutInsideACharacterKeepsTheWholeOnes) {
  const std::string cut = "caf\xc3\xa9 \xe4\xbd";  // "café " and two of 你's three bytes
  EXPECT_EQ(chat_reply_message(ChatStyle::V3, cut).content, "caf\xc3\xa9 ");
  EXPECT_EQ(chat_reply_message(ChatStyle::R1, cut).content, "<think>\ncaf\xc3\xa9 </think>");
  EXPECT_EQ(chat_reply_message(ChatStyle::V3, "caf\xc3\xa9").content, "caf\xc3\xa9");  // whole: as it was
  // Bytes that cannot start a character stay: a byte-level model's text is kept as written.
  EXPECT_EQ(chat_reply_message(ChatStyle::V3, "a\x80").content, "a\x80");
}

TEST(Chat, ThinkingIsASwitchOnlyV31Has) {
  EXPECT_EQ(with_thinking(ChatStyle::V31, true, "--think"), ChatStyle::V31Thinking);
  EXPECT_EQ(with_thinking(ChatStyle::V31, false, "--think"), ChatStyle::V31);
  EXPECT_EQ(with_thinking(ChatStyle::R1, true, "--think"), ChatStyle::R1);
  for (ChatStyle s : {ChatStyle::V2, ChatStyle::V3}) {
    EXPECT_EQ(with_thinking(s, false, "--think"), s);
    try {
      with_thinking(s, true, "--think");
      ADD_FAILURE() << chat_style_name(s);
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("--think: the DeepSeek-"), std::string::npos) << e.what();
    }
  }
  EXPECT_STREQ(chat_style_name(ChatStyle::V31Thinking), "v3.1-think");
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
  EXPECT_EQ(with_template("deepseek_v31_chat_template.jinja"), ChatStyle::V31);
  // "thinking" in a V3 template's default system prompt does not make it V3.1's.
  std::ofstream(dir / "tokenizer_config.json") << nlohmann::json{
      {"chat_template", std::string("{{'Take your time thinking.'}}") +
                            kDeepSeekV3ChatTemplate}}.dump();
  EXPECT_EQ(chat_style_of(dir, &recognised), ChatStyle::V3);
  std::ofstream(dir / "tokenizer_config.json")
      << nlohmann::json{{"chat_template", kDeepSeekV3ChatTemplate}}.dump();
  EXPECT_EQ(chat_style_of(dir, &recognised), ChatStyle::V3);
  EXPECT_TRUE(recognised);
  // "" is no template.
  std::ofstream(dir / "tokenizer_config.json") << nlohmann::json{{"chat_template", ""}}.dump();
  recognised = false;
  EXPECT_EQ(chat_style_of(dir, &recognised), ChatStyle::V3);
  EXPECT_TRUE(recognised);
  // Another family's template, or a list without a "default" one, render as V3 but are flagged.
  for (const nlohmann::json& t :
       {nlohmann::json(
            "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>{% endfor %}"),
        nlohmann::json::array({{{"name", "tool_use"}, {"template", "x"}}})}) {
    std::ofstream(dir / "tokenizer_config.json") << nlohmann::json{{"chat_template", t}}.dump();
    recognised = true;
    EXPECT_EQ(chat_style_of(dir, &recognised), ChatStyle::V3);
    EXPECT_FALSE(recognised) << t.dump();
  }
  fs::remove_all(dir);
}

// The offsets render_chat marks: where the conversation up to each assistant turn ends in the whole one
// (what SFT masks its answers by), for every format, with and without the generation prompt.
TEST(Chat, MarksWhereEachTurnEnds) {
  auto convs = load("chat_conversations.json");
  int checked = 0;
  for (const auto& c : convs) {
    std::vector<ChatMessage> msgs;
    bool has_tool = false;
    for (const auto& m : c["messages"]) {
      msgs.push_back({m["role"], m["content"]});
      has_tool = has_tool || m["role"] == "tool";
    }
    for (ChatStyle style :
         {ChatStyle::V2, ChatStyle::V3, ChatStyle::R1, ChatStyle::V31, ChatStyle::V31Thinking}) {
      if (style == ChatStyle::V2 && has_tool) continue;  // V2 has no tool turns
      for (bool gen : {false, true}) {
        const ChatOptions opt{style, gen, true};
        std::vector<size_t> ends{7};  // cleared first
        const std::string full = render_chat(msgs, opt, &ends);
        ASSERT_EQ(ends.size(), msgs.size()) << c["name"];
        for (size_t i = 0; i < msgs.size(); ++i) {
          if (i > 0) {
            EXPECT_LE(ends[i - 1], ends[i]) << c["name"];
          }
          EXPECT_LE(ends[i], full.size()) << c["name"];
          if (msgs[i].role != "assistant") continue;
          // V2 renders every turn in order; the others move the system prompts to the front.
          std::vector<ChatMessage> prefix;
          for (size_t j = 0; j < msgs.size(); ++j)
            if (j <= i || (style != ChatStyle::V2 && msgs[j].role == "system")) prefix.push_back(msgs[j]);
          EXPECT_EQ(full.substr(0, ends[i]), render_chat(prefix, {style, false, true}))
              << c["name"] << " " << chat_style_name(style) << " turn " << i;
          ++checked;
        }
      }
    }
  }
  EXPECT_GT(checked, 20);
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
