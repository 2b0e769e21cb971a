// JSONL problem loading (see dataset.hpp).
#include "reward/dataset.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <unordered_map>

#include "core/error.hpp"
#include "core/read_file.hpp"
#include "core/unicode_space.hpp"
#include "core/unrendered_message_keys.hpp"
#include "core/untrusted_json.hpp"
#include "reward/answer_extract.hpp"
#include "reward/deadline.hpp"
#include "reward/latex_normalize.hpp"

namespace seek::reward {

Problem problem_from_json(const nlohmann::json& j, const std::string& where, const std::string& default_id) {
  if (!j.is_object()) fail("{}: expected a JSON object, got {}", where, j.type_name());
  Problem p;
  bool has_prompt = j.contains("prompt"), has_messages = j.contains("messages");
  if (has_prompt == has_messages) fail("{}: needs exactly one of \"prompt\" or \"messages\"", where);
  if (has_prompt) {
    if (!j["prompt"].is_string()) fail("{}: \"prompt\" must be a string", where);
    p.prompt = j["prompt"].get<std::string>();
    if (shows_nothing(p.prompt))
      fail("{}: \"prompt\" is empty{}", where, p.prompt.empty() ? "" : " but for white space");
  } else {
    const auto& m = j["messages"];
    if (!m.is_array() || m.empty()) fail("{}: \"messages\" must be a non-empty array", where);
    for (size_t i = 0; i < m.size(); ++i) {
      const auto shape = [&] {
        fail("{}: messages[{}] must be {{\"role\": string, \"content\": string}}", where, i);
      };
      if (!m[i].is_object() || !m[i].contains("role") || !m[i]["role"].is_string()) shape();
      const std::string role = m[i]["role"].get<std::string>();
      if (role != "system" && role != "user" && role != "assistant" && role != "tool")
        fail("{}: messages[{}] has unknown role \"{}\" (expected system, user, assistant or tool)", where, i,
             role);
      // Rendered into the prompt without them, as SFT refuses them (train/data_records.cpp); before the
      // content check, since a tool call's turn often has none ("content": null).
      if (const char* key = unrendered_message_key(m[i]))
        fail(
            "{}: messages[{}] ({}) has \"{}\", which the prompt's rendering leaves out (only role and "
            "content "
            "are rendered): {}",
            where, i, role, key, unrendered_message_advice(key));
      if (!m[i].contains("content") || !m[i]["content"].is_string()) shape();
      // As an empty "prompt" is: a user turn without text asks nothing.
      if (role == "user" && shows_nothing(m[i]["content"].get_ref<const std::string&>()))
        fail("{}: messages[{}] is a user turn with empty content", where, i);
    }
    if (std::none_of(m.begin(), m.end(), [](const nlohmann::json& t) { return t["role"] == "user"; }))
      fail("{}: \"messages\" has no user turn; a problem asks its question in one", where);
    // The model writes the reply to the last turn: a conversation that already ends with the reply has no
    // question left for it.
    if (m.back()["role"] == "assistant")
      fail(
          "{}: the last of \"messages\" is an assistant turn; a problem ends with the turn the model answers",
          where);
    p.messages = m;
  }
  if (j.contains("id")) {
    const auto& id = j["id"];
    if (id.is_string()) {
      p.id = id.get<std::string>();
      // Outputs and logs name the problem by it (eval's "problem", GRPO's completions).
      if (p.id.empty()) fail("{}: \"id\" is empty; leave it out to name the problem by its line", where);
    } else if (id.is_number_unsigned())  // above INT64_MAX get<int64_t> would wrap, as for "answer" below
      p.id = std::to_string(id.get<uint64_t>());
    else if (id.is_number_integer())
      p.id = std::to_string(id.get<int64_t>());
    else
      fail("{}: \"id\" must be a string or an integer", where);
  } else {
    p.id = default_id.empty() ? where : default_id;
  }
  bool has_answer = j.contains("answer"), has_tests = j.contains("tests");
  if (!has_answer && !has_tests) fail("{}: needs \"answer\" (maths) or \"tests\" (code)", where);
  if (has_answer && has_tests)
    fail("{}: has both \"answer\" and \"tests\"; a problem is maths or code", where);
  if (has_answer) {
    const auto& a = j["answer"];
    if (a.is_string()) {
      const std::string raw = a.get<std::string>();
      p.answer = reference_answer(raw);
      // A reference read as written, though it has a final-answer marker, is one whose marker holds nothing
      // ("####", a whole solution ending in "#### ", a \boxed{ never closed, an <answer> block empty or
      // never closed): no completion can ever match it.
      if (p.answer == trim_copy(with_ascii_minus(raw))) {
        bool boxed_present = false;
        last_boxed(raw, &boxed_present);
        SEEK_CHECK(
            !boxed_present,
            "{}: \"answer\" has a \\boxed{{ that is never closed, so it holds no final answer; give the "
            "final answer alone, or close the brace",
            where);
        SEEK_CHECK(raw.find("####") == std::string::npos,
                   "{}: \"answer\" has \"####\" with no answer after it (GSM8K writes the final answer as "
                   "\"#### 72\"; a \"####\" before words, \"#### Step 1\", is a Markdown heading); give the "
                   "final answer alone, or after the \"####\"",
                   where);
        SEEK_CHECK(
            raw.find("<answer>") == std::string::npos && raw.find("</answer>") == std::string::npos,
            "{}: \"answer\" has an <answer> tag but no <answer>...</answer> block with an answer in it; "
            "give the final answer alone, or inside <answer> and </answer>",
            where);
      }
    } else if (a.is_number_unsigned()) {
      // Above INT64_MAX, get<int64_t> would wrap (18446744073709551615 read as -1).
      p.answer = std::to_string(a.get<uint64_t>());
    } else if (a.is_number_integer()) {
      p.answer = std::to_string(a.get<int64_t>());
    } else if (a.is_number()) {
      // An integer past 2^64 parses as a double, which keeps 17 digits of it: 123456789012345678901234 became
      // 1.2345678901234569e+23, which the right answer does not equal. Where the double needs 16 or more
      // digits and is past 2^53 (where doubles skip integers), the record's digits were lost; a round value
      // (1.5e20) is the number written.
      const std::string written = a.dump();
      const std::string mantissa = written.substr(0, written.find_first_of("eE"));
      std::string digits;
      for (char ch : mantissa)
        if (ch >= '0' && ch <= '9') digits += ch;
      digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size()));
      digits.erase(digits.find_last_not_of('0') + 1);
      SEEK_CHECK(
          std::fabs(a.get<double>()) < 9007199254740992.0 || digits.size() < 16,
          "{}: \"answer\" is a JSON number with more digits than a double holds (read as {}): write it "
          "as a string, \"answer\": \"...\"",
          where, written);
      // JSON writes small and large values with an exponent ("1e-05", "1.5e+20"), which answer comparison
      // does not read as a number; "1 \times 10^{-5}" it evaluates exactly.
      p.answer = a.dump();
      size_t e = p.answer.find_first_of("eE");
      if (e != std::string::npos)
        p.answer =
            p.answer.substr(0, e) + " \\times 10^{" + std::to_string(std::stoi(p.answer.substr(e + 1))) + "}";
    } else {
      fail("{}: \"answer\" must be a string or a number, got {}", where, a.type_name());
    }
    if (p.answer.empty()) fail("{}: \"answer\" is empty after extracting the final answer", where);
  } else {
    const auto& t = j["tests"];
    if (t.is_string()) {
      p.asserts = t.get<std::string>();
      if (trim_copy(p.asserts).empty()) fail("{}: \"tests\" is an empty string", where);
    } else if (t.is_array()) {
      if (t.empty()) fail("{}: \"tests\" is an empty list", where);
      for (size_t i = 0; i < t.size(); ++i) {
        const auto& c = t[i];
        if (!c.is_object() || !c.contains("input") || !c.contains("output") || !c["input"].is_string() ||
            !c["output"].is_string())
          fail("{}: tests[{}] must be {{\"input\": string, \"output\": string}}", where, i);
        p.tests.push_back({c["input"].get<std::string>(), c["output"].get<std::string>()});
      }
    } else {
      fail("{}: \"tests\" must be a list of {{\"input\", \"output\"}} or a string of asserts", where);
    }
  }
  p.data = nlohmann::json::object();
  for (const auto& [k, v] : j.items()) {
    if (k != "prompt" && k != "messages" && k != "answer" && k != "tests" && k != "id") p.data[k] = v;
  }
  return p;
}

std::string read_problems_file(const std::string& path) {
  std::error_code ec;
  SEEK_CHECK(!std::filesystem::is_directory(path, ec), "{}: is a folder, not a JSONL file of problems", path);
  SEEK_CHECK(path != "-", "problems are read from a file, not standard input ('-'); give the JSONL file");
  return read_file(path);
}

std::vector<Problem> load_problems_jsonl(const std::string& path) {
  return parse_problems_jsonl(read_problems_file(path), path);
}

std::vector<Problem> parse_problems_jsonl(std::string_view text, const std::string& path) {
  std::vector<Problem> out;
  const std::string file_name = std::filesystem::path(path).filename().string();
  std::unordered_map<std::string, size_t> line_of_id;
  size_t lineno = 0;
  for (size_t begin = 0; begin < text.size();) {
    const size_t nl = text.find('\n', begin);
    const std::string_view line =
        text.substr(begin, (nl == std::string_view::npos ? text.size() : nl) - begin);
    begin = nl == std::string_view::npos ? text.size() : nl + 1;
    ++lineno;
    std::string where = path + ":" + std::to_string(lineno);
    if (trim_copy(std::string(line)).empty()) continue;
    nlohmann::json j;
    try {
      // Keys once each and a bounded depth: a record nested 10^5 deep overflowed the stack when copied.
      j = parse_json_unique_keys(line, where);
    } catch (const nlohmann::json::exception& e) {  // bad syntax, or a number past double (1e400)
      fail("{}: not valid JSON: {}", where, json_error_text(e, true));
    }
    // Named by the file's name and line, not the path as typed: seek grpo (which makes paths absolute) and
    // seek eval named the same record differently, and a data file moved on resume renamed its records.
    out.push_back(problem_from_json(j, where, file_name + ":" + std::to_string(lineno)));
    const auto [it, fresh] = line_of_id.emplace(out.back().id, lineno);
    if (!fresh)
      fail(
          "{}: \"id\" {} is also the id of line {}; ids name the records of eval --out and "
          "completions.jsonl, so "
          "each must be unique (a record without \"id\" is named by its file and line)",
          where, nlohmann::json(out.back().id).dump(), it->second);
  }
  if (out.empty()) fail("{}: no problems", path);
  return out;
}

}  // namespace seek::reward
