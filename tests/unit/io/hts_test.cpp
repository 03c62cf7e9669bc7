// The htslib component (dnabert::hts): indexed FASTA and VCF reading/writing on the real C. elegans
// and soft-masked chr17 sequences Debian ships, with VCFs synthesised against them (every bad case
// of formats.md's list), scored end to end against tests/reference/make_variant_goldens.py.
// Compiled only in builds with htslib (DNABERT_WITH_HTSLIB, set by linking dnabert::hts).
#ifdef DNABERT_WITH_HTSLIB
#include <doctest/doctest.h>
#include <htslib/bgzf.h>
#include <sys/stat.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "dnabert/cpu.hpp"
#include "dnabert/analysis/variant_effects.hpp"
#include "dnabert/io/hts/indexed_fasta.hpp"
#include "dnabert/io/hts/vcf.hpp"
#include "test_paths.hpp"
#include "variant_fixtures.hpp"

namespace io_hts_test {

namespace {

namespace fs = std::filesystem;
namespace hts = dnabert::io::hts;
namespace analysis = dnabert::analysis;
using analysis::variant_issue;

// A copy of a Debian FASTA in a scratch directory (faidx writes the .fai beside it).
std::string scratch_copy(const std::string& fasta, const fs::path& dir) {
  const fs::path copy = dir / fs::path(dnabert::test::debian_fasta(fasta)).filename();
  fs::copy_file(dnabert::test::debian_fasta(fasta), copy, fs::copy_options::overwrite_existing);
  return copy.string();
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  REQUIRE(out.good());
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Compresses `text` into a BGZF file with htslib.
void write_bgzf(const fs::path& path, const std::string& text) {
  BGZF* out = bgzf_open(path.c_str(), "w");
  REQUIRE(out != nullptr);
  REQUIRE(bgzf_write(out, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  REQUIRE(bgzf_close(out) == 0);
}

const std::string vcf_header =
    "##fileformat=VCFv4.2\n"
    "##source=dnabert-test\n"
    "##contig=<ID=CHROMOSOME_I,length=1009800>\n"
    "##contig=<ID=CHROMOSOME_II,length=5000>\n"
    "##INFO=<ID=DP,Number=1,Type=Integer,Description=\"Depth\">\n"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n";

// Every record of a VCF.
std::vector<hts::vcf_record> read_all(const std::string& path) {
  hts::vcf_reader reader(path);
  std::vector<hts::vcf_record> records;
  for (hts::vcf_record record; reader.next(record);) records.push_back(record);
  return records;
}

}  // namespace

TEST_CASE("indexed FASTA: builds the .fai, lists contigs, fetches the real C. elegans sequence") {
  const auto dir = dnabert::test::scratch_dir("hts_fasta");
  const std::string path = scratch_copy("ce", dir);
  const hts::indexed_fasta fasta(path);
  CHECK(fs::exists(path + ".fai"));
  const auto contigs = fasta.contigs();
  REQUIRE(contigs.size() == 7);
  CHECK(contigs[0].name == "CHROMOSOME_I");
  CHECK(contigs[0].length == 1009800);
  CHECK(contigs[6].name == "CHROMOSOME_MtDNA");
  CHECK(contigs[6].length == 5000);
  CHECK(fasta.contig_length("CHROMOSOME_II") == 5000);
  CHECK_FALSE(fasta.contig_length("chrI"));
  const auto ours = dnabert::test::read_contigs(path);
  CHECK(fasta.fetch("CHROMOSOME_I", 0, 60) == ours.at("CHROMOSOME_I").substr(0, 60));
  CHECK(fasta.fetch("CHROMOSOME_I", 1009700, 1009800) == ours.at("CHROMOSOME_I").substr(1009700));
  CHECK(fasta.fetch("CHROMOSOME_X", 4990, 5000) == ours.at("CHROMOSOME_X").substr(4990));
  CHECK(fasta.fetch("CHROMOSOME_X", 7, 7).empty());
  CHECK_THROWS_WITH_AS((void)fasta.fetch("CHROMOSOME_X", 4990, 5001),
                       doctest::Contains("region [4990, 5001) is outside contig 'CHROMOSOME_X' of 5000 nt"), dnabert::input_error);
  CHECK_THROWS_WITH_AS((void)fasta.fetch("chrX", 0, 1), doctest::Contains("ce.fa: has no contig 'chrX'"), dnabert::format_error);
}

TEST_CASE("indexed FASTA: soft-masked chr17 comes back as written, one 40,000-nt line") {
  const auto dir = dnabert::test::scratch_dir("hts_chr17");
  const hts::indexed_fasta fasta(scratch_copy("chr17", dir));
  CHECK(fasta.contig_length("chr17") == 40000);
  CHECK(fasta.fetch("chr17", 300, 306) == "GTGcct");  // soft-masking starts at 303
}

TEST_CASE("indexed FASTA: BGZF with its .gzi, plain gzip refused, stale index rebuilt, missing file named") {
  const auto dir = dnabert::test::scratch_dir("hts_bgzf");
  const std::string text = read_text(dnabert::test::debian_fasta("ce"));
  write_bgzf(dir / "ce.fa.gz", text);
  const hts::indexed_fasta bgzf((dir / "ce.fa.gz").string());
  CHECK(fs::exists(dir / "ce.fa.gz.gzi"));
  const auto ours = dnabert::test::read_contigs(dnabert::test::debian_fasta("ce"));
  CHECK(bgzf.fetch("CHROMOSOME_I", 500000, 500100) == ours.at("CHROMOSOME_I").substr(500000, 100));

  // Plain gzip (what `gzip` writes) cannot be indexed.
  {
    dnabert::io::atomic_file_writer gz((dir / "plain.fa.gz").string());
    const std::array<unsigned char, 20> empty_gzip{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    gz.write(std::as_bytes(std::span<const unsigned char>(empty_gzip)));
    gz.commit();
  }
  CHECK_THROWS_WITH_AS(hts::indexed_fasta((dir / "plain.fa.gz").string()),
                       doctest::Contains("plain.fa.gz: is compressed with plain gzip, which cannot be indexed"),
                       dnabert::format_error);

  // A FASTA rewritten after indexing (other line width): the old .fai would fetch wrong bases.
  write_text(dir / "small.fa", ">a\nACGTACGTAC\nGGGGG\n");
  CHECK(hts::indexed_fasta((dir / "small.fa").string()).fetch("a", 8, 12) == "ACGG");
  write_text(dir / "small.fa", ">a\nACGTA\nCGTAC\nTTTTT\n");
  const auto later = fs::last_write_time(dir / "small.fa.fai") + std::chrono::seconds(5);
  fs::last_write_time(dir / "small.fa", later);
  CHECK(hts::indexed_fasta((dir / "small.fa").string()).fetch("a", 8, 12) == "ACTT");

  CHECK_THROWS_WITH_AS(hts::indexed_fasta((dir / "absent.fa").string()), doctest::Contains("absent.fa: no such FASTA file"),
                       dnabert::format_error);
  write_text(dir / "ragged.fa", ">a\nACGTACGTAC\nGG\nGGGGG\n");
  CHECK_THROWS_WITH_AS(hts::indexed_fasta((dir / "ragged.fa").string()),
                       doctest::Contains("ragged.fa: cannot build the faidx index"), dnabert::format_error);
}

TEST_CASE("VCF reader: multi-allelic records, IDs, missing ALT, POS 0, plain and BGZF, bad files named") {
  const auto dir = dnabert::test::scratch_dir("hts_vcf_read");
  const std::string body =
      "CHROMOSOME_I\t100\trs1\tT\tG,C\t.\tPASS\tDP=3\n"
      "CHROMOSOME_I\t0\t.\tA\t.\t.\t.\t.\n"
      "CHROMOSOME_II\t5\t.\tACG\tA,<DEL>\t.\t.\t.\n";
  write_text(dir / "in.vcf", vcf_header + body);
  write_bgzf(dir / "in.vcf.gz", vcf_header + body);
  for (const auto* name : {"in.vcf", "in.vcf.gz"}) {
    CAPTURE(name);
    const auto records = read_all((dir / name).string());
    REQUIRE(records.size() == 3);
    CHECK(records[0].contig == "CHROMOSOME_I");
    CHECK(records[0].pos0 == 99);
    CHECK(records[0].id == "rs1");
    CHECK(records[0].ref == "T");
    CHECK(records[0].alts == std::vector<std::string>{"G", "C"});
    CHECK(records[1].pos0 == -1);
    CHECK(records[1].alts.empty());
    CHECK(records[2].index == 2);
    CHECK(records[2].alts == std::vector<std::string>{"A", "<DEL>"});
  }
  write_text(dir / "no_header.vcf", body);
  CHECK_THROWS_WITH_AS(hts::vcf_reader((dir / "no_header.vcf").string()),
                       doctest::Contains("no_header.vcf: is not a VCF or BCF file"), dnabert::format_error);
  write_text(dir / "truncated.vcf", vcf_header + "CHROMOSOME_I\t100\t.\n");
  hts::vcf_reader truncated((dir / "truncated.vcf").string());
  hts::vcf_record record;
  CHECK_THROWS_WITH_AS((void)truncated.next(record), doctest::Contains("truncated.vcf: record 1 (after the header) cannot be parsed"),
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(hts::vcf_reader((dir / "absent.vcf").string()), doctest::Contains("absent.vcf: no such VCF file"),
                       dnabert::format_error);
}

TEST_CASE("VCF writer: every header line and record kept, Number=A INFO fields declared and filled, atomically") {
  const auto dir = dnabert::test::scratch_dir("hts_vcf_write");
  const std::string body =
      "CHROMOSOME_I\t100\trs1\tT\tG,C\t50\tPASS\tDP=3\n"
      "CHROMOSOME_II\t5\t.\tA\t<DEL>\t.\t.\t.\n"
      "chrUndeclared\t7\t.\tA\tG\t.\t.\t.\n";
  write_text(dir / "in.vcf", vcf_header + body);
  const std::array<hts::vcf_info_field, 2> fields{{{"DNABERT_PREF", "P ref"}, {"DNABERT_DIFF", "diff"}}};
  const auto fill = [](std::size_t record, std::size_t alleles, std::span<float> values) {
    if (record != 0) return;  // records 1 and 2 stay as they were
    REQUIRE(alleles == 2);
    values[0] = 0.25f;  // PREF of G
    values[1] = 0.5f;   // PREF of C
    values[2] = -0.125f;  // DIFF of G; DIFF of C stays missing
  };
  for (const auto* name : {"out.vcf", "out.vcf.gz", "out.bcf"}) {
    CAPTURE(name);
    const std::string out = (dir / name).string();
    hts::write_vcf_with_info((dir / "in.vcf").string(), out, fields, fill);
    CHECK(read_all(out).size() == 3);
  }
  const std::string text = read_text(dir / "out.vcf");
  for (const std::string kept : {"##source=dnabert-test\n", "##contig=<ID=CHROMOSOME_II,length=5000>\n",
                                 "##INFO=<ID=DP,Number=1,Type=Integer,Description=\"Depth\">\n",
                                 "##INFO=<ID=DNABERT_PREF,Number=A,Type=Float,Description=\"P ref\">\n",
                                 "##INFO=<ID=DNABERT_DIFF,Number=A,Type=Float,Description=\"diff\">\n",
                                 "CHROMOSOME_I\t100\trs1\tT\tG,C\t50\tPASS\tDP=3;DNABERT_PREF=0.25,0.5;DNABERT_DIFF=-0.125,.\n",
                                 "CHROMOSOME_II\t5\t.\tA\t<DEL>\t.\t.\t.\n", "chrUndeclared\t7\t.\tA\tG\t.\t.\t.\n"})
    CHECK_MESSAGE(text.find(kept) != std::string::npos, "missing: " << kept);
  // Annotating an annotated file replaces the values instead of declaring the fields twice.
  hts::write_vcf_with_info((dir / "out.vcf").string(), (dir / "again.vcf").string(), fields, fill);
  const std::string again = read_text(dir / "again.vcf");
  CHECK(again.find("##INFO=<ID=DNABERT_PREF") == again.rfind("##INFO=<ID=DNABERT_PREF"));
  CHECK(again.find("DP=3;DNABERT_PREF=0.25,0.5;DNABERT_DIFF=-0.125,.\n") != std::string::npos);
  // A fill that throws leaves the old output and no temporary file behind.
  CHECK_THROWS_AS(hts::write_vcf_with_info((dir / "in.vcf").string(), (dir / "out.vcf").string(), fields,
                                           [](std::size_t, std::size_t, std::span<float>) { throw dnabert::error("stop"); }),
                  dnabert::error);
  CHECK(read_text(dir / "out.vcf") == text);
  for (const auto& entry : fs::directory_iterator(dir))
    CHECK_MESSAGE(entry.path().filename().string().find(".tmp-") == std::string::npos, entry.path());
  // A field the input declares otherwise cannot be added.
  write_text(dir / "clash.vcf", "##fileformat=VCFv4.2\n##INFO=<ID=DNABERT_PREF,Number=1,Type=Integer,Description=\"x\">\n"
                                "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n");
  CHECK_THROWS_WITH_AS(hts::write_vcf_with_info((dir / "clash.vcf").string(), (dir / "clash_out.vcf").string(), fields, fill),
                       doctest::Contains("clash.vcf: declares INFO/DNABERT_PREF other than as Number=A,Type=Float"),
                       dnabert::format_error);
}

TEST_CASE("variants end to end: a VCF synthesised against ce.fa and chr17 with formats.md's bad cases") {
  const auto dir = dnabert::test::scratch_dir("hts_variants");
  const hts::indexed_fasta ce(scratch_copy("ce", dir));
  const hts::indexed_fasta chr17(scratch_copy("chr17", dir));
  const auto goldens = dnabert::test::read_variant_goldens();
  // Golden sites first (unsorted: edge_start at POS 11 comes after POS 9000), then
  // one record per bad case. REF of the soft-masked site is lower case, as in the FASTA.
  std::ostringstream ce_vcf, chr17_vcf;
  ce_vcf << "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n";
  chr17_vcf << "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n";
  std::map<std::string, const dnabert::test::golden_variant*> golden_of;
  for (const auto& g : goldens) {
    if (g.window != 67 || g.name == "snv_second_allele") continue;
    const std::string alts = g.name == "snv" ? g.alt + "," + goldens[1].alt : g.alt;  // split multi-allelic
    (g.fasta == "ce" ? ce_vcf : chr17_vcf) << g.contig << '\t' << g.pos << '\t' << g.name << '\t' << g.ref << '\t' << alts
                                           << "\t.\t.\t.\n";
    golden_of[g.name] = &g;
  }
  golden_of["snv_second_allele"] = &goldens[1];
  const std::string ce_bad =
      "CHROMOSOME_I\t5000\tref_mismatch\tT\tG\t.\t.\t.\n"
      "CHROMOSOME_I\t300\tsymbolic\tA\t<DEL>,<*>\t.\t.\t.\n"
      "CHROMOSOME_I\t300\tbreakend\tA\tA]CHROMOSOME_II:10]\t.\t.\t.\n"
      "CHROMOSOME_I\t300\tstar\tA\t*\t.\t.\t.\n"
      "CHROMOSOME_I\t0\tpos0\tA\tG\t.\t.\t.\n"
      "CHROMOSOME_II\t5001\tpast_end\tA\tG\t.\t.\t.\n"
      "CHROMOSOME_V\t4990\tpast_end_indel\tAAAAAAAAAAAAAAA\tA\t.\t.\t.\n"
      "chrZ\t10\tunknown\tA\tG\t.\t.\t.\n"
      "chrCHROMOSOME_III\t10\tprefixed\tA\tG\t.\t.\t.\n";
  ce_vcf << ce_bad;
  write_text(dir / "ce.vcf", ce_vcf.str());
  write_text(dir / "chr17.vcf", chr17_vcf.str());
  const auto model = dnabert::load_classifier(dnabert::test::data_path("parity/cls_k6"), 1);

  std::size_t scored = 0;
  std::map<std::string, analysis::variant_report> reports;
  for (const auto* which : {"ce", "chr17"}) {
    const hts::indexed_fasta& fasta = std::string(which) == "ce" ? ce : chr17;
    std::vector<analysis::variant> variants;
    std::vector<std::string> ids;
    for (const auto& record : read_all((dir / (std::string(which) + ".vcf")).string()))
      for (std::size_t a = 0; a < record.alts.size(); ++a) {
        variants.push_back({record.contig, record.pos0, record.ref, record.alts[a], record.index, a});
        ids.push_back(a == 0 ? record.id : "snv_second_allele");
      }
    const analysis::reference_genome reference{
        [&fasta](const std::string& contig) { return fasta.contig_length(contig); },
        [&fasta](const std::string& contig, std::int64_t start, std::int64_t end) { return fasta.fetch(contig, start, end); }};
    reports[which] = analysis::score_variants(
        model, std::span<const analysis::variant>(variants), reference, {},
        [&](std::size_t index, const analysis::variant_window& window, const analysis::variant_score& score) {
          const auto found = golden_of.find(ids[index]);
          REQUIRE_MESSAGE(found != golden_of.end(), "scored a bad case: " << ids[index]);
          const auto& g = *found->second;
          CAPTURE(g.name);
          CHECK(window.reference == g.ref_seq);
          CHECK(window.alternative == g.alt_seq);
          CHECK(std::abs(score.p_ref - g.p_ref) < 1e-5);
          CHECK(std::abs(score.p_alt - g.p_alt) < 1e-5);
          CHECK(std::abs(score.diff - g.diff) < 1e-5);
          CHECK(std::abs(score.log_odds_ratio - g.log_odds_ratio) < 1e-5);
          ++scored;
        });
  }
  CHECK(scored == 8);
  const auto& report = reports["ce"];
  CHECK(report.scored == 7);
  CHECK(report.count(variant_issue::ref_mismatch) == 1);
  CHECK(report.count(variant_issue::unsupported_allele) == 4);
  CHECK(report.count(variant_issue::outside_contig) == 3);
  CHECK(report.count(variant_issue::unknown_contig) == 1);
  CHECK(report.count(variant_issue::contig_name_style) == 1);
  CHECK(report.count(variant_issue::window_shifted) == 3);  // edge_start, edge_end_deletion, edge_end_insertion
  CHECK(reports["chr17"].warnings.empty());
  std::string messages;
  for (const auto& warning : report.warnings) messages += warning.message + '\n';
  CHECK(messages.find("CHROMOSOME_I:5000 T>G: REF 'T' does not match the reference 'A', skipped") != std::string::npos);
  CHECK(messages.find("CHROMOSOME_I:0 A>G: REF lies outside contig 'CHROMOSOME_I'") != std::string::npos);
  CHECK(messages.find("CHROMOSOME_II:5001 A>G: REF lies outside contig 'CHROMOSOME_II' of 5000 nt") != std::string::npos);
  CHECK(messages.find("chrCHROMOSOME_III:10 A>G: contig 'chrCHROMOSOME_III' is not in the reference, but 'CHROMOSOME_III' is")
        != std::string::npos);
  CHECK(messages.find("CHROMOSOME_I:300 A>A]CHROMOSOME_II:10]: breakend") != std::string::npos);
}

}  // namespace io_hts_test
#endif
