// Minimal SVG line charts (no dependencies) so a run's curves can be opened in any browser or image viewer.
#pragma once
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace seek {

struct PlotSeries {
  std::string label;
  std::vector<std::pair<double, double>> points;  // (x, y); non-finite y values are skipped
};

// Writes one chart with axes, ticks, a legend and one polyline per series. Throws seek::Error when the file
// cannot be written.
void write_svg_plot(const std::filesystem::path& path, const std::string& title, const std::string& x_label,
                    const std::string& y_label, const std::vector<PlotSeries>& series);

}  // namespace seek
