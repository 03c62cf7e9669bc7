// Checks that a PNG (a browser's screenshot of an SVG) is not blank: decodes it with zlib
// (8-bit grey/RGB/RGBA, not interlaced) and requires a minimum fraction of non-white pixels.
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

std::uint32_t big_endian(const unsigned char* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

// The Paeth predictor of the PNG specification.
int paeth(int a, int b, int c) {
  const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

struct image {
  std::uint32_t width = 0, height = 0, channels = 0;
  std::vector<unsigned char> pixels;  // rows of width * channels bytes, filters undone
};

image decode(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  const std::vector<unsigned char> file{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (file.size() < 8 || std::memcmp(file.data(), signature, 8) != 0) throw std::runtime_error(path + " is not a PNG");
  image out;
  std::vector<unsigned char> compressed;
  for (std::size_t at = 8; at + 12 <= file.size();) {
    const std::uint32_t length = big_endian(&file[at]);
    if (length > file.size() - at - 12) throw std::runtime_error(path + ": truncated chunk");
    const std::string type(reinterpret_cast<const char*>(&file[at + 4]), 4);
    const unsigned char* data = &file[at + 8];
    if (type == "IHDR") {
      if (length < 13) throw std::runtime_error(path + ": short IHDR");
      out.width = big_endian(data);
      out.height = big_endian(data + 4);
      const int depth = data[8], colour = data[9], interlace = data[12];
      out.channels = colour == 0 ? 1 : colour == 2 ? 3 : colour == 4 ? 2 : colour == 6 ? 4 : 0;
      if (depth != 8 || out.channels == 0 || interlace != 0)
        throw std::runtime_error(path + ": only 8-bit grey/RGB/RGBA non-interlaced PNGs are checked (depth " +
                                 std::to_string(depth) + ", colour type " + std::to_string(colour) + ")");
    } else if (type == "IDAT") {
      compressed.insert(compressed.end(), data, data + length);
    } else if (type == "IEND") {
      break;
    }
    at += 12 + length;
  }
  if (out.width == 0 || out.height == 0 || out.width > 20000 || out.height > 20000)
    throw std::runtime_error(path + ": missing or absurd IHDR size");
  const std::size_t stride = std::size_t{out.width} * out.channels;
  std::vector<unsigned char> raw((stride + 1) * out.height);
  uLongf raw_size = raw.size();
  if (uncompress(raw.data(), &raw_size, compressed.data(), compressed.size()) != Z_OK || raw_size != raw.size())
    throw std::runtime_error(path + ": IDAT does not inflate to " + std::to_string(raw.size()) + " bytes");
  out.pixels.resize(stride * out.height);
  for (std::size_t y = 0; y < out.height; ++y) {
    const unsigned char filter = raw[y * (stride + 1)];
    const unsigned char* in_row = &raw[y * (stride + 1) + 1];
    unsigned char* row = &out.pixels[y * stride];
    const unsigned char* above = y > 0 ? row - stride : nullptr;
    for (std::size_t x = 0; x < stride; ++x) {
      const int a = x >= out.channels ? row[x - out.channels] : 0, b = above ? above[x] : 0;
      const int c = above && x >= out.channels ? above[x - out.channels] : 0;
      int predicted = 0;
      switch (filter) {
        case 0: break;
        case 1: predicted = a; break;
        case 2: predicted = b; break;
        case 3: predicted = (a + b) / 2; break;
        case 4: predicted = paeth(a, b, c); break;
        default: throw std::runtime_error(path + ": bad filter type " + std::to_string(filter));
      }
      row[x] = static_cast<unsigned char>(in_row[x] + predicted);
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: png_nonblank FILE.png MIN_NON_WHITE_FRACTION\n");
    return 2;
  }
  try {
    const image picture = decode(argv[1]);
    const double minimum = std::strtod(argv[2], nullptr);
    std::size_t non_white = 0;
    const std::size_t count = std::size_t{picture.width} * picture.height;
    for (std::size_t i = 0; i < count; ++i) {
      const unsigned char* p = &picture.pixels[i * picture.channels];
      const bool opaque = picture.channels % 2 == 1 || p[picture.channels - 1] > 16;  // alpha last in GA/RGBA
      const std::size_t colours = picture.channels >= 3 ? 3 : 1;
      bool white = true;
      for (std::size_t c = 0; c < colours; ++c) white = white && p[c] >= 245;
      if (opaque && !white) ++non_white;
    }
    const double fraction = static_cast<double>(non_white) / static_cast<double>(count);
    std::printf("%s: %ux%u, %zu non-white pixels (%.4f of the picture, at least %.4f needed)\n", argv[1], picture.width,
                picture.height, non_white, fraction, minimum);
    return fraction >= minimum ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "png_nonblank: %s\n", e.what());
    return 1;
  }
}
