#pragma once
// A restricted pickle reader for PyTorch state dicts: it runs only the opcodes and globals a
// state dict uses, builds plain data, and never imports or calls anything.

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dnabert/core/error.hpp"

namespace dnabert::io::pickle {

/// What a pickle value is.
enum class kind : std::uint8_t {
  none,
  boolean,
  integer,
  real,
  text,
  bytes,
  big_integer,  // more than 8 bytes: kept as its raw little-endian two's-complement bytes
  tuple,
  list,
  dict,
  global,         // an allow-listed "module.name"
  persistent_id,  // the tuple torch's pickler put in place of a storage
  tensor,         // the result of torch._utils._rebuild_tensor_v2
};

/// Name of a kind, for messages ("expected a tuple, found text").
[[nodiscard]] inline std::string_view kind_name(kind what) noexcept {
  constexpr std::string_view names[] = {"None", "bool",   "int",  "float",  "text",          "bytes", "big int",
                                        "tuple", "list", "dict", "global", "persistent id", "tensor"};
  return names[static_cast<std::size_t>(what)];
}

/// A value; compound values (and all text) are indices into the document that owns them, so
/// copying a value is cheap and a self-referencing pickle cannot leak or recurse.
struct value {
  kind type = kind::none;
  std::int64_t integer = 0;  // boolean (0 or 1) and integer
  double real = 0.0;
  std::size_t index = 0;  // text, bytes, big_integer, global: texts; tuple, list, persistent_id: sequences
                          // dict: dicts; tensor: tensors
};

/// Arguments of one `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])`.
struct tensor_reference {
  value storage;  // a persistent_id
  std::int64_t storage_offset = 0;
  std::vector<std::int64_t> sizes;
  std::vector<std::int64_t> strides;
  std::uint64_t source_offset = 0;  // where the REDUCE that built it sits, for error messages
};

/// Caps on the work one pickle may cause; the defaults fit any real state dict.
struct limits {
  std::uint64_t max_bytes = 64ULL << 20;
  std::uint64_t max_opcodes = 1'000'000;
  std::size_t max_stack = 1'000'000;  // values on the stack, marks, and memo entries
  std::size_t max_long_bytes = 16;
  std::size_t max_rank = 64;
};

/// Everything one pickle built, plus where it ended.
class document {
 public:
  /// The object the pickle stored (the value on the stack at STOP).
  value root;
  /// Offset just past STOP, relative to the start of the bytes given to `parse`.
  std::uint64_t end_offset = 0;

  /// Characters of a text, bytes, big_integer (raw little-endian) or global ("module.name").
  [[nodiscard]] const std::string& text(const value& of) const {
    expect(of, {kind::text, kind::bytes, kind::big_integer, kind::global});
    return texts_[of.index];
  }
  /// Items of a tuple, list or persistent id.
  [[nodiscard]] std::span<const value> items(const value& of) const {
    expect(of, {kind::tuple, kind::list, kind::persistent_id});
    return sequences_[of.index];
  }
  /// Key/value pairs of a dict, in insertion order (duplicates kept, as written).
  [[nodiscard]] std::span<const std::pair<value, value>> entries(const value& of) const {
    expect(of, {kind::dict});
    return dicts_[of.index];
  }
  /// The arguments a tensor was rebuilt from.
  [[nodiscard]] const tensor_reference& tensor(const value& of) const {
    expect(of, {kind::tensor});
    return tensors_[of.index];
  }

 private:
  friend class machine;

  static void expect(const value& of, std::initializer_list<kind> allowed) {
    for (const kind each : allowed)
      if (of.type == each) return;
    throw std::invalid_argument("pickle::document: accessor does not apply to a " + std::string(kind_name(of.type)));
  }

  std::vector<std::string> texts_;
  std::vector<std::vector<value>> sequences_;
  std::vector<std::vector<std::pair<value, value>>> dicts_;
  std::vector<tensor_reference> tensors_;
};

/// Globals a state dict may name; every other one is refused before anything could run.
inline constexpr std::string_view allowed_globals[] = {
    "collections.OrderedDict",     "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
    "torch.FloatStorage",          "torch.HalfStorage",               "torch.BFloat16Storage",
    "torch.DoubleStorage",         "torch.LongStorage",               "torch.IntStorage",
    "torch.ShortStorage",          "torch.CharStorage",               "torch.ByteStorage",
    "torch.BoolStorage",
};

/// The pickle virtual machine, restricted to plain data and the allow-listed globals.
class machine {
 public:
  /// Prepares to read one pickle from `bytes`; errors name `file` and offsets start at `base_offset`.
  machine(std::span<const std::byte> bytes, std::string file, std::uint64_t base_offset = 0, limits caps = {})
      : bytes_(bytes.first(static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size(), caps.max_bytes)))),
        truncated_by_cap_(bytes.size() > caps.max_bytes),
        file_(std::move(file)),
        base_(base_offset),
        caps_(caps) {}

  /// Runs opcodes up to and including STOP and returns what was built.
  [[nodiscard]] document run() {
    for (std::uint64_t executed = 0;; ++executed) {
      opcode_offset_ = position_;
      if (executed == caps_.max_opcodes) fail("pickle runs more than " + std::to_string(caps_.max_opcodes) + " opcodes");
      const auto opcode = static_cast<std::uint8_t>(take(1, "an opcode")[0]);
      if (opcode == '.') break;
      step(opcode);
    }
    if (stack_.size() != 1 || !marks_.empty())
      fail("STOP with " + std::to_string(stack_.size()) + " values and " + std::to_string(marks_.size()) +
           " marks on the stack; expected exactly one value");
    result_.root = stack_.back();
    result_.end_offset = position_;
    return std::move(result_);
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw format_error::at_byte(file_, base_ + opcode_offset_, what);
  }

  std::span<const std::byte> take(std::uint64_t count, std::string_view what) {
    if (count > bytes_.size() - position_) {
      if (truncated_by_cap_) fail("pickle is larger than the cap of " + std::to_string(caps_.max_bytes) + " bytes");
      fail("truncated pickle: " + std::string(what) + " needs " + std::to_string(count) + " bytes but " +
           std::to_string(bytes_.size() - position_) + " remain" + (what == "an opcode" ? " (no STOP)" : ""));
    }
    const auto taken = bytes_.subspan(static_cast<std::size_t>(position_), static_cast<std::size_t>(count));
    position_ += count;
    return taken;
  }

  std::uint64_t take_unsigned(std::size_t width, std::string_view what) {
    const auto raw = take(width, what);
    std::uint64_t result = 0;
    for (std::size_t i = 0; i < width; ++i) result |= static_cast<std::uint64_t>(raw[i]) << (8 * i);
    return result;
  }

  std::string_view take_line(std::string_view what) {
    const auto* start = reinterpret_cast<const char*>(bytes_.data()) + position_;
    const std::string_view rest(start, static_cast<std::size_t>(bytes_.size() - position_));
    const auto newline = rest.find('\n');
    if (newline == std::string_view::npos) take(rest.size() + 1, what);  // reports the truncation
    position_ += newline + 1;
    return rest.substr(0, newline);
  }

  void push(const value& item) {
    if (stack_.size() >= caps_.max_stack) fail("pickle stack deeper than " + std::to_string(caps_.max_stack));
    stack_.push_back(item);
  }

  [[nodiscard]] std::size_t floor() const noexcept { return marks_.empty() ? 0 : marks_.back(); }

  void need(std::size_t count, std::string_view opcode) const {
    if (stack_.size() - floor() < count)
      fail("stack underflow: " + std::string(opcode) + " needs " + std::to_string(count) + " values, " +
           std::to_string(stack_.size() - floor()) + " available");
  }

  value pop(std::string_view opcode) {
    need(1, opcode);
    const value top = stack_.back();
    stack_.pop_back();
    return top;
  }

  // Removes everything above the newest mark, and the mark, returning the removed values.
  std::vector<value> pop_to_mark(std::string_view opcode) {
    if (marks_.empty()) fail(std::string(opcode) + " without a MARK");
    const auto first = stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back());
    std::vector<value> items(first, stack_.end());
    stack_.erase(first, stack_.end());
    marks_.pop_back();
    return items;
  }

  value make_text(kind type, std::string text) {
    result_.texts_.push_back(std::move(text));
    return value{type, 0, 0.0, result_.texts_.size() - 1};
  }

  value make_sequence(kind type, std::vector<value> items) {
    result_.sequences_.push_back(std::move(items));
    return value{type, 0, 0.0, result_.sequences_.size() - 1};
  }

  value make_dict() {
    result_.dicts_.emplace_back();
    return value{kind::dict, 0, 0.0, result_.dicts_.size() - 1};
  }

  value make_sized_text(kind type, std::size_t length_width, std::string_view opcode) {
    const std::uint64_t length = take_unsigned(length_width, opcode);
    const auto raw = take(length, opcode);
    return make_text(type, std::string(reinterpret_cast<const char*>(raw.data()), raw.size()));
  }

  value make_integer(std::int64_t number) { return value{kind::integer, number, 0.0, 0}; }

  // LONG1: up to max_long_bytes of little-endian two's complement; up to 8 fit an int64.
  value make_long(std::string_view opcode) {
    const std::uint64_t length = take_unsigned(1, opcode);
    if (length > caps_.max_long_bytes)
      fail("LONG1 of " + std::to_string(length) + " bytes exceeds the " + std::to_string(caps_.max_long_bytes) +
           "-byte cap");
    const auto raw = take(length, opcode);
    if (length > 8) return make_text(kind::big_integer, std::string(reinterpret_cast<const char*>(raw.data()), raw.size()));
    std::uint64_t bits = 0;
    for (std::size_t i = 0; i < raw.size(); ++i) bits |= static_cast<std::uint64_t>(raw[i]) << (8 * i);
    if (length > 0 && length < 8 && (static_cast<std::uint8_t>(raw[length - 1]) & 0x80U) != 0)
      bits |= ~std::uint64_t{0} << (8 * length);  // sign-extend
    return make_integer(static_cast<std::int64_t>(bits));
  }

  void memo_put(std::uint64_t key) {
    need(1, "memo store");
    if (memo_.size() >= caps_.max_stack && !memo_.contains(key))
      fail("pickle memo holds more than " + std::to_string(caps_.max_stack) + " entries");
    memo_[key] = stack_.back();
  }

  void memo_get(std::uint64_t key) {
    const auto found = memo_.find(key);
    if (found == memo_.end())
      fail("memo index " + std::to_string(key) + " out of range: it was never stored (memo holds " +
           std::to_string(memo_.size()) + " entries)");
    push(found->second);
  }

  void global(std::string module, std::string_view name) {
    std::string full = std::move(module);
    full.append(".").append(name);
    for (const std::string_view allowed : allowed_globals)
      if (full == allowed) return push(make_text(kind::global, std::move(full)));
    fail("refusing pickle global '" + full + "': only the globals a state dict uses are allowed");
  }

  void append_to_list(std::vector<value> items, std::string_view opcode) {
    need(1, opcode);
    const value target = stack_.back();
    if (target.type != kind::list) fail(std::string(opcode) + " on a " + std::string(kind_name(target.type)) + ", expected a list");
    auto& list = result_.sequences_[target.index];
    list.insert(list.end(), items.begin(), items.end());
  }

  void set_items(const std::vector<value>& items, std::string_view opcode) {
    if (items.size() % 2 != 0) fail(std::string(opcode) + " with an odd number of values (" + std::to_string(items.size()) + ")");
    need(1, opcode);
    const value target = stack_.back();
    if (target.type != kind::dict) fail(std::string(opcode) + " on a " + std::string(kind_name(target.type)) + ", expected a dict");
    auto& dict = result_.dicts_[target.index];
    for (std::size_t i = 0; i < items.size(); i += 2) dict.emplace_back(items[i], items[i + 1]);
  }

  [[nodiscard]] std::int64_t expect_integer(const value& item, std::string_view what) const {
    if (item.type != kind::integer) fail(std::string(what) + " must be an int, found " + std::string(kind_name(item.type)));
    return item.integer;
  }

  [[nodiscard]] std::vector<std::int64_t> expect_shape(const value& item, std::string_view what) const {
    if (item.type != kind::tuple) fail(std::string(what) + " must be a tuple, found " + std::string(kind_name(item.type)));
    const auto& items = result_.sequences_[item.index];
    if (items.size() > caps_.max_rank)
      fail(std::string(what) + " has " + std::to_string(items.size()) + " dimensions, more than " +
           std::to_string(caps_.max_rank));
    std::vector<std::int64_t> shape;
    for (const value& each : items) {
      shape.push_back(expect_integer(each, what));
      if (shape.back() < 0) fail(std::string(what) + " holds the negative value " + std::to_string(shape.back()));
    }
    return shape;
  }

  value rebuild_tensor(const std::vector<value>& args) {
    if (args.size() != 6 && args.size() != 7)
      fail("_rebuild_tensor_v2 takes 6 or 7 arguments, found " + std::to_string(args.size()));
    if (args[0].type != kind::persistent_id)
      fail("_rebuild_tensor_v2 storage must be a persistent id, found " + std::string(kind_name(args[0].type)));
    tensor_reference tensor{args[0], expect_integer(args[1], "storage offset"), expect_shape(args[2], "tensor size"),
                            expect_shape(args[3], "tensor stride"), base_ + opcode_offset_};
    if (tensor.storage_offset < 0) fail("negative storage offset " + std::to_string(tensor.storage_offset));
    if (tensor.sizes.size() != tensor.strides.size())
      fail("tensor has " + std::to_string(tensor.sizes.size()) + " sizes but " + std::to_string(tensor.strides.size()) +
           " strides");
    if (args[4].type != kind::boolean) fail("requires_grad must be a bool, found " + std::string(kind_name(args[4].type)));
    result_.tensors_.push_back(std::move(tensor));
    return value{kind::tensor, 0, 0.0, result_.tensors_.size() - 1};
  }

  // Calls one allow-listed global; none of these runs code, each just builds data.
  void reduce() {
    const value arguments = pop("REDUCE");
    const value callable = pop("REDUCE");
    if (callable.type != kind::global) fail("REDUCE on a " + std::string(kind_name(callable.type)) + ", expected a global");
    if (arguments.type != kind::tuple) fail("REDUCE arguments must be a tuple, found " + std::string(kind_name(arguments.type)));
    const std::string& name = result_.texts_[callable.index];
    const std::vector<value> args = result_.sequences_[arguments.index];
    if (name == "collections.OrderedDict" && args.empty()) return push(make_dict());
    if (name == "torch._utils._rebuild_tensor_v2") return push(rebuild_tensor(args));
    if (name == "torch._utils._rebuild_parameter" && !args.empty() && args[0].type == kind::tensor) return push(args[0]);
    fail("cannot call " + name + " with " + std::to_string(args.size()) + " arguments");
  }

  // BUILD sets attributes; on an OrderedDict (state_dict's `_metadata`) they carry nothing we read.
  void build() {
    pop("BUILD");  // the attribute state, which nothing here reads
    need(1, "BUILD");
    if (stack_.back().type != kind::dict)
      fail("BUILD on a " + std::string(kind_name(stack_.back().type)) + "; only dicts may be built");
  }

  void step(std::uint8_t opcode) {
    switch (opcode) {
      case 0x80: {  // PROTO
        const std::uint64_t protocol = take_unsigned(1, "PROTO");
        if (protocol < 2 || protocol > 5) fail("unsupported pickle protocol " + std::to_string(protocol));
        return;
      }
      case 0x95: take_unsigned(8, "FRAME"); return;  // frames only group opcodes
      case 'c': {  // GLOBAL
        std::string module(take_line("GLOBAL module"));
        return global(std::move(module), take_line("GLOBAL name"));
      }
      case 0x93: {  // STACK_GLOBAL
        const value name = pop("STACK_GLOBAL");
        const value module = pop("STACK_GLOBAL");
        if (name.type != kind::text || module.type != kind::text) fail("STACK_GLOBAL needs two texts");
        return global(result_.texts_[module.index], result_.texts_[name.index]);
      }
      case '}': return push(make_dict());
      case ')': return push(make_sequence(kind::tuple, {}));
      case ']': return push(make_sequence(kind::list, {}));
      case '(':
        if (marks_.size() >= caps_.max_stack) fail("more than " + std::to_string(caps_.max_stack) + " marks");
        marks_.push_back(stack_.size());
        return;
      case 't': return push(make_sequence(kind::tuple, pop_to_mark("TUPLE")));
      case 0x85:
      case 0x86:
      case 0x87: {  // TUPLE1, TUPLE2, TUPLE3
        const std::size_t count = opcode - 0x84U;
        need(count, "TUPLEn");
        std::vector<value> items(stack_.end() - static_cast<std::ptrdiff_t>(count), stack_.end());
        stack_.resize(stack_.size() - count);
        return push(make_sequence(kind::tuple, std::move(items)));
      }
      case 'X': return push(make_sized_text(kind::text, 4, "BINUNICODE"));
      case 0x8c: return push(make_sized_text(kind::text, 1, "SHORT_BINUNICODE"));
      case 0x8d: return push(make_sized_text(kind::text, 8, "BINUNICODE8"));
      case 'T': return push(make_sized_text(kind::text, 4, "BINSTRING"));  // Python 2 str
      case 'U': return push(make_sized_text(kind::text, 1, "SHORT_BINSTRING"));
      case 'B': return push(make_sized_text(kind::bytes, 4, "BINBYTES"));
      case 'C': return push(make_sized_text(kind::bytes, 1, "SHORT_BINBYTES"));
      case 0x8e: return push(make_sized_text(kind::bytes, 8, "BINBYTES8"));
      case 'J': return push(make_integer(static_cast<std::int32_t>(take_unsigned(4, "BININT"))));
      case 'K': return push(make_integer(static_cast<std::int64_t>(take_unsigned(1, "BININT1"))));
      case 'M': return push(make_integer(static_cast<std::int64_t>(take_unsigned(2, "BININT2"))));
      case 0x8a: return push(make_long("LONG1"));
      case 'N': return push(value{});
      case 0x88: return push(value{kind::boolean, 1, 0.0, 0});
      case 0x89: return push(value{kind::boolean, 0, 0.0, 0});
      case 'G': {  // BINFLOAT: big-endian IEEE double
        const auto raw = take(8, "BINFLOAT");
        std::uint64_t bits = 0;
        for (const std::byte each : raw) bits = (bits << 8) | static_cast<std::uint64_t>(each);
        return push(value{kind::real, 0, std::bit_cast<double>(bits), 0});
      }
      case 'q': return memo_put(take_unsigned(1, "BINPUT"));
      case 'r': return memo_put(take_unsigned(4, "LONG_BINPUT"));
      case 0x94: return memo_put(memo_.size());  // MEMOIZE
      case 'h': return memo_get(take_unsigned(1, "BINGET"));
      case 'j': return memo_get(take_unsigned(4, "LONG_BINGET"));
      case 'Q': {  // BINPERSID
        const value id = pop("BINPERSID");
        if (id.type != kind::tuple) fail("persistent id must be a tuple, found " + std::string(kind_name(id.type)));
        return push(value{kind::persistent_id, 0, 0.0, id.index});
      }
      case 'R': return reduce();
      case 's': {  // SETITEM
        const value item = pop("SETITEM");
        const value key = pop("SETITEM");
        return set_items({key, item}, "SETITEM");
      }
      case 'u': return set_items(pop_to_mark("SETITEMS"), "SETITEMS");
      case 'a': {
        const value item = pop("APPEND");
        return append_to_list({item}, "APPEND");
      }
      case 'e': return append_to_list(pop_to_mark("APPENDS"), "APPENDS");
      case 'b': return build();
      default: {
        char hex[5];
        constexpr char digits[] = "0123456789abcdef";
        hex[0] = '0', hex[1] = 'x', hex[2] = digits[opcode >> 4], hex[3] = digits[opcode & 15U], hex[4] = '\0';
        fail(std::string("unknown or unsupported pickle opcode ") + hex);
      }
    }
  }

  std::span<const std::byte> bytes_;
  bool truncated_by_cap_;
  std::string file_;
  std::uint64_t base_;
  limits caps_;
  std::uint64_t position_ = 0;
  std::uint64_t opcode_offset_ = 0;
  std::vector<value> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, value> memo_;
  document result_;
};

/// Reads one pickle from the start of `bytes` (more may follow; see document::end_offset).
[[nodiscard]] inline document parse(std::span<const std::byte> bytes, std::string file, std::uint64_t base_offset = 0,
                                    limits caps = {}) {
  return machine(bytes, std::move(file), base_offset, caps).run();
}

}  // namespace dnabert::io::pickle
