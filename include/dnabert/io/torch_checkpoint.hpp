#pragma once
// Reads PyTorch `pytorch_model.bin` state dicts, both the ZIP form (torch >= 1.6) and the legacy
// form (consecutive pickles, then raw storages), into f32 tensors without running anything.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dnabert/core/error.hpp"
#include "dnabert/core/half_float.hpp"
#include "dnabert/io/mapped_file.hpp"
#include "dnabert/io/pickle.hpp"
#include "dnabert/io/tensor_map.hpp"
#include "dnabert/io/zip_archive.hpp"

namespace dnabert::io {

namespace detail {

/// One of the storage classes a state dict names, and how its elements become f32.
struct torch_storage_type {
  std::string_view global;
  std::size_t element_size;
  enum class conversion { f32, f16, bf16, skipped } convert;
};

inline constexpr torch_storage_type torch_storage_types[] = {
    {"torch.FloatStorage", 4, torch_storage_type::conversion::f32},
    {"torch.HalfStorage", 2, torch_storage_type::conversion::f16},
    {"torch.BFloat16Storage", 2, torch_storage_type::conversion::bf16},
    {"torch.DoubleStorage", 8, torch_storage_type::conversion::skipped},
    {"torch.LongStorage", 8, torch_storage_type::conversion::skipped},
    {"torch.IntStorage", 4, torch_storage_type::conversion::skipped},
    {"torch.ShortStorage", 2, torch_storage_type::conversion::skipped},
    {"torch.CharStorage", 1, torch_storage_type::conversion::skipped},
    {"torch.ByteStorage", 1, torch_storage_type::conversion::skipped},
    {"torch.BoolStorage", 1, torch_storage_type::conversion::skipped},
};

/// Little-endian unsigned integer of `width` bytes.
inline std::uint64_t torch_little_endian(const std::byte* bytes, std::size_t width) {
  std::uint64_t result = 0;
  for (std::size_t i = 0; i < width; ++i) result |= static_cast<std::uint64_t>(bytes[i]) << (8 * i);
  return result;
}

/// The storage a tensor reads from: which one, its element type, and the elements it may
/// address (a legacy storage view narrows them to a window of the whole storage).
struct torch_tensor_plan {
  std::string name;
  const pickle::tensor_reference* reference = nullptr;
  std::size_t document_index = 0;  // equal for tensors the pickle shares (tied weights)
  std::string storage_key;
  const torch_storage_type* type = nullptr;
  std::uint64_t window_begin = 0;
  std::uint64_t window_count = 0;
};

/// Per storage key: its type and element count, which every tensor using it must agree on.
struct torch_storage_plan {
  const torch_storage_type* type = nullptr;
  std::uint64_t element_count = 0;
};

/// What a state dict pickle asks for, checked for consistency but not yet read.
struct torch_state_plan {
  std::vector<torch_tensor_plan> tensors;
  std::map<std::string, torch_storage_plan, std::less<>> storages;
};

/// Largest uint64, the ceiling of every overflow check here.
inline constexpr std::uint64_t torch_uint64_max = std::numeric_limits<std::uint64_t>::max();

/// Sets `product` to the product of the (non-negative) `sizes`; false when it overflows.
inline bool checked_product(const std::vector<std::int64_t>& sizes, std::uint64_t& product) {
  product = 1;
  for (const std::int64_t size : sizes) {
    const auto factor = static_cast<std::uint64_t>(size);
    if (factor != 0 && product > torch_uint64_max / factor) return false;
    product *= factor;
  }
  return true;
}

/// Turns a state dict pickle into a plan: names, storages and views, checked for consistency.
class torch_state_reader {
 public:
  /// Reads from `document`; errors name `file`.
  torch_state_reader(const pickle::document& document, const std::string& file) : document_(document), file_(file) {}

  /// Walks the dict of name -> tensor and decodes each tensor's persistent id.
  torch_state_plan plan(std::uint64_t pickle_offset) {
    if (document_.root.type != pickle::kind::dict)
      throw format_error::at_byte(file_, pickle_offset,
                                  "expected the pickle to hold a dict of tensors (a state dict), found a " +
                                      std::string(pickle::kind_name(document_.root.type)));
    torch_state_plan result;
    std::set<std::string_view> seen;
    for (const auto& [key, item] : document_.entries(document_.root)) {
      if (key.type != pickle::kind::text)
        throw format_error::at_byte(file_, pickle_offset,
                                    "state dict key is a " + std::string(pickle::kind_name(key.type)) + ", expected text");
      const std::string& name = document_.text(key);
      if (item.type != pickle::kind::tensor)
        throw format_error::at_byte(file_, pickle_offset,
                                    "state dict entry '" + name + "' is a " + std::string(pickle::kind_name(item.type)) +
                                        ", expected a tensor");
      if (!seen.insert(name).second)
        throw format_error::at_byte(file_, pickle_offset, "state dict names tensor '" + name + "' twice");
      result.tensors.push_back(plan_tensor(name, item, result.storages));
    }
    return result;
  }

 private:
  [[noreturn]] void fail(const torch_tensor_plan& tensor, const std::string& what) const {
    throw format_error::at_byte(file_, tensor.reference->source_offset, "tensor '" + tensor.name + "': " + what);
  }

  const std::string& expect_text(const torch_tensor_plan& tensor, const pickle::value& item, std::string_view what) const {
    if (item.type != pickle::kind::text)
      fail(tensor, std::string(what) + " must be text, found " + std::string(pickle::kind_name(item.type)));
    return document_.text(item);
  }

  std::uint64_t expect_count(const torch_tensor_plan& tensor, const pickle::value& item, std::string_view what) const {
    if (item.type != pickle::kind::integer || item.integer < 0)
      fail(tensor, std::string(what) + " must be a non-negative int");
    return static_cast<std::uint64_t>(item.integer);
  }

  // Zip: ('storage', Type, key, location, numel); legacy adds view_metadata, None or
  // (view_key, offset, size) in elements of the root storage.
  torch_tensor_plan plan_tensor(const std::string& name, const pickle::value& item,
                                std::map<std::string, torch_storage_plan, std::less<>>& storages) const {
    torch_tensor_plan tensor{name, &document_.tensor(item), item.index, {}, nullptr, 0, 0};
    const auto id = document_.items(tensor.reference->storage);
    if (id.size() != 5 && id.size() != 6)
      fail(tensor, "storage persistent id has " + std::to_string(id.size()) + " items, expected 5 or 6");
    if (expect_text(tensor, id[0], "persistent id tag") != "storage")
      fail(tensor, "persistent id tag is '" + document_.text(id[0]) + "', expected 'storage'");
    if (id[1].type != pickle::kind::global) fail(tensor, "storage type must be a global");
    const std::string& type_name = document_.text(id[1]);
    for (const torch_storage_type& each : torch_storage_types)
      if (each.global == type_name) tensor.type = &each;
    if (tensor.type == nullptr) fail(tensor, "'" + type_name + "' is not a storage type");
    tensor.storage_key = expect_text(tensor, id[2], "storage key");
    expect_text(tensor, id[3], "storage location");
    const std::uint64_t element_count = expect_count(tensor, id[4], "storage size");
    if (element_count > torch_uint64_max / tensor.type->element_size)
      fail(tensor, "storage of " + std::to_string(element_count) + " elements overflows");
    tensor.window_count = element_count;
    if (id.size() == 6 && id[5].type != pickle::kind::none) plan_view(tensor, id[5], element_count);

    const auto [known, inserted] = storages.try_emplace(tensor.storage_key, torch_storage_plan{tensor.type, element_count});
    if (!inserted && (known->second.type != tensor.type || known->second.element_count != element_count))
      fail(tensor, "storage '" + tensor.storage_key + "' was first described as " + std::to_string(known->second.element_count) +
                       " elements of " + std::string(known->second.type->global) + ", now as " +
                       std::to_string(element_count) + " of " + type_name);
    return tensor;
  }

  void plan_view(torch_tensor_plan& tensor, const pickle::value& view, std::uint64_t element_count) const {
    if (view.type != pickle::kind::tuple || document_.items(view).size() != 3)
      fail(tensor, "storage view metadata must be None or (key, offset, size)");
    const auto parts = document_.items(view);
    expect_text(tensor, parts[0], "storage view key");
    tensor.window_begin = expect_count(tensor, parts[1], "storage view offset");
    tensor.window_count = expect_count(tensor, parts[2], "storage view size");
    if (tensor.window_begin > element_count || tensor.window_count > element_count - tensor.window_begin)
      fail(tensor, "storage view [" + std::to_string(tensor.window_begin) + ", +" + std::to_string(tensor.window_count) +
                       ") lies outside its storage of " + std::to_string(element_count) + " elements");
  }

  const pickle::document& document_;
  const std::string& file_;
};

/// Storage key -> its bytes (exactly element count x element size).
using torch_storage_bytes = std::map<std::string, std::span<const std::byte>, std::less<>>;

/// Turns planned tensors into f32 tensors, checking every addressed element lies in its storage.
class torch_materialiser {
 public:
  torch_materialiser(const std::string& file, std::shared_ptr<const void> owner, std::uint64_t copy_budget)
      : file_(file), owner_(std::move(owner)), copy_budget_(copy_budget) {}

  void add(const torch_tensor_plan& tensor, const torch_storage_bytes& storages, tensor_map& out,
           std::vector<std::string>* skipped) {
    const auto storage = storages.find(tensor.storage_key);
    if (storage == storages.end())
      fail(tensor, "uses storage '" + tensor.storage_key + "', which the file does not contain");
    const std::uint64_t element_count = check_bounds(tensor);
    if (tensor.type->convert == torch_storage_type::conversion::skipped) {
      if (skipped != nullptr) skipped->push_back(tensor.name);
      return;
    }
    const auto cached = done_.find(tensor.document_index);
    if (cached != done_.end()) {
      out.emplace(tensor.name, cached->second);
      return;
    }
    const std::size_t element_size = tensor.type->element_size;
    const auto window = storage->second.subspan(static_cast<std::size_t>(tensor.window_begin * element_size),
                                                static_cast<std::size_t>(tensor.window_count * element_size));
    loaded_tensor result = view_in_place(tensor, window, element_count);
    if (result.storage == nullptr) result = copy(tensor, window, element_count);
    done_.emplace(tensor.document_index, result);
    out.emplace(tensor.name, std::move(result));
  }

 private:
  [[noreturn]] void fail(const torch_tensor_plan& tensor, const std::string& what) const {
    throw format_error::at_byte(file_, tensor.reference->source_offset, "tensor '" + tensor.name + "' " + what);
  }

  // Returns the element count; every element offset + sum (size_i - 1) * stride_i must be in the window.
  std::uint64_t check_bounds(const torch_tensor_plan& tensor) const {
    const pickle::tensor_reference& reference = *tensor.reference;
    std::uint64_t element_count = 0;
    if (!checked_product(reference.sizes, element_count))
      fail(tensor, "has size " + shape_to_string(reference.sizes) + ", whose element count overflows");
    auto last = static_cast<std::uint64_t>(reference.storage_offset);
    bool fits = last <= tensor.window_count;
    for (std::size_t d = 0; fits && element_count > 0 && d < reference.sizes.size(); ++d) {
      const auto extent = static_cast<std::uint64_t>(reference.sizes[d] - 1);
      const auto stride = static_cast<std::uint64_t>(reference.strides[d]);
      fits = stride == 0 || extent <= (torch_uint64_max - last) / stride;
      if (fits) last += extent * stride;
    }
    if (!fits || (element_count > 0 && last >= tensor.window_count))
      fail(tensor, "with offset " + std::to_string(reference.storage_offset) + ", size " +
                       shape_to_string(reference.sizes) + " and stride " + shape_to_string(reference.strides) +
                       " reaches past its storage of " + std::to_string(tensor.window_count) + " elements");
    return element_count;
  }

  // Unsigned: the sizes' product is known to fit a uint64, not an int64.
  [[nodiscard]] static bool row_major(const pickle::tensor_reference& reference) {
    std::uint64_t expected = 1;
    for (std::size_t d = reference.sizes.size(); d-- > 0;) {
      if (reference.sizes[d] != 1 && static_cast<std::uint64_t>(reference.strides[d]) != expected) return false;
      expected *= static_cast<std::uint64_t>(reference.sizes[d]);
    }
    return true;
  }

  // F32, row-major and aligned in a buffer someone keeps alive: no copy needed.
  loaded_tensor view_in_place(const torch_tensor_plan& tensor, std::span<const std::byte> window,
                              std::uint64_t element_count) const {
    const pickle::tensor_reference& reference = *tensor.reference;
    if (owner_ == nullptr || std::endian::native != std::endian::little ||
        tensor.type->convert != torch_storage_type::conversion::f32 || !row_major(reference))
      return {};
    const std::byte* first = window.data() + reference.storage_offset * 4;  // in the window: bounds were checked
    if (reinterpret_cast<std::uintptr_t>(first) % alignof(float) != 0) return {};
    return loaded_tensor{reference.sizes,
                         std::span<const float>(reinterpret_cast<const float*>(first), static_cast<std::size_t>(element_count)),
                         owner_};
  }

  // Walks the strided view: an odometer over the outer dimensions, a tight loop over the
  // innermost one, with the element conversion chosen once per tensor.
  template <class Convert>
  static void gather(const pickle::tensor_reference& reference, const std::byte* storage, std::size_t element_size,
                     std::span<float> out, Convert convert) {
    if (out.empty()) return;
    const std::size_t rank = reference.sizes.size();
    const auto inner_size = static_cast<std::size_t>(rank == 0 ? 1 : reference.sizes.back());
    const auto inner_stride = static_cast<std::size_t>(rank == 0 ? 0 : reference.strides.back()) * element_size;
    std::vector<std::int64_t> index(rank == 0 ? 0 : rank - 1, 0);
    auto position = static_cast<std::uint64_t>(reference.storage_offset);
    for (std::size_t done = 0; done < out.size(); done += inner_size) {
      const std::byte* element = storage + position * element_size;
      for (std::size_t i = 0; i < inner_size; ++i, element += inner_stride) out[done + i] = convert(element);
      for (std::size_t d = index.size(); d-- > 0;) {
        position += static_cast<std::uint64_t>(reference.strides[d]);
        if (++index[d] < reference.sizes[d]) break;
        position -= static_cast<std::uint64_t>(reference.strides[d]) * static_cast<std::uint64_t>(reference.sizes[d]);
        index[d] = 0;
      }
    }
  }

  loaded_tensor copy(const torch_tensor_plan& tensor, std::span<const std::byte> window, std::uint64_t element_count) {
    const pickle::tensor_reference& reference = *tensor.reference;
    if (element_count > copy_budget_)
      fail(tensor, "needs " + std::to_string(element_count) + " elements copied, more than the " +
                       std::to_string(copy_budget_) + " left of twice what the file's storages hold" +
                       " (overlapping or expanded views)");
    copy_budget_ -= element_count;
    std::vector<float> values(static_cast<std::size_t>(element_count));
    const auto load16 = [](const std::byte* element) { return static_cast<std::uint16_t>(torch_little_endian(element, 2)); };
    switch (tensor.type->convert) {
      case torch_storage_type::conversion::f16:
        gather(reference, window.data(), 2, values, [&](const std::byte* e) { return dnabert::half_to_float(load16(e)); });
        break;
      case torch_storage_type::conversion::bf16:
        gather(reference, window.data(), 2, values, [&](const std::byte* e) { return dnabert::bfloat16_to_float(load16(e)); });
        break;
      default:
        gather(reference, window.data(), 4, values, [](const std::byte* e) {
          return std::bit_cast<float>(static_cast<std::uint32_t>(torch_little_endian(e, 4)));
        });
    }
    return make_owned_tensor(reference.sizes, std::move(values));
  }

  const std::string& file_;
  std::shared_ptr<const void> owner_;
  std::uint64_t copy_budget_;
  std::map<std::size_t, loaded_tensor> done_;
};

/// Checks the storages against the plan, then builds every tensor.
inline tensor_map build_tensors(const torch_state_plan& plan, const torch_storage_bytes& storages, const std::string& file,
                                const std::shared_ptr<const void>& owner, std::vector<std::string>* skipped) {
  std::uint64_t stored_elements = 0;
  for (const auto& [key, storage] : plan.storages) stored_elements += storage.element_count;
  torch_materialiser materialiser(file, owner, 2 * stored_elements + (1U << 20));
  tensor_map tensors;
  for (const torch_tensor_plan& tensor : plan.tensors) materialiser.add(tensor, storages, tensors, skipped);
  return tensors;
}

inline tensor_map read_zip_checkpoint(std::span<const std::byte> bytes, const std::string& file,
                                      const std::shared_ptr<const void>& owner, std::vector<std::string>* skipped) {
  const zip_archive archive(bytes, file);
  const zip_entry* pickle_entry = nullptr;
  for (const zip_entry& entry : archive.entries()) {
    const std::string_view name = entry.name;
    if (name != "data.pkl" && !name.ends_with("/data.pkl")) continue;
    if (pickle_entry != nullptr)
      throw format_error(file, "archive holds both '" + pickle_entry->name + "' and '" + entry.name + "'; expected one data.pkl");
    pickle_entry = &entry;
  }
  if (pickle_entry == nullptr) throw format_error(file, "archive holds no data.pkl: not a torch.save checkpoint");
  const std::string prefix = pickle_entry->name.substr(0, pickle_entry->name.size() - std::string_view("data.pkl").size());

  if (const zip_entry* order = archive.find(prefix + "byteorder")) {
    const auto raw = archive.read(*order);
    const std::string_view text(reinterpret_cast<const char*>(raw.data()), raw.size());
    if (text != "little")
      throw format_error(file, "entry '" + order->name + "' says '" + std::string(text.substr(0, 16)) +
                                   "'; only little-endian checkpoints can be read");
  }

  const auto pickle_bytes = archive.read(*pickle_entry);
  const std::uint64_t pickle_offset = static_cast<std::uint64_t>(pickle_bytes.data() - bytes.data());
  const pickle::document document = pickle::parse(pickle_bytes, file, pickle_offset);
  const torch_state_plan plan = torch_state_reader(document, file).plan(pickle_offset);

  torch_storage_bytes storages;
  for (const auto& [key, storage] : plan.storages) {
    const zip_entry* entry = archive.find(prefix + "data/" + key);
    if (entry == nullptr) continue;  // reported with the first tensor that needs it
    const auto data = archive.read(*entry);
    if (data.size() != storage.element_count * storage.type->element_size)
      throw format_error::at_byte(file, entry->local_header_offset,
                                  "entry '" + entry->name + "' holds " + std::to_string(data.size()) + " bytes, but " +
                                      std::to_string(storage.element_count) + " elements of " +
                                      std::string(storage.type->global) + " need " +
                                      std::to_string(storage.element_count * storage.type->element_size));
    storages.emplace(key, data);
  }
  return build_tensors(plan, storages, file, owner, skipped);
}

/// Reads the legacy layout: magic number, protocol 1001, sys_info, the state dict, the list of
/// storage keys (each a pickle), then per key a u64 element count and the raw little-endian data.
class torch_legacy_reader {
 public:
  torch_legacy_reader(std::span<const std::byte> bytes, const std::string& file) : bytes_(bytes), file_(file) {}

  tensor_map read(const std::shared_ptr<const void>& owner, std::vector<std::string>* skipped) {
    check_magic(next_pickle());
    check_protocol(next_pickle());
    check_sys_info(next_pickle());
    const std::uint64_t state_offset = offset_;
    const pickle::document state = next_pickle();
    const torch_state_plan plan = torch_state_reader(state, file_).plan(state_offset);
    const std::uint64_t keys_offset = offset_;
    const pickle::document keys = next_pickle();
    if (keys.root.type != pickle::kind::list)
      throw format_error::at_byte(file_, keys_offset, "expected the list of storage keys, found a " +
                                                          std::string(pickle::kind_name(keys.root.type)));
    torch_storage_bytes storages;
    for (const pickle::value& key : keys.items(keys.root)) read_storage(keys, key, plan, storages);
    if (offset_ != bytes_.size())
      throw format_error::at_byte(file_, offset_,
                                  std::to_string(bytes_.size() - offset_) + " unexpected bytes after the last storage");
    return build_tensors(plan, storages, file_, owner, skipped);
  }

 private:
  pickle::document next_pickle() {
    pickle::document document = pickle::parse(bytes_.subspan(static_cast<std::size_t>(offset_)), file_, offset_);
    document_offset_ = offset_;
    offset_ += document.end_offset;
    return document;
  }

  void check_magic(const pickle::document& magic) const {
    // 0x1950a86a20f9469cfc6c as LONG1's little-endian bytes.
    static constexpr unsigned char expected[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
    if (magic.root.type != pickle::kind::big_integer ||
        magic.text(magic.root) != std::string_view(reinterpret_cast<const char*>(expected), sizeof expected))
      throw format_error::at_byte(file_, document_offset_,
                                  "expected the legacy torch.save magic number 0x1950a86a20f9469cfc6c");
  }

  void check_protocol(const pickle::document& protocol) const {
    if (protocol.root.type != pickle::kind::integer || protocol.root.integer != 1001)
      throw format_error::at_byte(file_, document_offset_, "expected legacy protocol version 1001");
  }

  void check_sys_info(const pickle::document& info) const {
    if (info.root.type == pickle::kind::dict)
      for (const auto& [key, item] : info.entries(info.root))
        if (key.type == pickle::kind::text && info.text(key) == "little_endian") {
          if (item.type == pickle::kind::boolean && item.integer == 1) return;
          throw format_error::at_byte(file_, document_offset_,
                                      "checkpoint was written on a big-endian machine; only little-endian can be read");
        }
    throw format_error::at_byte(file_, document_offset_, "expected sys_info, a dict with 'little_endian'");
  }

  void read_storage(const pickle::document& keys, const pickle::value& key, const torch_state_plan& plan,
                    torch_storage_bytes& storages) {
    if (key.type != pickle::kind::text)
      throw format_error::at_byte(file_, offset_, "storage key is a " + std::string(pickle::kind_name(key.type)) + ", expected text");
    const std::string& name = keys.text(key);
    const auto storage = plan.storages.find(name);
    if (storage == plan.storages.end())
      throw format_error::at_byte(file_, offset_, "storage '" + name + "' is listed but no tensor uses it");
    if (bytes_.size() - offset_ < 8)
      throw format_error::at_byte(file_, offset_, "truncated: storage '" + name + "' needs its 8-byte element count");
    const std::uint64_t count = torch_little_endian(bytes_.data() + offset_, 8);
    if (count != storage->second.element_count)
      throw format_error::at_byte(file_, offset_,
                                  "storage '" + name + "' holds " + std::to_string(count) + " elements, but its tensors say " +
                                      std::to_string(storage->second.element_count));
    offset_ += 8;
    const std::uint64_t length = count * storage->second.type->element_size;  // no overflow: checked when planned
    if (length > bytes_.size() - offset_)
      throw format_error::at_byte(file_, offset_,
                                  "truncated: storage '" + name + "' needs " + std::to_string(length) + " bytes but " +
                                      std::to_string(bytes_.size() - offset_) + " remain");
    if (!storages.emplace(name, bytes_.subspan(static_cast<std::size_t>(offset_), static_cast<std::size_t>(length))).second)
      throw format_error::at_byte(file_, offset_, "storage '" + name + "' is listed twice");
    offset_ += length;
  }

  std::span<const std::byte> bytes_;
  const std::string& file_;
  std::uint64_t offset_ = 0;
  std::uint64_t document_offset_ = 0;
};

}  // namespace detail

/// Reads a torch.save checkpoint held in memory, telling the ZIP form (`PK\3\4`) from the
/// legacy one (`\x80\x02`, or `\x80` and 3..5 when a higher pickle protocol was asked for).
/// Integer and f64 tensors are left out and, when `skipped` is given, their names appended to
/// it. F32 tensors view `bytes` in place when `owner` keeps those bytes alive.
[[nodiscard]] inline tensor_map read_torch_checkpoint(std::span<const std::byte> bytes, const std::string& name,
                                                      std::vector<std::string>* skipped = nullptr,
                                                      const std::shared_ptr<const void>& owner = nullptr) {
  const auto byte_at = [&](std::size_t i) { return i < bytes.size() ? std::to_integer<unsigned>(bytes[i]) : 256U; };
  if (byte_at(0) == 'P' && byte_at(1) == 'K' && byte_at(2) == 3 && byte_at(3) == 4)
    return detail::read_zip_checkpoint(bytes, name, owner, skipped);
  if (byte_at(0) == 0x80 && byte_at(1) >= 2 && byte_at(1) <= 5)
    return detail::torch_legacy_reader(bytes, name).read(owner, skipped);
  throw format_error::at_byte(name, 0,
                              "not a PyTorch checkpoint: expected 'PK\\3\\4' (zip, torch >= 1.6) or '\\x80\\x02' "
                              "(legacy pickle) at the start");
}

/// Maps `path` and reads the checkpoint in it; F32 tensors stay in the map without a copy.
[[nodiscard]] inline tensor_map read_torch_checkpoint(const std::string& path, std::vector<std::string>* skipped = nullptr) {
  const auto file = map_file(path);
  return read_torch_checkpoint(file->bytes(), path, skipped, file);
}

}  // namespace dnabert::io
