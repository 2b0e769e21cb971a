// What the inference commands do with unusual input and output streams, from a new-user audit: each test says
// what happened before.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/atomic_file.hpp"
#include "core/read_file.hpp"
#include "core/temporaries.hpp"
#include "support/byte_vocab_config.hpp"
#include "support/run_seek.hpp"
#include "support/temp_dir.hpp"
#include "support/tiny_model.hpp"

namespace {

namespace fs = std::filesystem;
using seek::test::CmdResult;
using seek::test::expect_error;
using seek::test::random_byte_model;
using seek::test::run;
using seek::test::TempDir;

const std::string kTinyV3 = std::string(SEEK_TEST_DIR) + "/fixtures/tiny-v3";

// An endless prompt stream (/dev/zero, `yes`) filled the machine's memory for 38 s (16.8 GB) and then ended
// in "out of memory"; prompts are now capped far above any context, and the cap is named at once.
TEST(CliInputStreams, AnEndlessPromptStreamIsRefusedAtTheCap) {
  TempDir tmp("cli-streams-cap");
  for (const std::string& cmd : {std::string("generate --model ") + kTinyV3 + " -n 1 -f -",
                                 std::string("logits --model ") + kTinyV3 + " --out " +
                                     (tmp.path / "unused.npy").string() + " --file -"}) {
    const auto t0 = std::chrono::steady_clock::now();
    const CmdResult r = seek::test::run_fed("cat /dev/zero", cmd);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(r.code, 1) << cmd << r.output;
    EXPECT_NE(r.output.find("gives more than 67.1 MB: no context holds a prompt that long"),
              std::string::npos)
        << r.output;
    EXPECT_LT(seconds, 20) << cmd;
    // A device as standard input is refused before it is read.
    const CmdResult device = run(cmd, "< /dev/zero 2>&1");
    EXPECT_EQ(device.code, 1) << cmd << device.output;
    EXPECT_NE(device.output.find("standard input is a device, not a text file"), std::string::npos)
        << device.output;
  }
  // A device named as the file is refused before it is read (it read 67 MB first), as perplexity does.
  for (const std::string& cmd : {std::string("generate --model ") + kTinyV3 + " -n 1 -f /dev/zero",
                                 std::string("logits --model ") + kTinyV3 + " --out " +
                                     (tmp.path / "unused.npy").string() + " --file /dev/zero"}) {
    const CmdResult r = run(cmd, "2>&1");
    EXPECT_EQ(r.code, 1) << cmd << r.output;
    EXPECT_NE(r.output.find("/dev/zero is a device, not a text file"), std::string::npos) << r.output;
  }
  // `seek chat` read a line of any length: 200 MB took 10 s and 4.2 GB before "takes the whole context",
  // and /dev/zero (no newline ever) grew until memory ran out.
  const std::string model = random_byte_model(tmp.path / "m").string();
  const auto t0 = std::chrono::steady_clock::now();
  const CmdResult r = run("chat --model " + model + " -n 1", "< /dev/zero 2>&1");
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 20);
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(
      r.output.find("seek: error: a message on standard input is longer than 64 MiB: no context holds a "
                    "prompt that long"),
      std::string::npos)
      << r.output;
}

// tokenize --file /dev/zero, and tokenize or detokenize with /dev/zero as standard input, read until 16 GB of
// memory were used (150-200 s) before "out of memory"; a device is now refused at once, and /dev/null as
// standard input is still the empty input it is.
TEST(CliInputStreams, TokenizeRefusesADeviceAtOnce) {
  TempDir tmp("cli-streams-tokenize");
  const std::string tok = "--tokenizer " + tmp.path.string();  // no tokenizer.json: the byte tokenizer
  expect_error("tokenize " + tok + " --file /dev/zero", "/dev/zero is a device, not a text file");
  for (const std::string& cmd : {"tokenize " + tok + " --file -", "tokenize " + tok, "detokenize " + tok}) {
    const CmdResult r = run(cmd, "< /dev/zero 2>&1");
    EXPECT_EQ(r.code, 1) << cmd << r.output;
    EXPECT_NE(r.output.find("seek: error: standard input is a device, not a text file"), std::string::npos)
        << cmd << r.output;
  }
  const CmdResult empty = run("detokenize " + tok, "< /dev/null 2>/dev/null");
  EXPECT_EQ(empty.code, 0) << empty.output;
  EXPECT_EQ(empty.output, "");
}

// A note printed before an error came after it in a log that takes both streams (`2>&1` into a file):
// stdout is buffered there, stderr is not. What stdout holds is now written out before the error.
TEST(CliInputStreams, NotesComeBeforeTheErrorInALogOfBothStreams) {
  TempDir tmp("cli-streams-order");
  std::ofstream(tmp.path / "blank.jsonl") << "\n\n";
  const fs::path log = tmp.path / "log.txt";
  const CmdResult r = run("train --config " + seek::test::byte_vocab_config(tmp.path).string() + " --data " +
                              (tmp.path / "blank.jsonl").string() + " --out " + (tmp.path / "run").string() +
                              " --steps 1 --seq-len 16",
                          "> " + log.string() + " 2>&1");
  EXPECT_EQ(r.code, 1);
  const std::string text = seek::read_file(log);
  const size_t note = text.find("note: training data "),
               error = text.find("seek: error: empty training data");
  ASSERT_NE(note, std::string::npos) << text;
  ASSERT_NE(error, std::string::npos) << text;
  EXPECT_LT(note, error) << text;
}

// An empty prompt file, or a closed standard input, ran the model on BOS alone as if that had been asked.
TEST(CliInputStreams, AnEmptyOrClosedPromptIsAnError) {
  TempDir tmp("cli-streams-empty");
  const fs::path empty = tmp.path / "empty.txt";
  std::ofstream(empty).close();
  expect_error("generate --model " + kTinyV3 + " -n 1 -f " + empty.string(),
               "the prompt in " + empty.string() + " is empty (use --prompt '' to start from BOS alone)");
  const CmdResult closed = run("generate --model " + kTinyV3 + " -n 1 -f -", "<&- 2>&1");
  EXPECT_EQ(closed.code, 1) << closed.output;
  EXPECT_NE(closed.output.find("cannot read standard input: it is closed"), std::string::npos)
      << closed.output;
  const CmdResult ppl = run("perplexity --model " + kTinyV3 + " -f -", "<&- 2>&1");
  EXPECT_EQ(ppl.code, 1) << ppl.output;
  EXPECT_NE(ppl.output.find("cannot read standard input: it is closed"), std::string::npos) << ppl.output;
  // --prompt '' still means BOS alone.
  const fs::path model = random_byte_model(tmp.path / "m");
  const CmdResult bos = run("generate --model " + model.string() + " -n 2 --prompt ''", "2>/dev/null");
  EXPECT_EQ(bos.code, 0) << bos.output;
}

// A closed or full stderr ended every command with "internal error" (exit 2) at its first note, progress or
// timing line, before (or after) its real output: diagnostics nobody can see are no reason to stop.
TEST(CliInputStreams, AClosedOrFullStderrDoesNotStopTheRun) {
  TempDir tmp("cli-streams-stderr");
  for (const std::string& redirect : {std::string("2>&-"), std::string("2>/dev/full")}) {
    const CmdResult r = run("generate --model " + kTinyV3 + " --ids 0,5 -n 3 --temperature 0", redirect);
    EXPECT_EQ(r.code, 0) << redirect << r.output;
    EXPECT_FALSE(r.output.empty()) << redirect;  // the text, on stdout
    const fs::path out = tmp.path / "l.npy";
    const CmdResult l = run("logits --model " + kTinyV3 + " --ids 0,5 --out " + out.string(), redirect);
    EXPECT_EQ(l.code, 0) << redirect << l.output;
    EXPECT_TRUE(fs::exists(out));
    fs::remove(out);
    // An error still ends the run with status 1 (there is nowhere to say why).
    EXPECT_EQ(run("generate --model " + kTinyV3 + " --ids 0,500 -n 1", redirect).code, 1) << redirect;
  }
}

// `sh -c cmd` with stderr a pipe whose reader is already closed, stdout to /dev/null; its exit status as a
// shell shows it (128 + signal).
int run_with_stderr_to_a_gone_reader(const std::string& cmd) {
  int fds[2];
  if (::pipe(fds) != 0) return -1;
  ::close(fds[0]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  posix_spawn_file_actions_addclose(&actions, fds[1]);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  const std::string shell = "/bin/sh", dash_c = "-c";
  char* argv[] = {const_cast<char*>(shell.c_str()), const_cast<char*>(dash_c.c_str()),
                  const_cast<char*>(cmd.c_str()), nullptr};
  pid_t pid = -1;
  const int spawned = posix_spawn(&pid, shell.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (spawned != 0) return -1;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// With stderr a pipe whose reader had gone (`2> >(true)` once `true` ended), the first note raised SIGPIPE:
// logits wrote no file, generate printed its text and died at the timing line (141). Notes are now written
// with SIGPIPE held off; --logprobs lines, which are output asked for, fail as on a full disk (exit 1).
TEST(CliInputStreams, AStderrWhoseReaderHasGoneDoesNotStopTheRun) {
  TempDir tmp("cli-streams-gone");
  const std::string seek = std::string(SEEK_BINARY) + " ";
  const fs::path out = tmp.path / "l.npy";
  const fs::path model = random_byte_model(tmp.path / "m");  // no tokenizer.json: a note before the run
  EXPECT_EQ(run_with_stderr_to_a_gone_reader(seek + "logits --model " + model.string() +
                                             " --prompt ab --out " + out.string()),
            0);
  EXPECT_TRUE(fs::exists(out));
  EXPECT_EQ(run_with_stderr_to_a_gone_reader(seek + "generate --model " + kTinyV3 + " --ids 0,5 -n 3"), 0);
  EXPECT_EQ(
      run_with_stderr_to_a_gone_reader(seek + "generate --model " + kTinyV3 + " --ids 0,5 -n 3 --logprobs 2"),
      1);
  EXPECT_EQ(run_with_stderr_to_a_gone_reader(seek + "generate --model " + kTinyV3 + " --ids 0,500 -n 1"), 1);
}

// A file-size limit (`ulimit -f`) reached while writing raised SIGXFSZ: seek ended at once (status 153) and
// its temporary file stayed behind for good. The write now fails as on a full disk: an error, the old file
// kept, no temporary.
TEST(CliInputStreams, AFileSizeLimitIsAnErrorAndLeavesNoTemporary) {
  TempDir tmp("cli-streams-fsize");
  const fs::path out = tmp.path / "keep.npy";
  std::ofstream(out) << "precious";
  const seek::test::CmdResult r =
      seek::test::run_command("(ulimit -f 1; " + std::string(SEEK_BINARY) + " logits --model " + kTinyV3 +
                              " --ids 0,5,9,13,2,40,33,7,1,60 --out " + out.string() + ") 2>&1");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("File too large"), std::string::npos) << r.output;
  std::ifstream in(out);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "precious");
  int files = 0;
  for (const auto& e : fs::directory_iterator(tmp.path)) files += e.is_regular_file();
  EXPECT_EQ(files, 1);  // keep.npy alone
}

// Text that is not UTF-8 was read as U+FFFD through --prompt, chat messages, --system and tokenize's
// arguments, though the same bytes in a --file were refused: the model silently got other text.
TEST(CliInputStreams, InvalidUtf8IsRefusedWhereverTheTextComesFrom) {
  TempDir tmp("cli-streams-utf8");
  const fs::path model = random_byte_model(tmp.path / "m");
  expect_error("generate --model " + model.string() + " -n 1 --prompt \"$(printf 'ab\\377')\"",
               "--prompt is not UTF-8 text: invalid UTF-8 at byte 2 (line 1: 0xFF)");
  expect_error("logits --model " + model.string() + " --out " + (tmp.path / "x.npy").string() +
                   " --prompt \"$(printf 'ab\\377')\"",
               "--prompt is not UTF-8 text");
  expect_error("chat --model " + model.string() + " --system \"$(printf '\\376')\"",
               "--system is not UTF-8 text");
  expect_error("tokenize --tokenizer " + model.string() + " \"$(printf '\\377')\"",
               "the text to encode is not UTF-8 text: invalid UTF-8 at byte 0 (line 1: 0xFF)");
  // In a chat, a bad line is refused and the chat goes on to the next one; the exit status tells.
  const fs::path lines = tmp.path / "lines.txt";
  std::ofstream(lines) << "\xff\xfe\nhi\n\xff\n";
  const CmdResult chat =
      run("chat --model " + model.string() + " -n 2 --temperature 0", "< " + lines.string() + " 2>&1");
  EXPECT_EQ(chat.code, 1) << chat.output;
  EXPECT_NE(chat.output.find("seek: error: 2 messages were refused"), std::string::npos) << chat.output;
  EXPECT_NE(chat.output.find("this message is not UTF-8 text: invalid UTF-8 at byte 0 (line 1: 0xFF)"),
            std::string::npos)
      << chat.output;
  EXPECT_NE(chat.output.find("tokens/s"), std::string::npos) << chat.output;  // the second line's reply
}

// Messages that misled: a file in the output's folder path was "the folder ... does not exist"; -n -1 said
// "from -2147483648"; a tiny --cache-mem said "0.0 MiB ... (1 samples".
TEST(CliInputStreams, MessagesSayWhatIsWrong) {
  TempDir tmp("cli-streams-msg");
  const fs::path file = tmp.path / "user.npy";
  std::ofstream(file) << "x";
  expect_error("logits --model " + kTinyV3 + " --ids 1 --out " + (file / "x.npy").string(),
               file.string() + " is a file, not a folder");
  // '-' wrote a file named "-" where --file - reads standard input.
  expect_error("logits --model " + kTinyV3 + " --ids 1 --out -",
               "--out - would write a file named '-': this command writes its output to a file");
  expect_error("generate --model " + kTinyV3 + " --ids 1 -n -1",
               "--max-new-tokens: must be a whole number >= 0");
  expect_error("generate --model " + kTinyV3 + " --ids 1 --top-k -3", "--top-k: must be a whole number >= 0");
  const CmdResult r = run("generate --model " + kTinyV3 + " --ids 1,2 -n 4 --cache-mem 1e-9");
  EXPECT_EQ(r.code, 1) << r.output;
  // 2 prompt tokens and 4 new ones, the last of which is never run: 5 rows.
  EXPECT_NE(r.output.find("(1 sample of up to 5 tokens cached, held in blocks of 64 tokens at "),
            std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("0.0 MiB"), std::string::npos) << r.output;
}

// A process ended by a signal runs no destructor: an AtomicFile being written left its "<target>.tmp.<pid>"
// (the audit found 56 MB and 132 MB ones after `kill` during `seek logits`). The handlers main installs
// remove it; the file being replaced stays as it was.
TEST(CliInputStreams, ASignalRemovesTheTemporaryOfAFileBeingWritten) {
  TempDir tmp("cli-streams-signal");
  const fs::path target = tmp.path / "out.bin";
  std::ofstream(target) << "old";
  for (int sig : {SIGTERM, SIGINT}) {
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::signal(sig, SIG_DFL);  // a test run as a background job of a script starts with SIGINT ignored
      seek::remove_temporaries_on_signals();
      seek::AtomicFile f(target);
      f.write("partial", 7);
      ::raise(sig);
      _exit(0);  // not reached
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == sig) << status;
    EXPECT_FALSE(fs::exists(target.string() + ".tmp." + std::to_string(child)));
    std::ifstream in(target);
    std::string old;
    in >> old;
    EXPECT_EQ(old, "old");
  }
}

}  // namespace
