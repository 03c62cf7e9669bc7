#pragma once
// Reads and writes Hugging Face safetensors files (model.safetensors), validated exactly as the
// reference implementation does: F32 is viewed in place, F16/BF16 become f32, I8 (the weights of a
// quantized folder, docs/precision.md) is viewed as int8, other integer buffers are skipped.

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "dnabert/core/error.hpp"
#include "dnabert/core/half_float.hpp"
#include "dnabert/io/atomic_file.hpp"
#include "dnabert/io/mapped_file.hpp"
#include "dnabert/io/tensor_map.hpp"

namespace dnabert::io {

static_assert(std::endian::native == std::endian::little,
              "safetensors data are little-endian and dnabert views them in place; big-endian hosts are unsupported");

/// Everything a safetensors file holds that dnabert uses.
struct safetensors_contents {
  /// Floating-point tensors as f32 (F32 viewed in the file when aligned, F16/BF16 converted).
  tensor_map tensors;
  /// I8 tensors, viewed in the file.
  int8_tensor_map int8_tensors;
  /// Names of other integer and of boolean buffers (e.g. "bert.embeddings.position_ids"), recognised and left out.
  std::vector<std::string> skipped;
  /// The free-form "__metadata__" map (e.g. {"format": "pt"}).
  std::map<std::string, std::string> metadata;
};

namespace detail {

/// Largest header the reference implementation accepts (safetensors MAX_HEADER_SIZE).
inline constexpr std::uint64_t max_safetensors_header = 100'000'000;
/// Bytes of the little-endian header length that opens every file.
inline constexpr std::uint64_t safetensors_length_bytes = 8;
/// The header key that holds metadata rather than a tensor.
inline constexpr std::string_view safetensors_metadata_key = "__metadata__";

/// What dnabert does with the elements of a dtype.
enum class element_use { f32, f16, bf16, i8, skip, unsupported };

/// A safetensors dtype: its spelling, its width in bits, and how dnabert reads it.
struct safetensors_dtype {
  std::string_view name;
  std::uint64_t bits;
  element_use use;
};

/// Every dtype the format defines (safetensors Dtype enum).
inline constexpr std::array<safetensors_dtype, 22> safetensors_dtypes = {{
    {"F32", 32, element_use::f32},
    {"F16", 16, element_use::f16},
    {"BF16", 16, element_use::bf16},
    {"BOOL", 8, element_use::skip},
    {"U8", 8, element_use::skip},
    {"I8", 8, element_use::i8},
    {"U16", 16, element_use::skip},
    {"I16", 16, element_use::skip},
    {"U32", 32, element_use::skip},
    {"I32", 32, element_use::skip},
    {"U64", 64, element_use::skip},
    {"I64", 64, element_use::skip},
    {"F64", 64, element_use::unsupported},
    {"C64", 64, element_use::unsupported},
    {"F4", 4, element_use::unsupported},
    {"F6_E2M3", 6, element_use::unsupported},
    {"F6_E3M2", 6, element_use::unsupported},
    {"F8_E5M2", 8, element_use::unsupported},
    {"F8_E4M3", 8, element_use::unsupported},
    {"F8_E8M0", 8, element_use::unsupported},
    {"F8_E4M3FNUZ", 8, element_use::unsupported},
    {"F8_E5M2FNUZ", 8, element_use::unsupported},
}};

/// One tensor entry of the header, as declared.
struct safetensors_entry {
  std::string name;
  const safetensors_dtype* dtype = nullptr;
  std::vector<std::uint64_t> shape;
  std::vector<std::uint64_t> data_offsets;
};

/// The header's content after parsing, before its offsets are checked.
struct safetensors_header {
  std::vector<safetensors_entry> entries;
  std::map<std::string, std::string> metadata;
};

/// Quotes a name for messages.
inline std::string quote_name(std::string_view text) {
  std::string quoted;  // built piece by piece: g++ 12 warns falsely (-Wrestrict) on "literal" + std::string&&
  quoted.reserve(text.size() + 2);
  quoted += '"';
  quoted += text;
  quoted += '"';
  return quoted;
}

/// Joins JSON fragments with commas.
inline std::string join(const std::vector<std::string>& parts) {
  std::string joined;
  for (std::size_t i = 0; i < parts.size(); ++i) joined += (i ? "," : "") + parts[i];
  return joined;
}

/// Shows a byte as 'c' when printable ASCII, else as 0xNN.
inline std::string describe_byte(std::byte value) {
  const auto code = std::to_integer<unsigned>(value);
  if (code >= 0x20 && code < 0x7f) return std::string("'") + static_cast<char>(code) + "'";
  constexpr std::string_view hex = "0123456789abcdef";
  return std::string("0x") + hex[code >> 4] + hex[code & 0xf];
}

/// SAX handler that accepts exactly the safetensors header grammar and builds the header directly:
/// no JSON tree, no duplicate keys, no nesting beyond what the format needs.
class safetensors_header_reader {
 public:
  using json = nlohmann::json;

  safetensors_header_reader(std::string_view file, std::uint64_t header_offset) : file_(file), offset_(header_offset) {}

  /// The parsed header (valid once parsing succeeded).
  safetensors_header take() { return std::move(header_); }

  bool null() { return wrong("null"); }
  bool boolean(bool value) { return wrong(value ? "true" : "false"); }
  // nlohmann reports only negative integers here; non-negative ones arrive as number_unsigned.
  bool number_integer(json::number_integer_t value) { return wrong(std::to_string(value)); }
  bool number_unsigned(json::number_unsigned_t value) {
    if (place_ == place::shape) {
      entry_.shape.push_back(value);
    } else if (place_ == place::offsets) {
      if (entry_.data_offsets.size() == 2) throw fail(field_context() + " must hold exactly two offsets, found more");
      entry_.data_offsets.push_back(value);
    } else {
      return wrong(std::to_string(value));
    }
    return true;
  }
  bool number_float(json::number_float_t /*value*/, const json::string_t& text) { return wrong(text); }
  bool string(json::string_t& value) {
    if (place_ == place::metadata) {
      header_.metadata.emplace(std::move(pending_key_), std::move(value));
      return true;
    }
    if (place_ == place::entry && field_ == field::dtype) {
      const auto* found = std::find_if(safetensors_dtypes.begin(), safetensors_dtypes.end(),
                                       [&](const safetensors_dtype& dtype) { return dtype.name == value; });
      if (found == safetensors_dtypes.end()) {
        throw fail("tensor " + quote_name(entry_.name) + ": unknown dtype " + quote_name(value));
      }
      entry_.dtype = &*found;
      return true;
    }
    return wrong("a string");
  }
  bool binary(json::binary_t& /*value*/) { return wrong("binary data"); }

  bool start_object(std::size_t /*elements*/) {
    if (place_ == place::before_header) {
      place_ = place::top;
    } else if (place_ == place::top && pending_key_ == safetensors_metadata_key) {
      place_ = place::metadata;
    } else if (place_ == place::top) {
      entry_ = safetensors_entry{std::move(pending_key_), nullptr, {}, {}};
      seen_fields_.clear();
      place_ = place::entry;
    } else {
      return wrong("an object");
    }
    return true;
  }
  bool key(json::string_t& key) {
    if (place_ == place::top) {
      if (!top_keys_.insert(key).second) throw fail("duplicate key " + quote_name(key));
    } else if (place_ == place::metadata) {
      if (header_.metadata.count(key) != 0) throw fail("__metadata__: duplicate key " + quote_name(key));
    } else {  // inside a tensor entry
      field_ = field_named(key);
      if (!seen_fields_.insert(key).second) {
        throw fail("tensor " + quote_name(entry_.name) + ": duplicate key " + quote_name(key));
      }
    }
    pending_key_ = std::move(key);
    return true;
  }
  bool end_object() {
    if (place_ == place::entry) {
      for (const char* required : {"dtype", "shape", "data_offsets"}) {
        if (seen_fields_.count(required) == 0) {
          throw fail("tensor " + quote_name(entry_.name) + ": missing " + quote_name(required));
        }
      }
      header_.entries.push_back(std::move(entry_));
      place_ = place::top;
    } else if (place_ == place::metadata) {
      place_ = place::top;
    } else {
      place_ = place::after_header;
    }
    return true;
  }
  bool start_array(std::size_t /*elements*/) {
    if (place_ == place::entry && field_ == field::shape) {
      place_ = place::shape;
    } else if (place_ == place::entry && field_ == field::data_offsets) {
      place_ = place::offsets;
    } else {
      return wrong("an array");
    }
    return true;
  }
  bool end_array() {
    if (place_ == place::offsets && entry_.data_offsets.size() != 2) {
      throw fail(field_context() + " must hold exactly two offsets, found " +
                 std::to_string(entry_.data_offsets.size()));
    }
    place_ = place::entry;
    return true;
  }
  bool parse_error(std::size_t position, const std::string& /*last_token*/, const nlohmann::detail::exception& ex) {
    // nlohmann counts the characters read, so the offending one is at position - 1.
    const std::uint64_t at = offset_ + (position > 0 ? position - 1 : 0);
    throw format_error::at_byte(file_, at, std::string("header is not valid JSON: ") + ex.what());
  }

 private:
  enum class place { before_header, top, metadata, entry, shape, offsets, after_header };
  enum class field { dtype, shape, data_offsets };

  field field_named(std::string_view key) const {
    if (key == "dtype") return field::dtype;
    if (key == "shape") return field::shape;
    if (key == "data_offsets") return field::data_offsets;
    throw fail("tensor " + quote_name(entry_.name) + ": unexpected key " + quote_name(key) +
               " (expected only dtype, shape and data_offsets)");
  }

  std::string field_context() const {
    return "tensor " + quote_name(entry_.name) + ": " + (field_ == field::shape ? "\"shape\"" : "\"data_offsets\"");
  }

  // Rejects a value the grammar does not allow where it appeared, saying what was expected.
  [[noreturn]] bool wrong(const std::string& found) const {
    switch (place_) {
      case place::top:
        if (pending_key_ == safetensors_metadata_key) throw fail("__metadata__ must be an object, found " + found);
        throw fail("tensor " + quote_name(pending_key_) + ": expected an object with dtype, shape and data_offsets, found " +
                   found);
      case place::metadata:
        throw fail("__metadata__ value of " + quote_name(pending_key_) + " must be a string, found " + found);
      case place::entry:
        if (field_ == field::dtype) throw fail("tensor " + quote_name(entry_.name) + ": \"dtype\" must be a string, found " + found);
        throw fail(field_context() + " must be an array, found " + found);
      case place::shape:
      case place::offsets:
        throw fail(field_context() + " must hold non-negative integers, found " + found);
      case place::before_header:
      case place::after_header:
        break;
    }
    throw fail("header must be one JSON object, found " + found);
  }

  [[nodiscard]] format_error fail(const std::string& what) const { return format_error(file_, "header: " + what); }

  std::string file_;
  std::uint64_t offset_;
  place place_ = place::before_header;
  field field_ = field::dtype;
  std::string pending_key_;
  std::set<std::string, std::less<>> top_keys_;
  std::set<std::string, std::less<>> seen_fields_;
  safetensors_entry entry_;
  safetensors_header header_;
};

/// Reads a little-endian u64.
inline std::uint64_t load_u64_le(const std::byte* bytes) {
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | std::to_integer<std::uint64_t>(bytes[i]);
  return value;
}

/// Reads a little-endian u16.
inline std::uint16_t load_u16_le(const std::byte* bytes) {
  return static_cast<std::uint16_t>(std::to_integer<unsigned>(bytes[0]) | (std::to_integer<unsigned>(bytes[1]) << 8));
}

/// Renders a declared shape as "[2, 3]".
inline std::string shape_text(const std::vector<std::uint64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

/// `a * b`, or nothing when it overflows 64 bits.
inline std::optional<std::uint64_t> checked_multiply(std::uint64_t a, std::uint64_t b) {
  if (b != 0 && a > std::numeric_limits<std::uint64_t>::max() / b) return std::nullopt;
  return a * b;
}

/// Element count times element bits, in bytes, or nothing on overflow or a partial byte. The order
/// of the checks is the reference's, so the same shapes overflow (e.g. [2^62, 0] of F32 does not).
inline std::optional<std::uint64_t> byte_size(const safetensors_entry& entry) {
  std::optional<std::uint64_t> elements = 1;
  for (const std::uint64_t dimension : entry.shape) {
    elements = checked_multiply(*elements, dimension);
    if (!elements) return std::nullopt;
  }
  const auto bits = checked_multiply(*elements, entry.dtype->bits);
  if (!bits || *bits % 8 != 0) return std::nullopt;
  return *bits / 8;
}

/// Checks each entry's size and that the entries, sorted by offset, tile the data area exactly.
inline void check_layout(std::vector<safetensors_entry>& entries, std::string_view file, std::uint64_t data_start,
                         std::uint64_t data_size) {
  std::sort(entries.begin(), entries.end(), [](const safetensors_entry& a, const safetensors_entry& b) {
    return a.data_offsets < b.data_offsets;
  });
  std::uint64_t expected_begin = 0;
  const safetensors_entry* previous = nullptr;
  for (const safetensors_entry& entry : entries) {
    const std::uint64_t begin = entry.data_offsets[0];
    const std::uint64_t end = entry.data_offsets[1];
    const std::string name = quote_name(entry.name);
    if (begin > end) {
      throw format_error(file, "tensor " + name + ": data_offsets [" + std::to_string(begin) + ", " +
                                   std::to_string(end) + "] end before they begin");
    }
    if (begin != expected_begin) {
      const std::string after = previous == nullptr ? std::string("the data area starts at offset 0")
                                                    : "the previous tensor " + quote_name(previous->name) + " ends at " +
                                                          std::to_string(expected_begin);
      throw format_error(file, "tensor " + name + " starts at data offset " + std::to_string(begin) + " but " + after +
                                   (begin < expected_begin ? " (overlap)" : " (gap)"));
    }
    const auto size = byte_size(entry);
    if (!size) {
      throw format_error(file, "tensor " + name + ": shape " + shape_text(entry.shape) + " of " +
                                   std::string(entry.dtype->name) + " overflows or is not a whole number of bytes");
    }
    if (*size != end - begin) {
      throw format_error(file, "tensor " + name + ": shape " + shape_text(entry.shape) + " of " +
                                   std::string(entry.dtype->name) + " needs " + std::to_string(*size) +
                                   " bytes but data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                                   "] span " + std::to_string(end - begin));
    }
    expected_begin = end;
    previous = &entry;
  }
  if (expected_begin != data_size) {
    // data_start + data_size is the file size, so neither sum can overflow.
    throw format_error::at_byte(
        file, data_start + std::min(expected_begin, data_size),
        expected_begin > data_size
            ? "file is truncated: tensors need " + std::to_string(expected_begin) + " data bytes but only " +
                  std::to_string(data_size) + " follow the header"
            : "tensors end at data offset " + std::to_string(expected_begin) + " but " +
                  std::to_string(data_size - expected_begin) + " more bytes follow (trailing data)");
  }
}

/// The declared shape of a validated entry as signed sizes.
inline std::vector<std::int64_t> signed_shape(const safetensors_entry& entry, std::string_view file) {
  std::vector<std::int64_t> shape;
  for (const std::uint64_t dimension : entry.shape) {
    // Only an empty tensor can declare such a dimension (the data bound all others).
    if (dimension > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      throw format_error(file, "tensor " + quote_name(entry.name) + ": dimension " + std::to_string(dimension) +
                                   " does not fit in a signed 64-bit size");
    }
    shape.push_back(static_cast<std::int64_t>(dimension));
  }
  return shape;
}

/// Turns one validated I8 entry into an int8 tensor: a view when `owner` keeps the bytes alive, else a copy.
inline loaded_int8_tensor decode_int8_tensor(const safetensors_entry& entry, std::span<const std::byte> data,
                                             const std::shared_ptr<const void>& owner, std::string_view file) {
  auto shape = signed_shape(entry, file);
  const std::span<const std::int8_t> values(reinterpret_cast<const std::int8_t*>(data.data()), data.size());
  if (owner) return loaded_int8_tensor{std::move(shape), values, owner};
  return make_owned_tensor(std::move(shape), std::vector<std::int8_t>(values.begin(), values.end()));
}

/// Turns one validated entry into an f32 tensor: a view when possible, a converted copy otherwise.
inline loaded_tensor decode_tensor(const safetensors_entry& entry, std::span<const std::byte> data,
                                   const std::shared_ptr<const void>& owner, std::string_view file) {
  auto shape = signed_shape(entry, file);
  const std::size_t width = static_cast<std::size_t>(entry.dtype->bits / 8);
  const std::size_t count = data.size() / width;
  if (entry.dtype->use == element_use::f32) {
    if (owner && reinterpret_cast<std::uintptr_t>(data.data()) % alignof(float) == 0) {
      return loaded_tensor{std::move(shape), std::span<const float>(reinterpret_cast<const float*>(data.data()), count),
                           owner};
    }
    std::vector<float> values(count);
    if (count > 0) std::memcpy(values.data(), data.data(), data.size());
    return make_owned_tensor(std::move(shape), std::move(values));
  }
  const auto convert = entry.dtype->use == element_use::f16 ? dnabert::half_to_float : dnabert::bfloat16_to_float;
  std::vector<float> values(count);
  for (std::size_t i = 0; i < count; ++i) values[i] = convert(load_u16_le(data.data() + 2 * i));
  return make_owned_tensor(std::move(shape), std::move(values));
}

}  // namespace detail

/// Parses safetensors bytes held in memory. F32 tensors view `bytes` when `owner` keeps them alive
/// (and they are aligned); with a null `owner` every tensor is copied. Throws format_error.
inline safetensors_contents parse_safetensors(std::span<const std::byte> bytes, std::string_view display_name,
                                              std::shared_ptr<const void> owner = nullptr) {
  using detail::safetensors_length_bytes;
  const std::uint64_t file_size = bytes.size();
  if (file_size < safetensors_length_bytes) {
    throw format_error(display_name, "file is " + std::to_string(file_size) +
                                         " bytes, too short for the 8-byte header length");
  }
  const std::uint64_t header_size = detail::load_u64_le(bytes.data());
  if (header_size > detail::max_safetensors_header) {
    throw format_error::at_byte(display_name, 0,
                                "header length " + std::to_string(header_size) + " exceeds the limit of " +
                                    std::to_string(detail::max_safetensors_header) + " bytes");
  }
  if (header_size > file_size - safetensors_length_bytes) {
    throw format_error::at_byte(display_name, 0,
                                "header length " + std::to_string(header_size) + " exceeds the " +
                                    std::to_string(file_size - safetensors_length_bytes) + " bytes that follow it");
  }
  const auto header_bytes = bytes.subspan(safetensors_length_bytes, static_cast<std::size_t>(header_size));
  const std::string_view header_text(reinterpret_cast<const char*>(header_bytes.data()), header_bytes.size());
  if (header_text.empty() || header_text.front() != '{') {
    throw format_error::at_byte(display_name, safetensors_length_bytes,
                                header_text.empty() ? std::string("header is empty, expected a JSON object")
                                                    : "header must start with '{', found " +
                                                          detail::describe_byte(header_bytes[0]));
  }
  // nlohmann stops at a NUL as if the input ended there; JSON never holds a raw NUL.
  if (const auto nul = header_text.find('\0'); nul != std::string_view::npos) {
    throw format_error::at_byte(display_name, safetensors_length_bytes + nul, "header contains a NUL byte");
  }
  detail::safetensors_header_reader reader(display_name, safetensors_length_bytes);
  nlohmann::json::sax_parse(header_text, &reader);
  detail::safetensors_header header = reader.take();

  const std::uint64_t data_start = safetensors_length_bytes + header_size;
  const auto data = bytes.subspan(static_cast<std::size_t>(data_start));
  detail::check_layout(header.entries, display_name, data_start, data.size());

  safetensors_contents contents;
  contents.metadata = std::move(header.metadata);
  for (const detail::safetensors_entry& entry : header.entries) {
    switch (entry.dtype->use) {
      case detail::element_use::skip:
        contents.skipped.push_back(entry.name);
        break;
      case detail::element_use::unsupported:
        throw format_error(display_name, "tensor " + detail::quote_name(entry.name) + ": dtype " +
                                             std::string(entry.dtype->name) +
                                             " is not supported (dnabert reads F32, F16, BF16 and I8 weights)");
      case detail::element_use::i8: {
        const auto begin = static_cast<std::size_t>(entry.data_offsets[0]);
        const auto end = static_cast<std::size_t>(entry.data_offsets[1]);
        contents.int8_tensors.emplace(
            entry.name, detail::decode_int8_tensor(entry, data.subspan(begin, end - begin), owner, display_name));
        break;
      }
      case detail::element_use::f32:
      case detail::element_use::f16:
      case detail::element_use::bf16: {
        const auto begin = static_cast<std::size_t>(entry.data_offsets[0]);
        const auto end = static_cast<std::size_t>(entry.data_offsets[1]);
        contents.tensors.emplace(entry.name,
                                 detail::decode_tensor(entry, data.subspan(begin, end - begin), owner, display_name));
        break;
      }
    }
  }
  std::sort(contents.skipped.begin(), contents.skipped.end());
  return contents;
}

/// Reads a safetensors file through a memory map; F32 tensors share ownership of the map.
inline safetensors_contents read_safetensors(const std::string& path) {
  const auto file = map_file(path);
  return parse_safetensors(file->bytes(), path, file);
}

/// Writes F32 tensors, then I8 ones (`int8_tensors`, a quantized folder's weights), as a safetensors
/// file the way Hugging Face's writer orders them (wider dtypes first, names sorted within a dtype;
/// header space-padded to a multiple of 8, so every F32 tensor is aligned), atomically. Throws
/// dnabert::error.
inline void write_safetensors(const std::string& path, const tensor_map& tensors,
                              const std::map<std::string, std::string>& metadata = {},
                              const int8_tensor_map& int8_tensors = {}) {
  // nlohmann escapes exactly as serde_json does, so the bytes match Python's output.
  const auto json_string = [&](const std::string& text) {
    try {
      return nlohmann::json(text).dump();
    } catch (const nlohmann::json::type_error&) {
      throw error("cannot write " + path + ": " + detail::quote_name(text) + " is not valid UTF-8");
    }
  };
  std::vector<std::string> members;
  if (!metadata.empty()) {
    std::vector<std::string> pairs;
    for (const auto& [key, value] : metadata) pairs.push_back(json_string(key) + ":" + json_string(value));
    members.push_back("\"__metadata__\":{" + detail::join(pairs) + "}");
  }
  std::uint64_t offset = 0;
  const auto add_member = [&](const std::string& name, const std::vector<std::int64_t>& shape, std::size_t value_count,
                              std::size_t bytes, const detail::safetensors_dtype& dtype) {
    if (name == detail::safetensors_metadata_key) {
      throw error("cannot write " + path + ": a tensor may not be named __metadata__");
    }
    detail::safetensors_entry entry{name, &dtype, {}, {}};
    std::vector<std::string> dimensions;
    for (const std::int64_t dimension : shape) {
      if (dimension < 0) {
        throw error("cannot write " + path + ": tensor " + detail::quote_name(name) + " has negative shape " +
                    shape_to_string(shape));
      }
      entry.shape.push_back(static_cast<std::uint64_t>(dimension));
      dimensions.push_back(std::to_string(dimension));
    }
    const auto size = detail::byte_size(entry);
    if (!size || *size != bytes) {
      throw error("cannot write " + path + ": tensor " + detail::quote_name(name) + " has shape " +
                  shape_to_string(shape) + " but " + std::to_string(value_count) + " values");
    }
    members.push_back(json_string(name) + ":{\"dtype\":\"" + std::string(dtype.name) + "\",\"shape\":[" +
                      detail::join(dimensions) + "],\"data_offsets\":[" + std::to_string(offset) + "," +
                      std::to_string(offset + *size) + "]}");
    offset += *size;
  };
  const auto& f32 = detail::safetensors_dtypes[0];
  const auto& i8 = *std::find_if(detail::safetensors_dtypes.begin(), detail::safetensors_dtypes.end(),
                                 [](const detail::safetensors_dtype& dtype) { return dtype.name == "I8"; });
  for (const auto& [name, tensor] : tensors) add_member(name, tensor.shape, tensor.values.size(), tensor.values.size_bytes(), f32);
  for (const auto& [name, tensor] : int8_tensors) {
    if (tensors.contains(name)) throw error("cannot write " + path + ": tensor " + detail::quote_name(name) + " is given twice");
    add_member(name, tensor.shape, tensor.values.size(), tensor.values.size_bytes(), i8);
  }
  std::string header = "{" + detail::join(members) + "}";
  header.append((8 - header.size() % 8) % 8, ' ');

  write_file_atomically(path, [&](atomic_file_writer& writer) {
    std::array<std::byte, 8> length{};
    for (std::size_t i = 0; i < length.size(); ++i) length[i] = static_cast<std::byte>(header.size() >> (8 * i));
    writer.write(length);
    writer.write(header);
    for (const auto& entry : tensors) writer.write(std::as_bytes(entry.second.values));
    for (const auto& entry : int8_tensors) writer.write(std::as_bytes(entry.second.values));
  });
}

}  // namespace dnabert::io
