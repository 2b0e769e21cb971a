#include "rl/svg_plot.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/atomic_file.hpp"
#include "core/error.hpp"

namespace seek {

namespace {

std::string escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<')
      o += "&lt;";
    else if (c == '>')
      o += "&gt;";
    else if (c == '&')
      o += "&amp;";
    else
      o += c;
  }
  return o;
}

// A "nice" tick step (1, 2 or 5 times a power of ten) giving about n ticks over span.
double tick_step(double span, int n) {
  double raw = span / n, p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * p) return m * p;
  return 10 * p;
}

}  // namespace

void write_svg_plot(const std::filesystem::path& path, const std::string& title, const std::string& x_label,
                    const std::string& y_label, const std::vector<PlotSeries>& series) {
  const double W = 640, H = 400, L = 70, R = 20, T = 40, B = 55;
  double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
  for (const auto& s : series)
    for (auto [x, y] : s.points)
      if (std::isfinite(x) && std::isfinite(y)) {
        x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
      }
  if (x0 > x1) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  // A range too narrow for its magnitude (0.3 and 0.30000000000000004, 1e17 and 1e17 + 16) is widened: its
  // tick step would fall below the values' resolution, and the coordinates would divide by about zero.
  auto widen = [](double& lo, double& hi) {
    const double scale = std::max({1.0, std::fabs(lo), std::fabs(hi)});
    if (hi - lo > scale * 1e-9) return;
    const double half = 0.5 * std::max(1.0, scale * 1e-3);
    lo -= half, hi += half;
  };
  // Data that is never negative (a reward, a KL, a length) keeps its axis at or above 0: a constant 0 was
  // drawn on an axis reaching down to -0.4.
  const bool y_non_negative = y0 >= 0;
  widen(x0, x1);
  widen(y0, y1);
  if (y_non_negative && y0 < 0) y1 -= y0, y0 = 0;
  // Steps are whole numbers: a short run got ticks at 0.6 ... 1.4 or 1.5, 2.5.
  bool whole_x = true;
  for (const auto& s : series)
    for (auto [x, y] : s.points) whole_x &= !std::isfinite(x) || x == std::round(x);
  const double pad = (y1 - y0) * 0.05;
  y0 -= pad, y1 += pad;
  auto px = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
  auto py = [&](double y) { return H - B - (y - y0) / (y1 - y0) * (H - T - B); };
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" "
      "font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{}</text>\n",
      W, H, W / 2, escape(title));
  svg +=
      fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"black\"/>\n", L, H - B, W - R);
  svg += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"black\"/>\n", L, T, H - B);
  // Ticks as multiples k·step of the step, counted rather than accumulated: adding a step that rounding
  // swallowed never reached the end of the range, and the plot grew until memory ran out.
  auto ticks = [](double lo, double hi, int n, bool whole = false) {
    std::vector<double> at;
    const double step = whole ? std::max(1.0, tick_step(hi - lo, n)) : tick_step(hi - lo, n),
                 first = std::ceil(lo / step);
    for (int k = 0; k <= 4 * n && (first + k) * step <= hi + 1e-9 * step; ++k)
      at.push_back((first + k) * step);
    return std::make_pair(at, step);
  };
  const auto [x_ticks, x_step] = ticks(x0, x1, 8, whole_x);
  const auto [y_ticks, y_step] = ticks(y0, y1, 6);
  for (const double x : x_ticks)
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#ddd\"/><text x=\"{0:.1f}\" "
        "y=\"{3}\" "
        "text-anchor=\"middle\">{4:g}</text>\n",
        px(x), T, H - B, H - B + 16, std::fabs(x) < x_step * 1e-9 ? 0.0 : x);
  for (const double y : y_ticks)
    svg += fmt::format(
        "<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"#ddd\"/><text x=\"{3}\" "
        "y=\"{4:.1f}\" "
        "text-anchor=\"end\">{5:g}</text>\n",
        L, py(y), W - R, L - 6, py(y) + 4, std::fabs(y) < y_step * 1e-9 ? 0.0 : y);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", (L + W - R) / 2, H - 15,
                     escape(x_label));
  svg += fmt::format(
      "<text x=\"18\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 18 {})\">{}</text>\n",
      (T + H - B) / 2, (T + H - B) / 2, escape(y_label));
  static const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"};
  // The box fits the longest label at ~7 px per character of the 12 px font (a fixed 150 px cut longer
  // labels off at the image's edge).
  size_t longest = 0;
  for (const auto& s : series)
    longest = std::max<size_t>(longest, size_t(std::count_if(s.label.begin(), s.label.end(), [](char c) {
                                 return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
                               })));
  const double legend_w = std::max(150.0, 24.0 + 7.0 * double(longest));
  std::string legend = fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"white\" fill-opacity=\"0.85\" "
      "stroke=\"#ccc\"/>\n",
      W - R - 6 - legend_w, T, legend_w, 16 * double(series.size()) + 6);
  for (size_t i = 0; i < series.size(); ++i) {
    std::string pts;
    int drawn = 0;
    double last_x = 0, last_y = 0;
    for (auto [x, y] : series[i].points)
      if (std::isfinite(x) && std::isfinite(y)) {
        pts += fmt::format("{:.1f},{:.1f} ", px(x), py(y));
        ++drawn, last_x = x, last_y = y;
      }
    const char* col = colors[i % 5];
    svg +=
        fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.8\" points=\"{}\"/>\n", col, pts);
    // A line through one point draws nothing (a run of one step): a dot shows it.
    if (drawn == 1)
      svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"/>\n", px(last_x),
                         py(last_y), col);
    legend += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"3\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">{}</text>\n",
        W - R - legend_w, T + 8 + 16 * double(i), col, W - R - legend_w + 16, T + 13 + 16 * double(i),
        escape(series[i].label));
  }
  svg += legend + "</svg>\n";
  write_file_atomically(path, svg);
}

}  // namespace seek
