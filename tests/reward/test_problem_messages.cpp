// A data problem given as chat messages: an unknown role, or a conversation that already ends with the
// assistant's reply, is refused where the record is read (with its file:line), not when its prompt is
// rendered after the run has started.
#include <gtest/gtest.h>

#include <string>

#include "core/error.hpp"
#include "reward/dataset.hpp"

namespace seek::reward {
namespace {

std::string error_of(const nlohmann::json& record) {
  try {
    problem_from_json(record, "problems.jsonl:7");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ProblemMessages, UnknownRoleIsNamedWithTheRecord) {
  const auto msg = error_of({{"messages", {{{"role", "wizard"}, {"content", "hi"}}}}, {"answer", "1"}});
  EXPECT_NE(msg.find("problems.jsonl:7: messages[0] has unknown role \"wizard\""), std::string::npos) << msg;
}

TEST(ProblemMessages, AConversationEndingWithTheReplyIsRefused) {
  const auto msg = error_of(
      {{"messages", {{{"role", "user"}, {"content", "1+0?"}}, {{"role", "assistant"}, {"content", "1"}}}},
       {"answer", "1"}});
  EXPECT_NE(msg.find("problems.jsonl:7: the last of \"messages\" is an assistant turn"), std::string::npos)
      << msg;
}

// As an empty "prompt" is refused: a user turn without text, a conversation without a user turn, and an
// empty id (which outputs name the problem by) were read and evaluated.
TEST(ProblemMessages, AnEmptyQuestionOrIdIsRefused) {
  std::string msg = error_of({{"messages", {{{"role", "user"}, {"content", ""}}}}, {"answer", "1"}});
  EXPECT_NE(msg.find("problems.jsonl:7: messages[0] is a user turn with empty content"), std::string::npos)
      << msg;
  msg = error_of({{"messages", {{{"role", "system"}, {"content", "x"}}}}, {"answer", "1"}});
  EXPECT_NE(msg.find("problems.jsonl:7: \"messages\" has no user turn"), std::string::npos) << msg;
  msg = error_of({{"prompt", "a"}, {"answer", "1"}, {"id", ""}});
  EXPECT_NE(msg.find("problems.jsonl:7: \"id\" is empty"), std::string::npos) << msg;
  EXPECT_EQ(error_of({{"prompt", "a"}, {"answer", "1"}, {"id", "q1"}}), "");
  // White space alone asks nothing either.
  msg = error_of({{"prompt", "   \n"}, {"answer", "1"}});
  EXPECT_NE(msg.find("problems.jsonl:7: \"prompt\" is empty but for white space"), std::string::npos) << msg;
  msg = error_of({{"messages", {{{"role", "user"}, {"content", " \t"}}}}, {"answer", "1"}});
  EXPECT_NE(msg.find("problems.jsonl:7: messages[0] is a user turn with empty content"), std::string::npos)
      << msg;
  // Unicode white space and invisible characters too (no-break and ideographic spaces, a zero-width space).
  msg = error_of({{"prompt", "\u00a0\u3000\u200b"}, {"answer", "1"}});
  EXPECT_NE(msg.find("problems.jsonl:7: \"prompt\" is empty but for white space"), std::string::npos) << msg;
  msg = error_of({{"messages", {{{"role", "user"}, {"content", "\u2003\ufeff"}}}}, {"answer", "1"}});
  EXPECT_NE(msg.find("problems.jsonl:7: messages[0] is a user turn with empty content"), std::string::npos)
      << msg;
}

// Turns carrying a tool call or reasoning beside their content were rendered without it, and the model was
// asked something else than the record says (SFT refuses such turns too); empty ones carry nothing.
TEST(ProblemMessages, TurnsWithWhatThePromptLeavesOutAreRefused) {
  std::string msg =
      error_of({{"messages",
                 {{{"role", "user"}, {"content", "weather?"}},
                  {{"role", "assistant"}, {"content", ""}, {"tool_calls", {{{"type", "function"}}}}},
                  {{"role", "tool"}, {"content", "sunny"}}}},
                {"answer", "1"}});
  EXPECT_NE(msg.find("problems.jsonl:7: messages[1] (assistant) has \"tool_calls\", which the prompt's "
                     "rendering leaves out"),
            std::string::npos)
      << msg;
  msg = error_of({{"messages",
                   {{{"role", "user"}, {"content", "2+2?"}},
                    {{"role", "assistant"}, {"content", "4"}, {"reasoning_content", "add"}},
                    {{"role", "user"}, {"content", "and 3+3?"}}}},
                  {"answer", "6"}});
  EXPECT_NE(msg.find("messages[1] (assistant) has \"reasoning_content\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("<think>...</think>"), std::string::npos) << msg;
  // OpenAI's tool-call turn has no content: named by its call, not by the missing content.
  msg = error_of({{"messages",
                   {{{"role", "user"}, {"content", "weather?"}},
                    {{"role", "assistant"}, {"content", nullptr}, {"tool_calls", {{{"type", "function"}}}}},
                    {{"role", "tool"}, {"content", "sunny"}}}},
                  {"answer", "1"}});
  EXPECT_NE(msg.find("messages[1] (assistant) has \"tool_calls\""), std::string::npos) << msg;
  EXPECT_EQ(error_of({{"messages",
                       {{{"role", "user"}, {"content", "2+2?"}, {"tool_calls", nullptr}, {"thinking", ""}}}},
                      {"answer", "4"}}),
            "");
}

// A file that cannot be read says why ("x.jsonl: cannot open" before), and '-' that problems come from a
// file.
TEST(ProblemMessages, AnUnreadableFileSaysWhy) {
  const std::string missing = ::testing::TempDir() + "seek-no-such-problems.jsonl";
  std::string msg;
  try {
    load_problems_jsonl(missing);
  } catch (const Error& e) {
    msg = e.what();
  }
  EXPECT_EQ(msg, "cannot read " + missing + ": No such file or directory");
  msg.clear();
  try {
    load_problems_jsonl("-");
  } catch (const Error& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("not standard input ('-')"), std::string::npos) << msg;
}

TEST(ProblemMessages, EveryKnownRoleIsAccepted) {
  EXPECT_EQ(error_of({{"messages",
                       {{{"role", "system"}, {"content", "be brief"}},
                        {{"role", "user"}, {"content", "1+0?"}},
                        {{"role", "assistant"}, {"content", "1"}},
                        {{"role", "tool"}, {"content", "checked"}},
                        {{"role", "user"}, {"content", "and 2+0?"}}}},
                      {"answer", "2"}}),
            "");
}

}  // namespace
}  // namespace seek::reward
