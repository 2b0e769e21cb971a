#include "infer/expert_batch.hpp"

#include <algorithm>
#include <exception>
#include <numeric>

#include "infer/linear.hpp"
#include "kernels/swiglu.hpp"

namespace seek {

namespace {

constexpr int64_t kCols = 64;  // output columns per piece: a 64-row weight block, 4 dot blocks wide

struct Piece {
  int64_t task, c0;
};

// One task's MLP, each product through infer_linear (on all threads, or on the calling one alone inside a
// parallel region).
void run_task(const ExpertTask& t, int64_t d, ExpertScratch& scratch) {
  const int64_t inter = t.gate.rows, n = t.rows * inter;
  for (auto* v : {&scratch.gate, &scratch.up, &scratch.act})
    if (int64_t(v->size()) < n) v->resize(size_t(n));
  infer_linear(t.x, d, t.gate, scratch.gate.data(), t.rows);
  infer_linear(t.x, d, t.up, scratch.up.data(), t.rows);
  swiglu_forward<float>(scratch.gate.data(), scratch.up.data(), scratch.act.data(), n);
  infer_linear(scratch.act.data(), inter, t.down, t.y, t.rows);
}

// Each task whole on one thread: see the header. An exception (oneDNN's) is carried out of the parallel
// region and rethrown, the first in task order.
void run_packed_tasks(const std::vector<ExpertTask>& tasks, int64_t d) {
  const int64_t J = int64_t(tasks.size());
  std::vector<int64_t> order(static_cast<size_t>(J));
  std::iota(order.begin(), order.end(), int64_t(0));
  auto work = [&](int64_t j) { return tasks[size_t(j)].rows * tasks[size_t(j)].gate.rows; };
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return work(a) > work(b); });
  std::vector<std::exception_ptr> failed(static_cast<size_t>(J));
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t i = 0; i < J; ++i) {
    const int64_t j = order[size_t(i)];
    const ExpertTask& t = tasks[size_t(j)];
    if (t.rows == 0) continue;
    try {
      thread_local ExpertScratch scratch;
      run_task(t, d, scratch);
    } catch (...) {
      failed[size_t(j)] = std::current_exception();
    }
  }
  for (const std::exception_ptr& e : failed)
    if (e) std::rethrow_exception(e);
}

}  // namespace

void run_experts(const std::vector<ExpertTask>& tasks, int64_t d, int64_t tokens, ExpertScratch& scratch) {
  const bool packed = !tasks.empty() && tasks[0].gate.packed;
  if (tokens <= kExpertsSideBySide && (!packed || tokens > kPackedExpertsInTurn))
    run_expert_tasks(tasks, d, scratch);
  else
    run_expert_tasks_in_turn(tasks, d, scratch);
}

void run_expert_tasks_in_turn(const std::vector<ExpertTask>& tasks, int64_t d, ExpertScratch& scratch) {
  for (const ExpertTask& t : tasks)
    if (t.rows > 0) run_task(t, d, scratch);
}

void run_expert_tasks(const std::vector<ExpertTask>& tasks, int64_t d, ExpertScratch& scratch) {
  if (!tasks.empty() && tasks[0].gate.packed) {
    run_packed_tasks(tasks, d);
    return;
  }
  std::vector<float>& act = scratch.act;
  std::vector<float>& rounded = scratch.rounded;
  const int64_t J = int64_t(tasks.size());
  // Over bf16 weights that oneDNN multiplies natively every product takes bf16 inputs (infer/linear.hpp), so
  // a token's expert output does not depend on how many tokens share the expert: each task's rows are
  // rounded once, in the parallel region below, before any product reads them.
  std::vector<std::pair<int64_t, int64_t>> to_round;  // (task, row), in the order of `rounded`'s rows
  for (int64_t j = 0; j < J; ++j)
    if (infer_linear_rounds_inputs(tasks[size_t(j)].gate))
      for (int64_t r = 0; r < tasks[size_t(j)].rows; ++r) to_round.push_back({j, r});
  if (rounded.size() < to_round.size() * size_t(d)) rounded.resize(to_round.size() * size_t(d));
  std::vector<const float*> xs(static_cast<size_t>(J));  // each task's inputs as its products take them
  for (int64_t j = 0, r0 = 0; j < J; ++j) {
    const ExpertTask& t = tasks[size_t(j)];
    xs[size_t(j)] = t.x;
    if (!infer_linear_rounds_inputs(t.gate)) continue;
    xs[size_t(j)] = rounded.data() + r0 * d;
    r0 += t.rows;
  }
  const int64_t R = int64_t(to_round.size());
  std::vector<int64_t> act_off(size_t(J + 1), 0);
  std::vector<Piece> up_pieces, down_pieces;
  for (int64_t j = 0; j < J; ++j) {
    const ExpertTask& t = tasks[size_t(j)];
    const int64_t inter = t.gate.rows;
    act_off[size_t(j + 1)] = act_off[size_t(j)] + t.rows * inter;
    if (t.rows == 0) continue;
    for (int64_t c0 = 0; c0 < inter; c0 += kCols) up_pieces.push_back({j, c0});
    for (int64_t c0 = 0; c0 < d; c0 += kCols) down_pieces.push_back({j, c0});
  }
  if (int64_t(act.size()) < act_off[size_t(J)]) act.resize(size_t(act_off[size_t(J)]));
  const int64_t P_up = int64_t(up_pieces.size()), P_down = int64_t(down_pieces.size());
#pragma omp parallel
  {
    std::vector<float> g, u;
    if (R > 0) {  // the same on every thread: no barrier at all over weights that take fp32 inputs
#pragma omp for schedule(static)
      for (int64_t i = 0; i < R; ++i) {
        const auto [j, r] = to_round[size_t(i)];
        round_rows_to_bf16_values(tasks[size_t(j)].x + r * d, d, 1, d, rounded.data() + i * d);
      }
    }
#pragma omp for schedule(dynamic, 1)
    for (int64_t p = 0; p < P_up; ++p) {
      const Piece& pc = up_pieces[size_t(p)];
      const ExpertTask& t = tasks[size_t(pc.task)];
      const int64_t inter = t.gate.rows, nb = std::min(kCols, inter - pc.c0), n = t.rows * nb;
      g.resize(size_t(n));
      u.resize(size_t(n));
      const float* x = xs[size_t(pc.task)];
      infer_linear_cols_serial(x, d, t.gate, pc.c0, nb, g.data(), nb, t.rows);
      infer_linear_cols_serial(x, d, t.up, pc.c0, nb, u.data(), nb, t.rows);
      float* a = act.data() + act_off[size_t(pc.task)] + pc.c0;
      const bool round = infer_linear_rounds_inputs(t.down);
      for (int64_t r = 0; r < t.rows; ++r) {
        const float* gr = g.data() + r * nb;
        const float* ur = u.data() + r * nb;
        float* ar = a + r * inter;
#pragma omp simd
        for (int64_t c = 0; c < nb; ++c) ar[c] = swiglu(gr[c], ur[c]);
        if (round) round_rows_to_bf16_values(ar, nb, 1, nb, ar);
      }
    }
#pragma omp for schedule(dynamic, 1)
    for (int64_t p = 0; p < P_down; ++p) {
      const Piece& pc = down_pieces[size_t(p)];
      const ExpertTask& t = tasks[size_t(pc.task)];
      const int64_t inter = t.gate.rows, nb = std::min(kCols, d - pc.c0);
      infer_linear_cols_serial(act.data() + act_off[size_t(pc.task)], inter, t.down, pc.c0, nb, t.y + pc.c0,
                               d, t.rows);
    }
  }
}

}  // namespace seek
