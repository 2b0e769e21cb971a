// Finite-difference gradient checking for tests, in double precision.
// check_gradient perturbs each entry of x by ±h, evaluates the scalar loss, and compares the central
// difference with the analytic gradient using a relative error that tolerates tiny gradients.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "core/rng.hpp"

namespace seek::test {

struct GradCheckResult {
  double max_rel_err = 0;
  double max_abs_err = 0;
  size_t worst_index = 0;
  size_t checked = 0;
};

// loss() reads x; grad holds dL/dx for the current x. Checks up to max_checks entries (spread evenly); a
// non-finite gradient or loss at a checked entry makes max_rel_err infinite.
inline GradCheckResult check_gradient(std::vector<double>& x, const std::vector<double>& grad,
                                      const std::function<double()>& loss, double h = 1e-6,
                                      size_t max_checks = 200) {
  GradCheckResult r;
  size_t n = x.size();
  size_t stride = std::max<size_t>(1, n / max_checks);
  for (size_t i = 0; i < n; i += stride) {
    double saved = x[i];
    x[i] = saved + h;
    double lp = loss();
    x[i] = saved - h;
    double lm = loss();
    x[i] = saved;
    double fd = (lp - lm) / (2 * h);
    double abs_err = std::fabs(fd - grad[i]);
    double rel = abs_err / std::max({std::fabs(fd), std::fabs(grad[i]), 1e-4});
    // A NaN or infinite gradient (or loss) is the worst error there is, not one that compares as no error.
    if (!std::isfinite(rel)) rel = std::numeric_limits<double>::infinity();
    if (rel > r.max_rel_err) {
      r.max_rel_err = rel;
      r.worst_index = i;
    }
    r.max_abs_err = std::max(r.max_abs_err, abs_err);
    ++r.checked;
  }
  return r;
}

inline std::vector<double> random_vector(size_t n, uint64_t seed, double scale = 1.0) {
  Rng rng(seed);
  std::vector<double> v(n);
  for (auto& x : v) x = rng.normal() * scale;
  return v;
}

// Dot product of two vectors: a convenient scalar loss L = <y, w> for a kernel output y and fixed random w,
// whose gradient dL/dy = w.
inline double dot(const double* a, const double* b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

}  // namespace seek::test
