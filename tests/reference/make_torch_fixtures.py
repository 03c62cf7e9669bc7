#!/usr/bin/env python3
"""Writes the pytorch_model.bin fixtures under tests/data/torch/ (run from the repository root).

Valid files come from torch.save itself, in both formats it has written: the ZIP archive
(torch >= 1.6) and the legacy stream of pickles (_use_new_zipfile_serialization=False).
Every float tensor is built from arange so the C++ tests recompute the expected values.
Hostile files are assembled by hand: no pickle made here is ever loaded, and the one with an
`os.system` global is written byte by byte.

Needs torch (pip install torch); CI does not, so the generated files are committed.
"""
import collections
import io
import os
import pickle
import struct
import zipfile

import torch

OUT = os.path.join("tests", "data", "torch")
CORPUS = os.path.join("tests", "fuzz", "corpus")


def state_dict():
    """The valid fixture; test values are documented next to each tensor."""
    sd = collections.OrderedDict()
    embeddings = torch.arange(12, dtype=torch.float32).reshape(4, 3) * 0.25 - 1.0  # i * 0.25 - 1
    sd["bert.embeddings.word_embeddings.weight"] = embeddings
    sd["bert.embeddings.position_ids"] = torch.arange(5).unsqueeze(0)  # int64 buffer: skipped
    sd["cls.predictions.decoder.weight"] = embeddings  # tied: shares the storage
    sd["transposed"] = torch.arange(12, dtype=torch.float32).reshape(3, 4).t()  # [4,3], stride (1,4)
    big = torch.arange(20, dtype=torch.float32) + 100.0
    sd["slice"] = big[5:11].view(2, 3)  # offset 5 into a 20-element storage
    sd["column"] = torch.arange(12, dtype=torch.float32).reshape(3, 4)[:, 1]  # offset 1, stride 4
    sd["half"] = torch.tensor([1.0, -2.5, 65504.0, 2.0**-14, 2.0**-24, 0.0, -0.0, float("inf")],
                              dtype=torch.float16)
    sd["bfloat"] = torch.tensor([1.0, -3.140625, 2.0**100, -(2.0**-130)], dtype=torch.bfloat16)
    sd["scalar"] = torch.tensor(3.5)
    sd["empty"] = torch.zeros(0, 3)
    sd._metadata = collections.OrderedDict([("", {"version": 1})])  # pickled with BUILD
    return sd


# --- hand-made pickles: storages become persistent ids, tensors _rebuild_tensor_v2 calls ---

class FakeStorage:
    def __init__(self, type_, key, numel):
        self.type, self.key, self.numel = type_, key, numel


class FakeTensor:
    """Pickles like a tensor without being one, so sizes and strides can lie."""

    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


class ZipStylePickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, FakeStorage):
            return ("storage", obj.type, obj.key, "cpu", obj.numel)
        return None


def fake_state_pickle(tensors):
    out = io.BytesIO()
    ZipStylePickler(out, protocol=2).dump(collections.OrderedDict(tensors))
    return out.getvalue()


def write_zip(name, entries, deflated=()):
    with zipfile.ZipFile(os.path.join(OUT, name), "w") as archive:
        for entry, data in entries.items():
            method = zipfile.ZIP_DEFLATED if entry in deflated else zipfile.ZIP_STORED
            archive.writestr(zipfile.ZipInfo(entry, date_time=(2020, 1, 1, 0, 0, 0)), data, compress_type=method)


def f32(values):
    return struct.pack("<%df" % len(values), *values)


def one_tensor_archive(pickle_bytes, storage_bytes=f32(range(6)), byteorder=b"little"):
    entries = {"archive/data.pkl": pickle_bytes, "archive/byteorder": byteorder}
    if storage_bytes is not None:
        entries["archive/data/0"] = storage_bytes
    entries["archive/version"] = b"3\n"
    return entries


def six_floats(size, stride, offset=0, key="0"):
    return fake_state_pickle({"w": FakeTensor(FakeStorage(torch.FloatStorage, key, 6), offset, size, stride)})


def plain_values(with_bytes):
    """Plain data for the pickle VM tests; protocol 2 pickles bytes through `_codecs.encode`."""
    shared = [7]
    values = {"negative": -5, "small": 200, "mid": 1000, "int32": -100000, "big": -2**40,
              "magic": 0x1950a86a20f9469cfc6c, "real": 1.5, "flags": [True, False, None], "text": "ACGT\u00e9",
              "tuple": (1, 2, 3, 4), "shared": [shared, shared]}
    if with_bytes:
        values["bytes"] = b"\x00\x01"
    return values


# Hand-written, never loaded: GLOBAL 'os system', ('echo pwned',), REDUCE.
OS_SYSTEM_PICKLE = b"\x80\x02cos\nsystem\nq\x00X\x0a\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03."


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.save(state_dict(), os.path.join(OUT, "state_zip.bin"))
    torch.save(state_dict(), os.path.join(OUT, "state_legacy.bin"), _use_new_zipfile_serialization=False)
    torch.save(state_dict(), os.path.join(OUT, "state_zip_protocol4.bin"), pickle_protocol=4)
    torch.save(state_dict(), os.path.join(OUT, "state_legacy_protocol4.bin"), pickle_protocol=4,
               _use_new_zipfile_serialization=False)

    # The same archive with ZIP64 records: zipfile writes them for anything past ZIP64_LIMIT.
    with zipfile.ZipFile(os.path.join(OUT, "state_zip.bin")) as source:
        entries = {info.filename: source.read(info) for info in source.infolist()}
    saved_limit = zipfile.ZIP64_LIMIT
    zipfile.ZIP64_LIMIT = 0
    try:
        with zipfile.ZipFile(os.path.join(OUT, "state_zip64.bin"), "w") as archive:
            for entry, data in entries.items():
                archive.writestr(zipfile.ZipInfo(entry, date_time=(2020, 1, 1, 0, 0, 0)), data)
    finally:
        zipfile.ZIP64_LIMIT = saved_limit

    good = six_floats((2, 3), (3, 1))
    write_zip("good_handmade.bin", one_tensor_archive(good))
    write_zip("hostile_os_system.bin", one_tensor_archive(OS_SYSTEM_PICKLE))
    write_zip("hostile_deflated.bin", one_tensor_archive(good), deflated={"archive/data/0"})
    write_zip("hostile_big_endian.bin", one_tensor_archive(good, byteorder=b"big"))
    write_zip("hostile_missing_storage.bin", one_tensor_archive(good, storage_bytes=None))
    write_zip("hostile_short_storage.bin", one_tensor_archive(good, storage_bytes=f32(range(5))))
    write_zip("hostile_size_past_storage.bin", one_tensor_archive(six_floats((3, 3), (3, 1))))
    write_zip("hostile_stride_past_storage.bin", one_tensor_archive(six_floats((2, 3), (4, 1))))
    write_zip("hostile_offset_past_storage.bin", one_tensor_archive(six_floats((2, 3), (3, 1), offset=1)))
    write_zip("hostile_expanded_view.bin", one_tensor_archive(six_floats((2**31, 2**31, 2), (0, 0, 0))))
    write_zip("hostile_two_data_pkl.bin", {**one_tensor_archive(good), "other/data.pkl": good})
    pickles = {"hostile_os_system.pkl": OS_SYSTEM_PICKLE,
               "values_protocol2.pkl": pickle.dumps(plain_values(with_bytes=False), protocol=2),
               "values_protocol4.pkl": pickle.dumps(plain_values(with_bytes=True), protocol=4),
               "hostile_codecs_bytes.pkl": pickle.dumps(b"\x00\x01", protocol=2)}
    for name, data in pickles.items():
        with open(os.path.join(OUT, name), "wb") as out:
            out.write(data)
    write_fuzz_seeds()


def write_fuzz_seeds():
    """Seeds for tests/fuzz/fuzz_torch_checkpoint.cpp and fuzz_pickle.cpp, taken from the fixtures."""
    seeds = {"torch_checkpoint": ["state_zip.bin", "state_legacy.bin", "state_zip64.bin", "state_legacy_protocol4.bin",
                                  "good_handmade.bin", "hostile_offset_past_storage.bin"],
             "pickle": ["values_protocol2.pkl", "values_protocol4.pkl", "hostile_os_system.pkl"]}
    for harness, names in seeds.items():
        os.makedirs(os.path.join(CORPUS, harness), exist_ok=True)
        for name in names:
            with open(os.path.join(OUT, name), "rb") as source, open(os.path.join(CORPUS, harness, name), "wb") as out:
                out.write(source.read())
    for archive_name, seed in [("state_zip", "state_dict_protocol2.pkl"), ("state_zip_protocol4", "state_dict_protocol4.pkl")]:
        with zipfile.ZipFile(os.path.join(OUT, archive_name + ".bin")) as archive:
            with open(os.path.join(CORPUS, "pickle", seed), "wb") as out:
                out.write(archive.read(archive_name + "/data.pkl"))


if __name__ == "__main__":
    main()
