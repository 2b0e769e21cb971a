#include "train/trainer.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <tuple>

#include "core/atomic_file.hpp"
#include "core/count_of.hpp"
#include "core/error.hpp"
#include "core/jsonl_appender.hpp"
#include "core/number_text.hpp"
#include "core/progress.hpp"
#include "core/stderr.hpp"
#include "core/stdout.hpp"
#include "core/stop_signal.hpp"
#include "io/mapped_file.hpp"
#include "model/model_dir.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/tokenizer_files.hpp"
#include "train/checkpoint.hpp"
#include "train/data_cache.hpp"
#include "train/dataset.hpp"
#include "train/init_tokenizer.hpp"
#include "train/run_folder.hpp"
#include "train/training_memory.hpp"

namespace seek {

namespace fs = std::filesystem;

namespace {

// The losses of the last metrics line kept on resume, so a resumed run with no step left still reports its
// final loss. A skipped non-finite step logs its loss as null: only numbers are taken. The validation loss
// is the last line's only: an earlier step's was reported as the final one where the last validation was
// stopped by a signal.
void take_last_losses(const std::vector<nlohmann::json>& kept, TrainResult& r) {
  for (const nlohmann::json& j : kept) {
    if (const auto it = j.find("loss"); it != j.end() && it->is_number()) r.last_loss = it->get<double>();
    const auto it = j.find("val_loss");
    r.last_val_loss = it != j.end() && it->is_number() ? it->get<double>() : -1;
  }
}

nlohmann::json load_stats(const std::vector<ExpertLoad>& loads) {
  nlohmann::json arr = nlohmann::json::array();
  for (const ExpertLoad& l : loads) {
    double sum = 0, mx = 0, mn = 1e300;
    for (int64_t v : l.load) {
      sum += double(v);
      mx = std::max(mx, double(v));
      mn = std::min(mn, double(v));
    }
    double mean = sum / double(std::max<size_t>(1, l.load.size()));
    arr.push_back({{"layer", l.layer},
                   {"max_over_mean", mean > 0 ? mx / mean : 0.0},
                   {"min_over_mean", mean > 0 ? mn / mean : 0.0}});
  }
  return arr;
}

void add_loads(std::vector<ExpertLoad>& acc, const std::vector<ExpertLoad>& more) {
  if (acc.empty()) {
    acc = more;
    return;
  }
  for (size_t i = 0; i < acc.size(); ++i)
    for (size_t e = 0; e < acc[i].load.size(); ++e) acc[i].load[e] += more[i].load[e];
}

}  // namespace

// --on-nonfinite skip gives up after this many non-finite steps in a row.
constexpr int64_t kMaxSkippedInARow = 20;

TrainResult run_training(const TrainSettings& given, bool resume, const nlohmann::json& overrides,
                         ProgressLine::Options progress) {
  progress.erase = true;  // cleared for the step's own line
  auto [s, out, ckpt, changes, folder_lock, new_folder_cleanup] = start_run(given, resume, overrides);

  // Tokenizer: explicit folder, else the init model's, else bytes; on resume the checkpoint's copy (a
  // checkpoint without tokenizer.json: bytes), which is the tokenizer as the run started with it: the
  // original folder may have been edited since (its new files went into later checkpoints and the model).
  fs::path tok_dir = ckpt                   ? *ckpt
                     : !s.tokenizer.empty() ? fs::path(s.tokenizer)
                     : !s.init.empty()      ? fs::path(s.init)
                                            : fs::path();
  if (!s.tokenizer.empty() && !ckpt)
    SEEK_CHECK(tok::tokenizer_file_present(tok_dir / "tokenizer.json"),
               "no tokenizer.json in {} (--tokenizer names a folder holding one; leave it out for the "
               "{})",
               s.tokenizer, s.init.empty() ? "byte-level tokenizer" : "--init model's own tokenizer");
  auto tok = tok_dir.empty() ? make_byte_tokenizer() : load_tokenizer(tok_dir);
  // Saved with every checkpoint and the model as read now, whatever happens to the folder meanwhile.
  tok::TokenizerFileSet tok_files = tok::read_tokenizer_files(tok_dir, ckpt ? *ckpt : fs::path(s.init));

  // Model: from the checkpoint being resumed, from --init, or fresh from --config. The memory of the whole
  // run is checked before any of it is allocated or read.
  const std::string run_model_file = !s.init.empty() ? (fs::path(s.init) / "config.json").string() : s.config;
  std::error_code ec;
  const bool source_here = fs::exists(run_model_file, ec);  // a resumed run's may be gone: it needs none
  const auto source_model = [&] {
    return !s.init.empty() ? load_model_config(s.init) : ModelConfig::load(run_model_file);
  };
  const ModelConfig run_model = ckpt ? ModelConfig::load((*ckpt / "config.json").string()) : source_model();
  if (ckpt && source_here) check_checkpoint_model(*ckpt, source_model(), run_model_file);
  // An --init model was trained with its own tokenizer; another one's ids mean other tokens to it. Only a
  // --tokenizer given: the --init folder's own is the one it was trained with, even where config.json holds
  // the placeholder ids of models saved before seek wrote the tokenizer's there.
  if (!s.init.empty() && !s.tokenizer.empty() && !ckpt)
    check_tokenizer_fits_init(s.init, s.tokenizer, *tok, run_model);
  // A folder without tokenizer.json reads its data as bytes. Its placeholder ids are no proof of another
  // tokenizer, but a model trained with a BPE tokenizer whose tokenizer.json went missing trained on bytes
  // without a word: said, with the way out.
  // The model is then trained on the byte tokenizer's ids, which its saved config.json names (it kept the
  // folder's, and generation stopped at an end token the model never learned), as a --config run's does.
  const bool init_ids_replaced = !s.init.empty() && s.tokenizer.empty() && !ckpt &&
                                 !tok::tokenizer_file_present(fs::path(s.init) / "tokenizer.json") &&
                                 ((run_model.bos_token_id >= 0 && run_model.bos_token_id != tok->bos_id()) ||
                                  (run_model.eos_token_id >= 0 && !run_model.is_eos(tok->eos_id())));
  if (init_ids_replaced)
    print_stderr(
        "note: the --init folder {} has no tokenizer.json, so the data is read as bytes (the byte tokenizer: "
        "BOS {}, EOS {}), but its config.json has BOS {}, EOS {}; the trained model is saved with the byte "
        "tokenizer's. If the model was trained with another tokenizer, stop and give it with --tokenizer\n",
        s.init, tok->bos_id(), tok->eos_id(), run_model.bos_token_id, run_model.eos_token_id);
  // Before the memory checks, whose advice (a smaller batch) cannot help a sequence the model cannot take.
  SEEK_CHECK(s.seq_len <= run_model.max_position_embeddings,
             "seq_len {} exceeds the model's context of {} tokens ({})", s.seq_len,
             run_model.max_position_embeddings, run_model.context_source());
  check_training_memory(run_model, 0, "");
  check_training_batch_memory(run_model, s.batch_size, s.seq_len, s.grad_accum,
                              mtp_depths_run(run_model, s.mtp_lambda, s.seq_len));
  std::unique_ptr<Transformer<float>> model;
  if (ckpt) {
    model = std::make_unique<Transformer<float>>(ModelConfig::load((*ckpt / "config.json").string()));
  } else if (!s.init.empty()) {
    model = load_model_dir<float>(s.init, {}, [&](ModelConfig& c) {
      // Ids past a vocabulary too small for the byte tokenizer: refused below, naming the vocabulary.
      if (!init_ids_replaced || int64_t(tok->vocab_size()) > c.vocab_size) return;
      c.bos_token_id = tok->bos_id();
      c.eos_token_id = tok->eos_id();
      c.extra_eos_token_ids.clear();
    });
  } else {
    ModelConfig c = ModelConfig::load(s.config);
    // The saved config.json then names the special tokens the data was made with, which is where
    // generation (infer/engine.hpp) takes its end of sequence from.
    c.bos_token_id = tok->bos_id();
    c.eos_token_id = tok->eos_id();
    c.extra_eos_token_ids.clear();  // ids of whatever tokenizer the --config file was written for
    model = std::make_unique<Transformer<float>>(c);
    model->init_weights(s.seed);
  }
  const ModelConfig& cfg = model->config();
  SEEK_CHECK(
      int64_t(tok->vocab_size()) <= cfg.vocab_size,
      "the tokenizer has {} tokens but the model's vocab_size is {}: {}", tok->vocab_size(), cfg.vocab_size,
      !s.init.empty()
          ? "the --init model was made for another tokenizer; give --tokenizer the one it was trained with"
      : s.tokenizer.empty()
          ? fmt::format("with no --tokenizer the run uses the byte tokenizer ({} tokens), so set vocab_size "
                        "in {} to at least that, or give --tokenizer a trained one (seek tokenizer train)",
                        tok->vocab_size(), s.config)
          : fmt::format("set vocab_size in {} to at least {}", s.config, tok->vocab_size()));
  // settings.json holds the resolved settings, so a placeholder aux_alpha (< 0: the config's aux_loss_alpha)
  // is replaced by the value the loss uses; a resumed older run's -1 resolves to the same value.
  if (s.aux_alpha < 0) {
    s.aux_alpha = cfg.aux_loss_alpha;
    if (!ckpt) prepare_run_folder(out, s.to_json());
  }
  AdamW<float> opt(model->params().layout);
  // The MTP layers that never run (all at λ 0) are saved as they came, not shrunk by weight decay each step.
  hold_mtp_layers(opt, model->params().layout,
                  cfg.num_hidden_layers + mtp_depths_run(cfg, s.mtp_lambda, s.seq_len));
  TrainerState state;
  if (ckpt) {
    state = load_checkpoint(*ckpt, *model, opt);
    print_resuming(*ckpt, state, s.steps);
  }

  // Texts are encoded in parts (SFT turns apart from their markers; documents over 1 MB in ~1 MB parts),
  // which a tokenizer that puts a space before every text it encodes gives a space each.
  if (tok->adds_prefix_space() && !ckpt)
    fmt::print(
        "note: the tokenizer's pre-tokenizer adds a space before every text it encodes (ByteLevel "
        "add_prefix_space), and seek train encodes {} in parts, each of which gets one: the tokens differ "
        "there from an encoding of the whole text\n",
        s.objective_kind() == Objective::Sft ? "each turn" : "documents over 1 MB");
  else if (!tok->cuts_at_line_starts() && s.objective_kind() != Objective::Sft && !ckpt)
    fmt::print(
        "note: the tokenizer encodes a text cut at a line start otherwise than the whole (its pre-tokenizer "
        "joins a newline to the text around it, or an added token holds a newline, strips the whitespace "
        "beside it, or is a single_word token ending in a newline), and seek train encodes documents over 1 "
        "MB in parts cut at line starts: the tokens at "
        "each cut (one per MB) may differ from an encoding of the whole text\n");
  // SFT writes conversations ("messages" records; prompt/completion ones use no markers) in the DeepSeek chat
  // format, whose markers a tokenizer trained without them spells out in several tokens each: the model still
  // learns, on longer and unlike-DeepSeek sequences.
  const auto data_holds = [&](std::string_view text) {
    for (const auto& d : s.data) {
      const MappedFile m(d);
      if (std::string_view(reinterpret_cast<const char*>(m.data()), m.size()).find(text) !=
          std::string_view::npos)
        return true;
    }
    return false;
  };
  const auto holds_chats = [&] { return data_holds("\"messages\""); };
  if (s.objective_kind() == Objective::Sft && !ckpt && holds_chats())
    for (const std::string_view marker : {tokens::kUser, tokens::kAssistant})
      if (!tok->token_to_id(marker))
        fmt::print(
            "note: the tokenizer has no {} token, so SFT spells the chat format's markers out as text: train "
            "the tokenizer with them (seek tokenizer train's default --special-tokens)\n",
            marker);
  // SFT writes assistant turns as DeepSeek-V3's template does (verbatim, reasoning included); a model folder
  // whose template writes another format would then be chatted with in a format it was not tuned on.
  if (s.objective_kind() == Objective::Sft && !ckpt && !tok_dir.empty() && holds_chats()) {
    if (const ChatStyle style = chat_style_of(tok_dir); style == ChatStyle::V2 || style == ChatStyle::V31)
      fmt::print(
          "note: SFT writes chats in the DeepSeek-V3 format, but the chat template in "
          "{}/tokenizer_config.json "
          "is DeepSeek-{}'s, which seek chat and generate --chat will use for the trained model: chat with "
          "--style v3 (or replace the template) in the format it was tuned on\n",
          tok_dir.string(), style == ChatStyle::V2 ? "V2" : "V3.1");
    else if (style == ChatStyle::R1 && !data_holds(R"("<think>\n)"))  // a string that starts so, as JSON
      // R1's generation prompt ends in "<think>\n": a model tuned on answers that start otherwise (V3's
      // "<think>..." without the newline, or no reasoning) met a prompt it never saw and often ended at once.
      fmt::print(
          "note: the chat template in {}/tokenizer_config.json is DeepSeek-R1's, whose prompts end in "
          "\"<think>\\n\" (seek chat, eval and grpo prompt so): SFT writes each answer as the data gives it, "
          "so "
          "start the data's answers with \"<think>\\n\" to match, or chat with --style v3\n",
          tok_dir.string());
  }
  DataOptions dopt;
  for (const auto& d : s.data) dopt.inputs.emplace_back(d);
  dopt.objective = s.objective_kind();
  dopt.seq_len = s.seq_len;
  dopt.val_fraction = s.val_fraction;
  dopt.seed = s.seed;
  dopt.cache_dir = out / "data-cache";
  // Before the data is tokenized: a changed file would otherwise be tokenized into a new cache first, or fail
  // there with a message that does not say it changed.
  if (ckpt) check_same_data(state, data::data_content(dopt, *tok), s.data);
  auto data = Dataset::open(dopt, *tok);
  const DatasetStats& ds = data->stats();
  int64_t nparams = 0;
  for (const auto& p : model->params().layout.all()) nparams += p.numel;
  // SFT's padding (conversations moved to a sequence start) is time spent on no loss: its share is shown.
  const int64_t all_tokens = ds.train_tokens + ds.val_tokens;
  fmt::print("model: {:.2f}M parameters | data: {} train / {} val sequences of {} tokens ({}{}) | {} × {}\n",
             double(nparams) / 1e6, ds.train_sequences, ds.val_sequences, s.seq_len,
             ds.reused_cache ? "cached" : "tokenized",
             ds.padding_tokens > 0 && all_tokens > 0
                 ? fmt::format(", {:.0f}% padding", 100.0 * double(ds.padding_tokens) / double(all_tokens))
                 : "",
             count_of(s.steps, "step"), count_of(s.sequences_per_step(), "sequence"));
  // A step takes its sequences in the epoch's order, into the next epoch where one ends: with fewer sequences
  // than a step reads, each step holds some of them twice or more, which went unsaid.
  if (ds.train_sequences < s.sequences_per_step())
    fmt::print(
        "note: a step reads {} and the training split holds {}: each step reads some of them more than "
        "once\n",
        count_of(s.sequences_per_step(), "sequence"), ds.train_sequences);
  // SFT sequences without an answer token carry no loss but the balance loss: many of them usually means
  // prompts longer than seq_len (the answers fall into sequences of their own).
  // Records without an answer fill sequences too: the note said only "prompts longer than --seq-len?".
  const auto verb = [](int64_t n, const char* one, const char* many) { return n == 1 ? one : many; };
  if (ds.train_sequences_without_targets * 10 >= ds.train_sequences && ds.train_sequences_without_targets > 0)
    fmt::print(
        "note: {} of the {} training sequences {} no answer token (a step of only such sequences makes no "
        "update): {}\n",
        ds.train_sequences_without_targets, ds.train_sequences,
        verb(ds.train_sequences_without_targets, "holds", "hold"),
        ds.documents_without_targets > 0
            ? fmt::format("{} of the {} records {} no answer to train on (no assistant turn or "
                          "completion), and prompts longer than --seq-len {} leave sequences without one "
                          "too",
                          ds.documents_without_targets, ds.documents,
                          verb(ds.documents_without_targets, "has", "have"), s.seq_len)
            : fmt::format("are the prompts longer than --seq-len {}?", s.seq_len));
  else if (ds.documents_without_targets > 0)
    fmt::print("note: {} of the {} records {} no answer to train on (no assistant turn or completion)\n",
               ds.documents_without_targets, ds.documents, verb(ds.documents_without_targets, "has", "have"));
  // Split across sequences as documented, which a few such records did without a word (the note above
  // needs a tenth of the sequences to be without an answer).
  if (ds.documents_longer_than_a_sequence > 0)
    fmt::print(
        "note: {} of the {} records {} longer than a sequence (--seq-len {} + 1 tokens): {} past it are read "
        "without the start of {} conversation in view; a larger --seq-len keeps them whole\n",
        ds.documents_longer_than_a_sequence, ds.documents,
        verb(ds.documents_longer_than_a_sequence, "is", "are"), s.seq_len,
        verb(ds.documents_longer_than_a_sequence, "its tokens", "their tokens"),
        verb(ds.documents_longer_than_a_sequence, "its", "their"));
  if (s.eval_every > 0 && ds.val_sequences > 0 && ds.val_targets == 0)
    fmt::print("note: {} no answer token, so no validation loss can be measured\n",
               ds.val_sequences == 1 ? std::string("the validation sequence holds")
                                     : fmt::format("the {} validation sequences hold", ds.val_sequences));
  // Asked to validate every eval_every steps, a run without a split said nothing and logged no val_loss.
  if (!ckpt && s.eval_every > 0 && s.val_fraction == 0)
    fmt::print(
        "note: val_fraction 0 holds no text out, so there is no validation loss to measure every {} "
        "steps (eval_every; --eval-every 0 turns validation off)\n",
        s.eval_every);
  // Held-out documents too short for a sequence are neither validated nor trained on, with validation on
  // or off.
  if (ds.val_sequences == 0 && s.val_fraction > 0 && ds.val_documents > 0)
    fmt::print(
        "note: the validation split holds no whole sequence of {} tokens ({} of {} documents, val_fraction "
        "{}), so {}its documents are not trained on either (--val-fraction 0 trains on every document)\n",
        s.seq_len, ds.val_documents, ds.documents, s.val_fraction,
        s.eval_every > 0 ? "no validation loss can be measured, and " : "");
  else if (ds.val_sequences == 0 && s.val_fraction > 0 && s.eval_every > 0)
    fmt::print("note: val_fraction {} of {} holds no document out, so no validation loss can be measured\n",
               s.val_fraction, count_of(ds.documents, "document"));
  // The split stays for the run (a resume may turn validation on), so with validation off it still takes
  // its documents from training.
  else if (!ckpt && s.eval_every == 0 && ds.val_documents > 0)
    fmt::print(
        "note: eval_every 0 runs no validation, yet val_fraction {} holds {} of {} out of training (the "
        "split "
        "is fixed for the run, so that a resume can validate); --val-fraction 0 trains on every document\n",
        s.val_fraction, ds.val_documents, count_of(ds.documents, "document"));
  // The split takes whole documents: a corpus of a few long documents can put far more than val_fraction of
  // its tokens into validation (two files without separators: half of them), which the run then never
  // trains on.
  if (!ckpt && s.val_fraction > 0 && all_tokens > 0 &&
      double(ds.val_tokens) > 2 * s.val_fraction * double(all_tokens) + double(s.seq_len))
    fmt::print(
        "note: the validation split holds {:.0f}% of the tokens (val_fraction {}): it takes whole documents, "
        "and this data has {} ({} in validation); separate documents with a line <|endoftext|> in .txt "
        "files, or give --val-fraction 0 to hold none out\n",
        100.0 * double(ds.val_tokens) / double(all_tokens), s.val_fraction,
        count_of(ds.documents, "document"), ds.val_documents);
  // The same file twice (by two paths, or two copies): its documents count twice, and copies can fall on both
  // sides of the train/validation split, which then measures memorised text.
  const nlohmann::json& inputs = ds.content["inputs"];
  for (size_t i = 0; i < inputs.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (inputs[i] == inputs[j]) {
        fmt::print(
            "note: data files {} and {} hold the same bytes: their documents count twice, and copies may "
            "land in both the training and validation splits\n",
            s.data[j], s.data[i]);
        break;
      }
  // Validation reads the first eval_batches × batch_size sequences of the split, each once, so at most all of
  // them (compared by division: the product could pass int64 for a huge eval_batches).
  const auto val_reads = [&](int64_t batches, int64_t batch_size) {
    return batches > ds.val_sequences / batch_size ? ds.val_sequences : batches * batch_size;
  };
  // Other values on resume measure other text, and the validation curve steps at the checkpoint.
  if (ckpt && s.eval_every > 0 && ds.val_sequences > 0) {
    const nlohmann::json made =
        state.extra.is_object() ? state.extra.value("settings", nlohmann::json()) : nullptr;
    // Only a value these settings allow (>= 1): a damaged checkpoint's batch_size 0 divided by zero here.
    const auto made_with = [&](const char* key, int64_t now) {
      return made.is_object() && made.contains(key) && made[key].is_number_integer() &&
                     made[key].get<int64_t>() >= 1
                 ? made[key].get<int64_t>()
                 : now;
    };
    const int64_t before = val_reads(made_with("eval_batches", s.eval_batches),
                                     made_with("batch_size", s.batch_size)),
                  now = val_reads(s.eval_batches, s.batch_size);
    if (before != now)
      fmt::print(
          "note: validation now reads {} sequences (eval_batches × batch_size), {} before step {}: "
          "validation "
          "losses from here on are not comparable with the earlier ones\n",
          now, before, state.step);
  }
  if (s.eval_every > 0 && ds.val_sequences > 0 && s.eval_batches > ds.val_sequences / s.batch_size)
    fmt::print(
        "note: validation reads the split's {}, fewer than eval_batches × batch_size = {} × {}: each once\n",
        ds.val_sequences == 1 ? "only sequence" : fmt::format("{} sequences", ds.val_sequences),
        s.eval_batches, s.batch_size);
  if (!ckpt && s.warmup_steps > s.steps && s.steps > 0)
    fmt::print("note: warmup_steps {} is above steps {}, so the learning rate never reaches lr {}\n",
               s.warmup_steps, s.steps, s.lr);
  else if (!ckpt && s.warmup_steps == s.steps && s.steps > 1)
    fmt::print(
        "note: warmup_steps {} equals steps, so the learning rate reaches lr {} at the last step only and "
        "never decays\n",
        s.warmup_steps, s.lr);
  for (const std::string& note : s.settings_without_effect()) fmt::print("note: {}\n", note);
  const int64_t mtp_layers = int64_t(model->ids().mtp.size());
  if (mtp_layers == 0 && s.mtp_lambda != TrainSettings{}.mtp_lambda)
    fmt::print("note: mtp_lambda has no effect: the model has no MTP layer (num_nextn_predict_layers 0)\n");
  if (mtp_layers > 0 && s.mtp_lambda == 0)
    fmt::print("note: mtp_lambda 0: the model's {} neither run nor trained (saved as {})\n",
               mtp_layers == 1 ? "MTP layer is" : fmt::format("{} MTP layers are", mtp_layers),
               mtp_layers == 1 ? "it is" : "they are");

  // aux_alpha follows the config unless given, seq_aux is the run's own (a bool has no "unset"): a config
  // that says otherwise was silently overruled.
  if (!ckpt && cfg.seq_aux != s.seq_aux && s.aux_alpha > 0)
    fmt::print(
        "note: {} has seq_aux {}, but the balance loss follows the run's seq_aux ({}); give --seq-aux {} "
        "to follow the config\n",
        run_model_file, cfg.seq_aux, s.seq_aux, cfg.seq_aux);
  LossOptions lo;
  lo.mtp_lambda = s.mtp_lambda;
  lo.balance.alpha = s.aux_alpha;
  lo.balance.seq_aux = s.seq_aux;
  AdamWParams hp;
  hp.beta1 = s.beta1;
  hp.beta2 = s.beta2;
  hp.eps = s.eps;
  hp.weight_decay = s.weight_decay;
  const Schedule sched = s.make_schedule();
  const int64_t B = s.batch_size, T = s.seq_len, A = s.grad_accum;
  const int64_t mtp_depths = int64_t(model->ids().mtp.size());
  // A step's micro-batches, read before the first runs: the targets of the whole step are counted first.
  std::vector<int32_t> tokens(size_t(A * B * T)), targets(size_t(A * B * T));
  std::vector<int64_t> lengths(size_t(A * B));

  const fs::path metrics_file = out / "metrics.jsonl";
  TrainResult result;
  if (ckpt) print_changed_settings(changes);
  bool settings_saved = !ckpt;
  bool eval_pending = false;  // the checkpoint's step owes its validation (a stop cut it short)
  if (ckpt) {
    const std::vector<nlohmann::json> kept = truncate_log_to_step(metrics_file, state.step, true);
    take_last_losses(kept, result);
    eval_pending = eval_pending_at(state, kept, "val_loss");
  } else {
    write_file_atomically(metrics_file, "");
  }

  // The first eval_batches × batch_size sequences of the split, each once: past the split's end the batches
  // wrapped around to its start, so a larger eval_batches weighed some sequences twice and kept changing the
  // loss (and 3,000 batches took 25 s over a split of 37).
  const int64_t val_read = val_reads(s.eval_batches, B);
  // A signal ends a validation at once (it waited for every batch: minutes with a large eval_batches); the
  // step is complete, so it is saved without its validation loss (nullopt).
  auto evaluate = [&](const StopOnSignal& stop) -> std::optional<double> {
    if (ds.val_sequences == 0) return -1.0;
    double sum = 0;
    int64_t n = 0;
    for (int64_t first = 0; first < val_read; first += B) {
      if (stop.requested("validation")) return std::nullopt;
      const int64_t b = std::min(B, val_read - first);
      data->val_batch(first, b, tokens.data(), targets.data());
      auto r = model->forward_backward(tokens.data(), targets.data(), b, T, lo, false);
      sum += r.ce * double(r.tokens);
      n += r.tokens;
    }
    return n > 0 ? sum / double(n) : -1.0;
  };
  RunCheckpoints checkpoints(out, tok_files, s.keep_last, ckpt ? state.step : -1);
  checkpoints.set_data(ds.content);
  checkpoints.keep_checkpoint_before_failures();

  const StopOnSignal stop(kCheckpointNotice, /*closed_stdout=*/true);
  // The start-up lines reach a log or a pipe now, not with the first step's line, minutes away at times.
  flush_stdout();
  const auto evaluates = [&](int64_t step) {
    return s.eval_every > 0 && (step % s.eval_every == 0 || step == s.steps);
  };
  // A validation a stop cut short is run before the next step and goes into its step's line, as the
  // uninterrupted run logged it (the same weights and sequences give the same loss). Unless the resume's
  // --eval-every leaves that step without one.
  if (eval_pending && evaluates(state.step)) {
    fmt::print("step {}'s validation did not finish (a stop cut it short); it runs now\n", state.step);
    flush_stdout();
    const std::optional<double> v = evaluate(stop);
    if (!v) {
      print_stderr("seek: the validation of step {} was stopped again\n", state.step);
      result.validation_owed_step = state.step;
      result.interrupted = true;
      result.steps_done = state.step;
      return result;
    }
    if (*v >= 0) {
      set_in_step_line(metrics_file, state.step, "val_loss", *v);
      fmt::print("step {:>6}/{} | val loss {:.4f}\n", state.step, s.steps, *v);
      flush_stdout();
    }
    result.last_val_loss = *v;
  }
  JsonlAppender metrics(metrics_file);
  const auto t_start = std::chrono::steady_clock::now();
  const double elapsed_before = state.elapsed_seconds;
  const int64_t first_step = state.step;
  while (state.step < s.steps) {
    const auto t0 = std::chrono::steady_clock::now();
    const double lr = sched.lr_at(state.step);
    hp.lr = lr;
    model->params().zero_grad();
    double loss = 0, ce = 0, mtp = 0, bal = 0;
    int64_t counted = 0, mtp_counted = 0;
    std::vector<ExpertLoad> loads;
    const int64_t step_data_position = state.data_position;
    bool abandoned = false;
    // The step trains on the loss of one batch of all its A·B sequences: the cross-entropies are means over
    // the targets of the whole step (not means of each micro-batch's mean, which weighs an SFT micro-batch
    // with one answer token as much as one with hundreds), and the balance loss, a mean over sequences (or
    // per micro-batch with seq_aux false), is the mean over the micro-batches.
    // The padding that ends an SFT sequence is routed like any token, but counts in neither the balance loss
    // nor the expert loads (it piled onto a few experts and steered the router bias).
    data->train_batch(state.data_position, A * B, tokens.data(), targets.data(), lengths.data());
    LossOptions step_lo = lo;
    step_lo.balance.alpha = lo.balance.alpha / double(A);
    step_lo.count_step_targets(targets.data(), A * B, T, mtp_depths);
    // A step of a large model, or of many micro-batches, can run for minutes: the line counts its layers'
    // forward and backward passes.
    ProgressLine in_step(fmt::format("step {}/{}", state.step + 1, s.steps),
                         A * model->layer_passes(T, true, s.mtp_lambda > 0), "layer passes", progress);
    int64_t passes_done = 0, micro_batch = 0;
    step_lo.on_layer_pass = [&] {
      in_step.update(++passes_done,
                     [&](double) { return fmt::format("micro-batch {}/{}", micro_batch + 1, A); });
    };
    for (int64_t a = 0; a < A; ++a) {
      micro_batch = a;
      // A step of many micro-batches can run for long: a stop asked for within it drops the gradients
      // summed so far (nothing else has changed yet) and keeps the previous step's state.
      if (a > 0 && stop.requested("micro-batch")) {
        abandoned = true;
        break;
      }
      state.data_position += B;
      const size_t at = size_t(a * B * T);
      step_lo.balance.row_lengths.assign(lengths.begin() + a * B, lengths.begin() + (a + 1) * B);
      auto r = model->forward_backward(tokens.data() + at, targets.data() + at, B, T, step_lo, true);
      loss += r.loss;
      ce += r.ce;
      mtp += r.mtp;
      bal += r.balance;
      counted += r.tokens;
      mtp_counted += r.mtp_tokens;
      add_loads(loads, model->expert_loads());
    }
    in_step.finish();
    if (abandoned) {
      state.data_position = step_data_position;
      result.interrupted = true;
      checkpoints.save_unless_saved(*model, opt, state, s.to_json());
      break;
    }
    StepStats st{};
    const bool finite = std::isfinite(loss);
    // An SFT step whose sequences hold no answer token (prompts longer than seq_len, records without an
    // answer) has only the balance loss: AdamW's normalised update turned its tiny gradient into a full
    // learning-rate step of every weight, towards balanced routing on prompts alone.
    const bool without_targets = counted == 0;
    if (finite && !without_targets) st = opt.step(model->params(), hp, s.max_grad_norm);
    const bool nonfinite = !finite || !st.finite;
    const bool skipped = nonfinite || without_targets;
    if (without_targets && !nonfinite) {
      fmt::print("step {}: {}, update skipped\n", state.step + 1,
                 B * A == 1 ? std::string("its sequence holds no answer token")
                            : fmt::format("none of its {} sequences holds an answer token", B * A));
      flush_stdout();
      ++result.steps_without_targets;
    } else if (nonfinite) {
      if (s.on_nonfinite != "skip")
        throw RunError(
            fmt::format("non-finite {} at step {} (loss {}, grad norm {}); stopping without saving",
                        finite ? "gradient" : "loss", state.step + 1, number_text(loss),
                        finite ? number_text(st.grad_norm) : std::string("not taken")),
            "Lower the learning rate, or pass --on-nonfinite skip to skip such steps");
      fmt::print("step {}: non-finite {}, update skipped\n", state.step + 1, finite ? "gradient" : "loss");
      ++result.skipped_steps;
      // Skipping rides out a rare bad batch; a run whose every step is non-finite has diverged, and would
      // otherwise go on to its last step, save and exit 0.
      // --resume takes the newest checkpoint, made within the streak, so the way back is said in full; the
      // newest one from before the streak is never rotated out (save_checkpoint).
      if (++state.failure_streak >= kMaxSkippedInARow) {
        const int64_t first_bad = state.step + 2 - kMaxSkippedInARow;
        const auto back = checkpoint_before_failures(out);
        throw RunError(
            fmt::format("{} steps in a row were non-finite (steps {} to {}); stopping: the run has diverged",
                        kMaxSkippedInARow, first_bad, state.step + 1),
            back ? fmt::format("Continue from {}, the newest checkpoint from before the non-finite steps, "
                               "with a lower learning rate: move the newer ones out of {} and --resume "
                               "--lr ..., or start a new run with --init {}",
                               back->string(), (out / "checkpoints").string(), back->string())
                 : fmt::format("No checkpoint was saved before them: start again with a lower learning "
                               "rate and another --out (any checkpoints in {} were saved during the "
                               "non-finite steps)",
                               (out / "checkpoints").string()));
      }
      flush_stdout();  // one write at a time, so a closed pipe is met by flush_stdout, not inside fmt::print
    } else {
      state.failure_streak = 0;
      model->update_router_bias(s.bias_update_speed, loads);
    }
    ++state.step;
    state.tokens_seen += B * T * s.grad_accum;
    const double step_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double run_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    state.elapsed_seconds = elapsed_before + run_s;
    const double tps = double(B * T * s.grad_accum) / step_s;
    const double eta = run_s / double(state.step - first_step) * double(s.steps - state.step);

    nlohmann::json m = {{"step", state.step},
                        {"loss", loss},
                        {"ce", ce},
                        {"mtp", mtp},
                        {"balance", bal},
                        {"lr", lr},
                        {"grad_norm", st.grad_norm},
                        {"clipped", st.clip_scale < 1.0},
                        {"skipped", skipped},
                        {"tokens_per_s", tps},
                        {"counted_targets", counted},
                        {"tokens_seen", state.tokens_seen},
                        {"elapsed_s", state.elapsed_seconds},
                        {"expert_load", load_stats(loads)}};
    // Without an answer token there is no cross-entropy to measure (its 0 plotted as a loss near 0) and no
    // gradient was taken: unknown, null, as GRPO logs a step without an update.
    if (without_targets)
      for (const char* key : {"loss", "ce", "mtp", "grad_norm"}) m[key] = nullptr;
    // No MTP target either (no MTP layer, mtp_lambda 0, seq_len 1): no MTP loss, rather than a perfect one.
    if (mtp_counted == 0) m["mtp"] = nullptr;
    if (!finite) m["grad_norm"] = nullptr;  // no gradient was taken of a non-finite loss
    double val = -1;
    checkpoints.set_eval_pending(false);
    if (evaluates(state.step)) {
      if (const auto v = evaluate(stop)) {
        val = *v;
        if (val >= 0) m["val_loss"] = val;
        result.last_val_loss = val;
      } else {
        print_stderr("seek: the validation of step {} was not run to its end (a stop was asked for)\n",
                     state.step);
        checkpoints.set_eval_pending(true);
        result.validation_owed_step = state.step;
        result.last_val_loss = -1;  // an earlier step's would read as this one's in the closing line
      }
    }
    metrics.append(m);
    if (!settings_saved) write_resumed_settings(out, s.to_json());
    settings_saved = true;
    if (state.step % s.log_every == 0 || state.step == s.steps || val >= 0) {
      fmt::print("step {:>6}/{} | loss {} | lr {:.2e} | grad norm {} | {:.0f} tok/s | ETA {}{}\n", state.step,
                 s.steps, without_targets ? "- (no answer token)" : fmt::format("{:.4f}", loss), lr,
                 skipped ? "- (skipped)" : fmt::format("{:.3f}", st.grad_norm), tps, format_duration(eta),
                 val >= 0 ? fmt::format(" | val loss {:.4f}", val) : "");
      flush_stdout();
    }
    if (finite && !without_targets) result.last_loss = loss;
    const bool last = state.step == s.steps;
    // A signal at the last step lets the run finish and save its model; the command then ends by the signal
    // (cli end_run). Asked there too, so the test hook can signal at it.
    bool stopping = stop.requested("step") && !last;
    if (last || stopping || (s.checkpoint_every > 0 && state.step % s.checkpoint_every == 0)) {
      checkpoints.save(*model, opt, state, s.to_json());
      // A signal during the save (seconds to minutes on a large model) stops the run here, on the
      // checkpoint just written: it trained one more step and wrote a second checkpoint.
      stopping = stopping || (!last && stop.requested("saved"));
    }
    if (stopping) {
      result.interrupted = true;
      break;
    }
  }
  result.steps_done = state.step;
  if (!result.interrupted) {
    // A resumed run that was already complete ran no step: it re-exports the model, with the save_dtype
    // given.
    const nlohmann::json completed =
        settings_saved ? nlohmann::json() : completed_run_settings(out, s.to_json());
    SaveOptions so;
    so.dtype = s.save_dtype == "bf16" ? DType::BF16 : DType::F32;
    fs::path final_dir = out / "model";
    save_final_model(*model, final_dir, so, tok_files);
    if (!settings_saved) write_resumed_settings(out, completed);
    std::vector<std::string> without_update;
    if (result.skipped_steps > 0)
      without_update.push_back(
          fmt::format("{} of this session's skipped as non-finite", result.skipped_steps));
    if (result.steps_without_targets > 0)
      without_update.push_back(fmt::format("{}{} without an answer token", result.steps_without_targets,
                                           without_update.empty() ? " of this session's" : ""));
    fmt::print("done: {}{}{}{}; model saved to {}, metrics in {}\n", count_of(state.step, "step"),
               without_update.empty()
                   ? ""
                   : fmt::format(" ({}, with no update)", fmt::join(without_update, " and ")),
               result.last_loss >= 0 ? fmt::format(", final loss {:.4f}", result.last_loss) : "",
               result.last_val_loss >= 0 ? fmt::format(", val loss {:.4f}", result.last_val_loss) : "",
               final_dir.string(), metrics_file.string());
    flush_stdout();  // what comes next (a demo's evaluation) may take a while
  }
  return result;
}

}  // namespace seek
