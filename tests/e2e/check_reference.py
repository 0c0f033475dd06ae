"""End-to-end check of erg's logits against the independent float64 reference.

For each weight type: `erg mkmodel` writes a tiny random model, `erg eval`
writes the logits of 12 fixed tokens, reference.py computes the same logits
from the same file, and one line reports the normalised error
||erg - ref|| / ||ref|| over all logits, the largest absolute error and how
many positions agree on the top-1 token. Exit status 1 if any case is over
its bound or fails to run.

    check_reference.py --erg build/bin/erg --workdir DIR --arch llama \\
                       --types f32,q4_0 --mode default|reference
"""

import argparse
import os
import subprocess
import sys

import numpy as np

from gguf_reader import GGUFReader
from reference import KVCache, forward, load_hparams, load_model

# Largest normalised error ||erg - ref|| / ||ref|| allowed, by (mode, type).
# The reference is exact (float64, exact dequantisation), so a bound is the
# error erg's own arithmetic may add, with headroom over what was measured
# (tiny models, 12 tokens, all three architectures).
BOUNDS = {}

# reference mode: exact dequantisation, F32 activations and an F32 KV cache.
# Only float32 rounding separates erg from the reference: measured 2.4e-7 to
# 3.3e-7 for every type.
for _t in ("f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1",
           "q4_k", "q5_k", "q6_k", "q4_k_m", "q5_k_m"):
    BOUNDS[("reference", _t)] = 2e-6

# default mode: K and V are rounded to F16 in the cache (the reference rounds
# its exact values, erg its float32 ones: an occasional one-ulp difference of
# 2^-11), and quantized weights take 8-bit activations.
BOUNDS.update({
    # Plain weights keep F32 activations: measured up to 3.2e-5.
    ("default", "f32"): 2e-4,
    ("default", "f16"): 2e-4,
    ("default", "bf16"): 2e-4,
    # Legacy quants: activations quantised to 8-bit blocks of 32 (about 0.5%
    # error per value): measured 1.1e-2 to 1.3e-2.
    ("default", "q8_0"): 2.5e-2,
    ("default", "q4_0"): 2.5e-2,
    ("default", "q4_1"): 2.5e-2,
    ("default", "q5_0"): 2.5e-2,
    ("default", "q5_1"): 2.5e-2,
    # K-quants: 8-bit blocks of 256, one scale for eight times as many values:
    # measured 1.3e-2 to 1.6e-2.
    ("default", "q4_k"): 3e-2,
    ("default", "q5_k"): 3e-2,
    ("default", "q6_k"): 3e-2,
    ("default", "q4_k_m"): 3e-2,
    ("default", "q5_k_m"): 3e-2,
})

MODES = ("default", "reference")
SEED = 1234
# Twelve token ids, taken modulo the model's vocabulary size.
TOKENS = (1, 17, 42, 99, 123, 256, 311, 7, 480, 65, 200, 511)
COMMAND_TIMEOUT_S = 120


class CaseError(Exception):
    """A case could not be run (a command failed or its output is wrong)."""


def run(cmd):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=COMMAND_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise CaseError("%s: %s" % (" ".join(cmd), e))
    if p.returncode != 0:
        raise CaseError("%s exited with %d:\n%s%s" % (" ".join(cmd), p.returncode, p.stdout,
                                                      p.stderr))


def weight_types(reader):
    """The types of the file's 2-D tensors, e.g. "q4_k+q6_k"."""
    return "+".join(sorted({t.type_name for t in reader.tensors.values() if len(t.dims) == 2}))


def run_case(erg, workdir, arch, type_name, mode, seed):
    """Runs erg and the reference on one model; returns (metrics, types)."""
    stem = os.path.join(workdir, "%s-%s" % (arch, type_name))
    gguf, logits_path = stem + ".gguf", stem + ".logits"
    run([erg, "mkmodel", "--arch", arch, "--preset", "tiny", "--type", type_name,
         "--seed", str(seed), "--out", gguf])
    reader = GGUFReader(gguf)
    n_vocab = load_hparams(reader).n_vocab
    tokens = [t % n_vocab for t in TOKENS]

    if os.path.exists(logits_path):
        os.remove(logits_path)  # never compare against an earlier run's output
    cmd = [erg, "eval", "-m", gguf, "--tokens", ",".join(map(str, tokens)), "--device", "cpu",
           "--logits-out", logits_path]
    if mode == "reference":
        cmd += ["--reference", "--kv-type", "f32"]
    run(cmd)
    got = np.fromfile(logits_path, dtype="<f4").astype(np.float64)
    if got.size != len(tokens) * n_vocab:
        raise CaseError("%s holds %d floats, expected %d tokens x %d vocab"
                        % (logits_path, got.size, len(tokens), n_vocab))
    got = got.reshape(len(tokens), n_vocab)
    if not np.all(np.isfinite(got)):
        raise CaseError("%s has non-finite logits" % logits_path)

    model = load_model(reader)
    ref = forward(model, tokens, KVCache(model.hp.n_layer, kv_f16=(mode == "default")))
    return compare(got, ref), weight_types(reader)


def compare(got, ref):
    """Normalised error, largest absolute error and top-1 agreements."""
    return {
        "rel": float(np.linalg.norm(got - ref) / np.linalg.norm(ref)),
        "max_abs": float(np.abs(got - ref).max()),
        "top1": int(np.sum(got.argmax(axis=1) == ref.argmax(axis=1))),
        "n": got.shape[0],
    }


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--erg", required=True, help="the erg command-line tool")
    ap.add_argument("--workdir", required=True, help="where models and logits are written")
    ap.add_argument("--arch", required=True, choices=("llama", "qwen2", "qwen3"))
    ap.add_argument("--types", required=True, help="comma-separated: f32,q4_0,q4_k_m,...")
    ap.add_argument("--mode", required=True, choices=MODES)
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args(argv)

    types = [t.strip().lower() for t in args.types.split(",") if t.strip()]
    unknown = [t for t in types if (args.mode, t) not in BOUNDS]
    if unknown:
        ap.error("no bound for type(s) %s in mode %s" % (", ".join(unknown), args.mode))
    os.makedirs(args.workdir, exist_ok=True)

    failures = 0
    for t in types:
        bound = BOUNDS[(args.mode, t)]
        head = "%-6s %-7s %-9s" % (args.arch, t, args.mode)
        try:
            m, wtypes = run_case(args.erg, args.workdir, args.arch, t, args.mode, args.seed)
        except (CaseError, ValueError) as e:
            failures += 1
            print("%s ERROR %s" % (head, e), flush=True)
            continue
        ok = m["rel"] <= bound
        failures += not ok
        print("%s rel %.3e (bound %.1e)  max_abs %.3e  top1 %2d/%d  weights %s  %s"
              % (head, m["rel"], bound, m["max_abs"], m["top1"], m["n"], wtypes,
                 "ok" if ok else "FAIL"), flush=True)
    print("%d of %d cases passed" % (len(types) - failures, len(types)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
