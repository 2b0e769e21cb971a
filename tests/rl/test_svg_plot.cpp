// The SVG charts of a run's curves: ranges too narrow for their magnitude used to loop forever adding a tick
// step that rounding swallowed (0.3 and 0.30000000000000004, 1e17 and 1e17 + 16); a series of one point
// drew nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>

#include "rl/svg_plot.hpp"
#include "support/temp_dir.hpp"

namespace seek {
namespace {

namespace fs = std::filesystem;

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

std::string plot(const fs::path& path, const std::vector<std::pair<double, double>>& points) {
  write_svg_plot(path, "t", "step", "reward", {PlotSeries{"reward", points}});
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(SvgPlot, NarrowRangesGetAFewTicks) {
  test::TempDir tmp("svg-plot");
  const fs::path path = tmp.path / "p.svg";
  const std::vector<std::vector<std::pair<double, double>>> cases = {
      {{1, 0.3}, {2, 0.30000000000000004}},
      {{1, 1.0}, {2, 1.0 + std::ldexp(1.0, -52)}},
      {{1, 1e17}, {2, 1e17 + 16}},
      {{1e17, 1}, {1e17 + 16, 2}},
      {{1, -1e300}, {2, 1e300}},
      {{1, 0.5}, {2, 0.5}},
  };
  for (const auto& points : cases) {
    const std::string svg = plot(path, points);
    const size_t ticks = count(svg, "stroke=\"#ddd\"");
    EXPECT_GE(ticks, 4u) << svg;
    EXPECT_LE(ticks, 60u) << svg;
    EXPECT_EQ(count(svg, "nan"), 0u) << svg;
    EXPECT_EQ(count(svg, "inf"), 0u) << svg;
    EXPECT_EQ(count(svg, "<circle"), 0u) << svg;
  }
}

TEST(SvgPlot, OnePointIsADot) {
  test::TempDir tmp("svg-plot-dot");
  const fs::path path = tmp.path / "p.svg";
  EXPECT_EQ(count(plot(path, {{1, 0.25}}), "<circle"), 1u);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(count(plot(path, {{1, nan}, {2, 0.25}, {3, nan}}), "<circle"), 1u);
  EXPECT_EQ(count(plot(path, {{1, 0.25}, {2, 0.5}}), "<circle"), 0u);
  EXPECT_EQ(count(plot(path, {}), "<circle"), 0u);
}

// The legend's box grows with its longest label, which used to run past a fixed 150 px box and off the
// 640 px image.
TEST(SvgPlot, TheLegendFitsItsLabels) {
  test::TempDir tmp("svg-plot-legend");
  const fs::path path = tmp.path / "p.svg";
  write_svg_plot(path, "t", "step", "accuracy",
                 {PlotSeries{"short", {{1, 0.1}, {2, 0.2}}},
                  PlotSeries{"training accuracy of the groups kept", {{1, 0.3}, {2, 0.4}}}});
  std::ifstream in(path);
  const std::string svg{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  // 36 characters at 7 px and 24 px of marker and margins: 276 px, right-aligned 26 px from the edge.
  EXPECT_NE(svg.find("<rect x=\"338\" y=\"40\" width=\"276\""), std::string::npos) << svg;
  EXPECT_NE(svg.find("<text x=\"360\" y=\"69\">training accuracy of the groups kept</text>"),
            std::string::npos)
      << svg;
  // Short labels keep the 150 px box.
  const std::string small = plot(path, {{1, 0.1}, {2, 0.2}});
  EXPECT_NE(small.find("<rect x=\"464\" y=\"40\" width=\"150\""), std::string::npos) << small;
}

// Tick labels a run's curves can have: whole steps (a 2-step run had ticks at 1.5), and no negative value
// under data that is never negative (a constant 0 reached down to -0.4).
TEST(SvgPlot, TicksFollowTheData) {
  test::TempDir tmp("svg-plot-ticks");
  const fs::path path = tmp.path / "p.svg";
  auto labels = [](const std::string& svg, const char* anchor) {
    std::vector<std::string> out;
    const std::string open = std::string("text-anchor=\"") + anchor + "\">";
    for (size_t at = svg.find(open); at != std::string::npos; at = svg.find(open, at + 1)) {
      const size_t b = at + open.size();
      out.push_back(svg.substr(b, svg.find('<', b) - b));
    }
    return out;
  };
  std::string svg = plot(path, {{1, 0.0}, {2, 0.0}});
  const auto x = labels(svg, "middle"), y = labels(svg, "end");
  for (const std::string& l : x)
    if (l != "t" && l != "step") {
      EXPECT_EQ(l.find('.'), std::string::npos) << l;
    }
  ASSERT_FALSE(y.empty());
  for (const std::string& l : y) EXPECT_NE(l[0], '-') << l;
  // Fractional steps and negative data keep their ticks.
  svg = plot(path, {{0.5, -1.0}, {1.5, 1.0}});
  EXPECT_NE(svg.find(">-1<"), std::string::npos) << svg;
  EXPECT_NE(svg.find(">0.5<"), std::string::npos) << svg;
}

}  // namespace
}  // namespace seek
