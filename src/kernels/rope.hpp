// Rotary position embedding in DeepSeek's layout: INTERLEAVED adjacent pairs (x[2i], x[2i+1]) on the raw
// checkpoint channels, rotated by φ_i = pos · inv_freq[i], with YaRN frequencies (spec §3.3-§3.5).
//   table: cos/sin [max_pos, dr/2], built once per model
//   x:     [N, ..] rows with leading dim ldx; the dr rope channels of row n start at x + n·ldx + offset,
//          and `heads` groups of them follow each other with stride head_stride (q has one group per head).
//   pos:   the position of row n is n % seq_len (every sequence of a batch starts at 0), or pos[n] if given.
// Backward rotates by −φ (the rotation is orthogonal, so its transpose is its inverse).
#pragma once
#include <cstdint>
#include <vector>

namespace seek {

struct RopeParams {
  int64_t dim = 0;  // dr, even
  double theta = 10000.0;
  bool yarn = false;
  double factor = 1.0;  // rope_scaling.factor
  int64_t original_max_pos = 4096;
  double beta_fast = 32.0, beta_slow = 1.0;
  double mscale = 1.0, mscale_all_dim = 0.0;
};

// YaRN's m(s, k) = 0.1·k·ln(s) + 1 for s > 1, else 1.
double yarn_get_mscale(double scale, double mscale);

// inv_freq[i] for i < dim/2 (plain RoPE when !yarn).
std::vector<double> rope_inv_freq(const RopeParams& p);

// The cos/sin magnitude multiplier: m(factor, mscale) / m(factor, mscale_all_dim) under YaRN, else 1.
double rope_magnitude(const RopeParams& p);

template <typename T>
struct RopeTable {
  int64_t max_pos = 0, half = 0;
  std::vector<T> cos, sin;  // [max_pos, half]
  RopeParams params;
  RopeTable() = default;
  RopeTable(const RopeParams& p, int64_t max_positions);
  // Adds the rows of positions [max_pos, max_positions) (none if there are that many already): a table can
  // start small and grow with the positions actually run, instead of covering a context of 2^31 up front.
  void extend(int64_t max_positions);
};

template <typename T>
void rope_forward(const RopeTable<T>& table, T* x, int64_t N, int64_t ldx, int64_t offset, int64_t heads,
                  int64_t head_stride, int64_t seq_len, const int32_t* pos = nullptr);

template <typename T>
void rope_backward(const RopeTable<T>& table, T* dx, int64_t N, int64_t ldx, int64_t offset, int64_t heads,
                   int64_t head_stride, int64_t seq_len, const int32_t* pos = nullptr);

}  // namespace seek
