// dnabert._core: the C++ engine as a Python extension (nanobind). The Pythonic API over it is
// python/dnabert/__init__.py. Here: the exceptions, the tokenizer and the FASTA reader.

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <dnabert/core/error.hpp>
#include <dnabert/core/vocabulary.hpp>
#include <dnabert/io/fasta.hpp>
#include <dnabert/io/tokenizer_json.hpp>
#include <dnabert/model/classifier.hpp>
#include <dnabert/tokenizer/bpe_tokenizer.hpp>
#include <dnabert/tokenizer/kmer_tokenizer.hpp>

#include "arrays.hpp"
#include "bindings.hpp"
#include "sequence_letters.hpp"

namespace dnabert::python {

namespace {

// dnabert's exceptions as Python's: a file that cannot be opened is OSError with its errno (so
// FileNotFoundError, IsADirectoryError, ...), a malformed file FormatError (a ValueError that
// names the file), bad input or a model that cannot do what is asked ValueError, what else the
// system refused (a file that cannot be written) OSError; the C++ message unchanged.
void translate_errors(nb::module_& m) {
  static nb::object format_error_type =
      nb::steal(PyErr_NewExceptionWithDoc("dnabert.FormatError", "A malformed input file; the message names the file and where.",
                                          PyExc_ValueError, nullptr));
  m.attr("FormatError") = format_error_type;
  nb::register_exception_translator([](const std::exception_ptr& thrown, void*) {
    try {
      std::rethrow_exception(thrown);
    } catch (const file_error& e) {  // OSError(errno, message, file): FileNotFoundError for ENOENT, ...
      PyObject* raised = PyObject_CallFunction(PyExc_OSError, "isO", e.error_number(), e.what(),
                                               nb::str(e.file().c_str()).ptr());
      if (raised != nullptr) {
        PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(raised)), raised);
        Py_DECREF(raised);
      }
    } catch (const format_error& e) {
      PyErr_SetString(format_error_type.ptr(), e.what());
    } catch (const input_error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const config_error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const shape_error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const untrained_model_error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const error& e) {
      PyErr_SetString(PyExc_OSError, e.what());
    }
  });
}

// Token ids as an int32 array.
nb::ndarray<nb::numpy, std::int32_t> id_array(std::vector<token_id>&& ids) {
  const std::size_t count = ids.size();
  return owned_array(std::vector<std::int32_t>(std::move(ids)), {count});
}

// One token id array per call: [CLS] k-mers [SEP] (add_special_tokens), else the k-mers alone.
nb::ndarray<nb::numpy, std::int32_t> encode(const kmer_tokenizer& tokenizer, const std::string& sequence,
                                            bool add_special_tokens) {
  check_sequence_letters(sequence, "sequence");
  auto kmers = tokenizer.kmer_ids(sequence);
  if (!add_special_tokens) return id_array(std::move(kmers));
  std::vector<token_id> ids{special::cls};
  ids.insert(ids.end(), kmers.begin(), kmers.end());
  ids.push_back(special::sep);
  return id_array(std::move(ids));
}

std::string decode(const kmer_tokenizer& tokenizer, const std::vector<std::int64_t>& ids, bool skip_special_tokens) {
  std::vector<token_id> kept;
  for (const auto id : ids) {
    if (id < 0 || id >= tokenizer.vocab_size())
      throw input_error("token id " + std::to_string(id) + " is outside the k=" + std::to_string(tokenizer.k()) + " vocabulary");
    if (skip_special_tokens && id < special::count) continue;
    kept.push_back(static_cast<token_id>(id));
  }
  return tokenizer.decode(kept);
}

std::vector<std::string> vocabulary(const kmer_tokenizer& tokenizer) {
  std::vector<std::string> tokens(static_cast<std::size_t>(tokenizer.vocab_size()));
  for (token_id id = 0; id < tokenizer.vocab_size(); ++id) tokens[static_cast<std::size_t>(id)] = token_text(tokenizer.k(), id);
  return tokens;
}

// Python's iterator over a FASTA file's records; reading releases the GIL.
class fasta_iterator {
 public:
  explicit fasta_iterator(const std::string& path) : reader_(std::make_unique<io::fasta_reader>(path)) {}

  nb::tuple next() {
    io::fasta_record record;
    bool found = false;
    {
      nb::gil_scoped_release unlocked;
      found = reader_ && reader_->next(record);
    }
    if (!found) {
      reader_.reset();  // closes the file as soon as it is read
      throw nb::stop_iteration();
    }
    return nb::make_tuple(record.id, record.sequence, record.description);
  }

 private:
  std::unique_ptr<io::fasta_reader> reader_;
};

}  // namespace

/// Fills the module: the exceptions, the tokenizer, the FASTA reader, then the other parts.
void bind_module(nb::module_& m) {
  m.doc() = "dnabert's C++ engine; use the dnabert package, which wraps it.";
  translate_errors(m);

  nb::class_<kmer_tokenizer>(m, "KmerTokenizer", "DNABERT's tokenizer: overlapping k-mers, ids as in its vocab.txt.")
      .def(nb::init<int>(), nb::arg("k"), "The tokenizer of k-mer size k (1 to 15; DNABERT's are 3 to 6).")
      .def_prop_ro("k", &kmer_tokenizer::k, "The k-mer size.")
      .def_prop_ro("vocab_size", &kmer_tokenizer::vocab_size, "4^k + 5 tokens.")
      .def_prop_ro("vocab", &vocabulary, "The tokens in id order, as DNABERT's vocab.txt lists them.")
      .def("encode", &encode, nb::arg("sequence"), nb::arg("add_special_tokens") = true,
           "Token ids (int32) of every k-mer of `sequence`, in [CLS] ... [SEP] unless add_special_tokens=False; a "
           "k-mer with a letter other than A/C/G/T (either case) is [UNK]. No cut: the model cuts at 510 k-mers.")
      .def("decode", &decode, nb::arg("ids"), nb::arg("skip_special_tokens") = false,
           "The tokens of `ids` spelled out, separated by spaces (DNABERT's k-mer sentence).");

  nb::class_<bpe_tokenizer>(m, "BpeTokenizer",
                            "DNABERT-2's tokenizer: BPE from a tokenizer.json, with the ids of Hugging Face's tokenizers library.")
      .def("__init__", [](bpe_tokenizer* self, const std::string& path) { new (self) bpe_tokenizer(io::read_tokenizer_json(path)); },
           nb::arg("path"), "Reads the tokenizer.json at `path` (refusing one that would tokenize otherwise than DNABERT-2's).")
      .def_prop_ro("vocab_size", &bpe_tokenizer::vocab_size, "Tokens in the vocabulary.")
      .def_prop_ro("vocab", [](const bpe_tokenizer& t) { return t.vocabulary().tokens; }, "The tokens in id order.")
      .def(
          "encode",
          [](const bpe_tokenizer& t, const std::string& text, bool add_special_tokens) {
            return id_array(add_special_tokens ? t.encode(text) : t.token_ids(text));
          },
          nb::arg("text"), nb::arg("add_special_tokens") = true,
          "Token ids (int32) of `text`, in [CLS] ... [SEP] unless add_special_tokens=False; case kept (DNABERT-2's "
          "vocabulary is upper case: lower-case letters are [UNK]).")
      .def(
          "decode",
          [](const bpe_tokenizer& t, const std::vector<std::int64_t>& ids) {
            std::string text;
            for (const auto id : ids) {
              if (id < 0 || id >= t.vocab_size()) throw input_error("token id " + std::to_string(id) + " is outside the BPE vocabulary");
              text += (text.empty() ? "" : " ") + t.token_text(static_cast<token_id>(id));
            }
            return text;
          },
          nb::arg("ids"), "The tokens of `ids`, separated by spaces.");

  nb::class_<fasta_iterator>(m, "FastaReader", "The records of a FASTA file (plain or gzip), one at a time.")
      .def(nb::init<const std::string&>(), nb::arg("path"))
      .def("__iter__", [](nb::handle self) { return self; })
      .def("__next__", &fasta_iterator::next, "The next record as (id, sequence, description).");

  bind_model(m);
  bind_commands(m);
}

}  // namespace dnabert::python

NB_MODULE(_core, m) { dnabert::python::bind_module(m); }
