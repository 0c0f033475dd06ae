"""An independent float64 forward pass of the architectures in
docs/architectures.md (llama, qwen2, qwen3), to check erg's logits.

It shares no code with erg: the GGUF file is read by gguf_reader.py and the
weights are dequantised exactly by dequant.py; every activation is float64.
With kv_f16=True, K and V are rounded to half precision as they enter the
cache, as erg's default F16 KV cache does.

    python3 reference.py MODEL.gguf --tokens 1,2,3 [--kv-f16] [--logits-out F]
    python3 reference.py --self-test
"""

import argparse
import math
import sys
from dataclasses import dataclass

import numpy as np

from dequant import dequantize_tensor
from gguf_reader import GGUFReader

NEOX_ARCHS = ("qwen2", "qwen3")
SUPPORTED_ARCHS = ("llama",) + NEOX_ARCHS


@dataclass
class HParams:
    arch: str
    n_vocab: int
    n_embd: int
    n_layer: int
    n_ff: int
    n_head: int
    n_head_kv: int
    head_dim: int     # of Q and K
    head_dim_v: int
    eps: float
    rope_base: float
    n_rot: int
    freq_scale: float

    @property
    def rope_neox(self):
        return self.arch in NEOX_ARCHS


def load_hparams(reader):
    """The hyperparameters, from the keys of docs/architectures.md."""
    arch = reader.get("general.architecture")
    if arch not in SUPPORTED_ARCHS:
        raise ValueError("architecture %r is not one of %s" % (arch, ", ".join(SUPPORTED_ARCHS)))

    def key(name, default=None):
        full = "%s.%s" % (arch, name)
        if full in reader.kv:
            return reader.kv[full]
        if default is None:
            raise ValueError("required key %s is missing" % full)
        return default

    n_embd = int(key("embedding_length"))
    n_head = int(key("attention.head_count"))
    head_dim = int(key("attention.key_length", n_embd // n_head))
    scaling = key("rope.scaling.type", "none")
    if scaling == "linear":
        freq_scale = 1.0 / float(key("rope.scaling.factor"))
    elif scaling == "none":
        freq_scale = 1.0
    else:
        raise ValueError("rope scaling %r is not supported" % scaling)
    key("context_length")  # required by the contract, unused by the math
    if "token_embd.weight" not in reader.tensors:
        raise ValueError("tensor token_embd.weight is missing")
    hp = HParams(
        arch=arch,
        n_vocab=int(key("vocab_size", reader.tensors["token_embd.weight"].dims[1])),
        n_embd=n_embd,
        n_layer=int(key("block_count")),
        n_ff=int(key("feed_forward_length")),
        n_head=n_head,
        n_head_kv=int(key("attention.head_count_kv", n_head)),
        head_dim=head_dim,
        head_dim_v=int(key("attention.value_length", head_dim)),
        eps=float(key("attention.layer_norm_rms_epsilon")),
        rope_base=float(key("rope.freq_base", 10000.0)),
        n_rot=int(key("rope.dimension_count", head_dim)),
        freq_scale=freq_scale,
    )
    if hp.n_head_kv <= 0 or hp.n_head % hp.n_head_kv:
        raise ValueError("n_head %d is not a multiple of n_head_kv %d" % (hp.n_head, hp.n_head_kv))
    if hp.n_rot % 2 or not 0 < hp.n_rot <= hp.head_dim:
        raise ValueError("n_rot %d must be even and in (0, head_dim %d]" % (hp.n_rot, hp.head_dim))
    return hp


class Model:
    """Hyperparameters and every tensor as float64, by GGUF name."""

    def __init__(self, hp, tensors):
        self.hp = hp
        self.tensors = tensors

    def w(self, name):
        if name not in self.tensors:
            raise ValueError("tensor %s is missing" % name)
        return self.tensors[name]

    def opt(self, name):
        """An optional tensor, or None."""
        return self.tensors.get(name)


def load_model(reader):
    """The model of a GGUFReader, every tensor dequantised."""
    tensors = {name: dequantize_tensor(reader, name) for name in reader.tensors}
    return Model(load_hparams(reader), tensors)


class KVCache:
    """Per layer, K (positions, n_head_kv, head_dim) and V (…, head_dim_v) of
    every position so far, in position order."""

    def __init__(self, n_layer, kv_f16=False):
        self.k = [None] * n_layer
        self.v = [None] * n_layer
        self.kv_f16 = kv_f16

    @property
    def n_past(self):
        return 0 if self.k[0] is None else self.k[0].shape[0]

    def append(self, layer, k, v):
        """Stores k, v (new positions) and returns the whole cache of layer."""
        if self.kv_f16:
            k = k.astype(np.float16).astype(np.float64)
            v = v.astype(np.float16).astype(np.float64)
        if self.k[layer] is not None:
            k = np.concatenate([self.k[layer], k])
            v = np.concatenate([self.v[layer], v])
        self.k[layer], self.v[layer] = k, v
        return k, v


def rms_norm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def linear(x, w, b=None):
    """y = W x for each row x; W has one row per output."""
    y = x @ w.T
    return y if b is None else y + b


def rope(x, positions, hp, freq_factors):
    """Rotates the first n_rot dims of every head of x (n, heads, dim) at the
    positions given: pairs (2j, 2j+1) normally, (j, j + n_rot/2) for NeoX."""
    half = hp.n_rot // 2
    j = np.arange(half)
    inv_freq = hp.freq_scale * hp.rope_base ** (-2.0 * j / hp.n_rot)
    if freq_factors is not None:
        inv_freq = inv_freq / freq_factors
    theta = positions[:, None].astype(np.float64) * inv_freq[None, :]  # (n, half)
    cos = np.cos(theta)[:, None, :]
    sin = np.sin(theta)[:, None, :]
    if hp.rope_neox:
        a_idx, b_idx = j, j + half
    else:
        a_idx, b_idx = 2 * j, 2 * j + 1
    a, b = x[..., a_idx], x[..., b_idx]
    out = x.copy()
    out[..., a_idx] = a * cos - b * sin
    out[..., b_idx] = a * sin + b * cos
    return out


def attention(q, k_all, v_all, positions, hp):
    """Causal grouped-query attention. q (n, n_head, head_dim); k_all, v_all
    hold cache positions 0 .. T-1; query i sees cache positions <= positions[i].
    Returns (n, n_head * head_dim_v)."""
    group = hp.n_head // hp.n_head_kv
    k = np.repeat(k_all, group, axis=1)  # query head h reads KV head h // group
    v = np.repeat(v_all, group, axis=1)
    scores = np.einsum("nhd,thd->hnt", q, k) / math.sqrt(hp.head_dim)
    visible = np.arange(k_all.shape[0])[None, :] <= positions[:, None]  # (n, T)
    scores = np.where(visible[None, :, :], scores, -np.inf)
    scores -= scores.max(axis=-1, keepdims=True)
    p = np.exp(scores)
    p /= p.sum(axis=-1, keepdims=True)
    out = np.einsum("hnt,thd->nhd", p, v)
    return out.reshape(q.shape[0], hp.n_head * hp.head_dim_v)


def attention_block(model, layer, x, positions, cache):
    hp = model.hp
    pre = "blk.%d." % layer
    h = rms_norm(x, model.w(pre + "attn_norm.weight"), hp.eps)
    n = x.shape[0]
    q = linear(h, model.w(pre + "attn_q.weight"), model.opt(pre + "attn_q.bias"))
    k = linear(h, model.w(pre + "attn_k.weight"), model.opt(pre + "attn_k.bias"))
    v = linear(h, model.w(pre + "attn_v.weight"), model.opt(pre + "attn_v.bias"))
    q = q.reshape(n, hp.n_head, hp.head_dim)
    k = k.reshape(n, hp.n_head_kv, hp.head_dim)
    v = v.reshape(n, hp.n_head_kv, hp.head_dim_v)
    if hp.arch == "qwen3":
        q = rms_norm(q, model.w(pre + "attn_q_norm.weight"), hp.eps)
        k = rms_norm(k, model.w(pre + "attn_k_norm.weight"), hp.eps)
    freq_factors = model.opt("rope_freqs.weight")
    q = rope(q, positions, hp, freq_factors)
    k = rope(k, positions, hp, freq_factors)
    k_all, v_all = cache.append(layer, k, v)
    o = attention(q, k_all, v_all, positions, hp)
    return x + linear(o, model.w(pre + "attn_output.weight"))


def silu(z):
    return z / (1.0 + np.exp(-z))


def ffn_block(model, layer, x):
    pre = "blk.%d." % layer
    h = rms_norm(x, model.w(pre + "ffn_norm.weight"), model.hp.eps)
    gate = linear(h, model.w(pre + "ffn_gate.weight"))
    up = linear(h, model.w(pre + "ffn_up.weight"))
    return x + linear(silu(gate) * up, model.w(pre + "ffn_down.weight"))


def output_logits(model, x):
    h = rms_norm(x, model.w("output_norm.weight"), model.hp.eps)
    w_out = model.opt("output.weight")
    return linear(h, model.w("token_embd.weight") if w_out is None else w_out)


def forward(model, tokens, cache):
    """Logits (len(tokens), n_vocab) of tokens appended after the cache's
    n_past positions; the cache grows by len(tokens)."""
    hp = model.hp
    tokens = np.asarray(tokens, dtype=np.int64)
    if tokens.size == 0 or tokens.min() < 0 or tokens.max() >= hp.n_vocab:
        raise ValueError("token ids must be in [0, %d): %s" % (hp.n_vocab, tokens.tolist()))
    positions = cache.n_past + np.arange(tokens.size)
    x = model.w("token_embd.weight")[tokens]
    for layer in range(hp.n_layer):
        x = attention_block(model, layer, x, positions, cache)
        x = ffn_block(model, layer, x)
    return output_logits(model, x)


def reference_logits(path, tokens, kv_f16=False):
    """All positions' logits of tokens run from an empty cache."""
    model = load_model(GGUFReader(path))
    return forward(model, tokens, KVCache(model.hp.n_layer, kv_f16))


# --------------------------------------------------------------------------
# Self-test: properties of the pieces, and a random model run in chunks.
# --------------------------------------------------------------------------

def _hparams(**changes):
    """Small test hyperparameters: 4 query heads sharing 2 KV heads."""
    hp = dict(arch="llama", n_vocab=40, n_embd=32, n_layer=2, n_ff=48, n_head=4, n_head_kv=2,
              head_dim=8, head_dim_v=8, eps=1e-6, rope_base=10000.0, n_rot=8, freq_scale=1.0)
    hp.update(changes)
    return HParams(**hp)


def _random_model(arch, rng, tied=True, freq_factors=False):
    # qwen3 gets wider heads than n_embd / n_head, llama a partial rotation.
    hd = 16 if arch == "qwen3" else 8
    hp = _hparams(arch=arch, head_dim=hd, head_dim_v=hd, n_rot=6 if arch == "llama" else hd,
                  freq_scale=0.5)
    q_rows, kv_rows = hp.n_head * hp.head_dim, hp.n_head_kv * hp.head_dim
    t = {"token_embd.weight": rng.normal(size=(hp.n_vocab, hp.n_embd)),
         "output_norm.weight": rng.uniform(0.5, 1.5, hp.n_embd)}
    if not tied:
        t["output.weight"] = rng.normal(size=(hp.n_vocab, hp.n_embd))
    if freq_factors:
        t["rope_freqs.weight"] = rng.uniform(1.0, 4.0, hp.n_rot // 2)
    shapes = {"attn_norm.weight": (hp.n_embd,), "ffn_norm.weight": (hp.n_embd,),
              "attn_q.weight": (q_rows, hp.n_embd), "attn_k.weight": (kv_rows, hp.n_embd),
              "attn_v.weight": (kv_rows, hp.n_embd), "attn_output.weight": (hp.n_embd, q_rows),
              "ffn_gate.weight": (hp.n_ff, hp.n_embd), "ffn_up.weight": (hp.n_ff, hp.n_embd),
              "ffn_down.weight": (hp.n_embd, hp.n_ff)}
    if arch == "qwen2":
        shapes.update({"attn_q.bias": (q_rows,), "attn_k.bias": (kv_rows,),
                       "attn_v.bias": (kv_rows,)})
    if arch == "qwen3":
        shapes.update({"attn_q_norm.weight": (hp.head_dim,),
                       "attn_k_norm.weight": (hp.head_dim,)})
    for layer in range(hp.n_layer):
        for name, shape in shapes.items():
            t["blk.%d.%s" % (layer, name)] = rng.normal(size=shape) / math.sqrt(shape[-1])
    return Model(hp, t)


def _test_rope():
    hp = _hparams(n_head=1, n_head_kv=1, head_dim=4, n_rot=4)
    x = np.array([[[1.0, 0.0, 0.0, 2.0]]])
    # Normal rope at position 1: pair (0, 1) turns by theta_0 = 1, pair (2, 3)
    # by theta_1 = 10000^(-2/4) = 0.01: (1, 0) -> (cos 1, sin 1) and
    # (0, 2) -> (-2 sin 0.01, 2 cos 0.01).
    y = rope(x, np.array([1]), hp, None)[0, 0]
    want = [math.cos(1), math.sin(1), -2 * math.sin(0.01), 2 * math.cos(0.01)]
    assert np.allclose(y, want, rtol=0, atol=1e-15), (y, want)
    # NeoX pairs (0, 2) and (1, 3) with thetas 1 and 0.01, a factor of 2 on
    # the first frequency and freq_scale 0.5 (theta_0 = 1 * 0.5 / 2 = 0.25,
    # theta_1 = 0.005): (1, 0) -> (cos .25, sin .25), (0, 2) -> (-2 sin .005, 2 cos .005).
    hp.arch, hp.freq_scale = "qwen2", 0.5
    y = rope(x, np.array([1]), hp, np.array([2.0, 1.0]))[0, 0]
    want = [math.cos(0.25), -2 * math.sin(0.005), math.sin(0.25), 2 * math.cos(0.005)]
    assert np.allclose(y, want, rtol=0, atol=1e-15), (y, want)
    # Dims past n_rot stay as they are.
    hp.n_rot = 2
    y = rope(x, np.array([3]), hp, None)[0, 0]
    assert y[2] == 0.0 and y[3] == 2.0, y


def _test_attention():
    hp = _hparams(head_dim=2, head_dim_v=2)
    # One position: softmax of one score is 1, so head h outputs V of KV head
    # h // 2: heads 0, 1 -> (1, 2), heads 2, 3 -> (3, 4).
    q = np.ones((1, 4, 2))
    k = np.zeros((1, 2, 2))
    v = np.array([[[1.0, 2.0], [3.0, 4.0]]])
    o = attention(q, k, v, np.array([0]), hp)
    assert o.tolist() == [[1, 2, 1, 2, 3, 4, 3, 4]], o
    # Equal scores: query at position 1 averages cache positions 0, 1 only,
    # not position 2 ((1 + 5) / 2 = 3, (2 + 6) / 2 = 4 for KV head 0).
    v3 = np.array([[[1.0, 2.0], [0, 0]], [[5.0, 6.0], [0, 0]], [[100.0, 100.0], [0, 0]]])
    o = attention(q, np.zeros((3, 2, 2)), v3, np.array([1]), hp)
    assert o[0, :2].tolist() == [3.0, 4.0], o


def _test_model_in_chunks():
    """Running the tokens in chunks through the cache must give the logits
    of one batch, for every architecture and option."""
    rng = np.random.default_rng(1)
    tokens = rng.integers(0, 40, size=9)
    for arch, tied, ff, kv_f16 in [("llama", True, True, False), ("llama", False, False, True),
                                   ("qwen2", True, False, False), ("qwen3", False, False, True)]:
        model = _random_model(arch, rng, tied=tied, freq_factors=ff)
        whole = forward(model, tokens, KVCache(2, kv_f16))
        cache = KVCache(2, kv_f16)
        parts = [forward(model, tokens[a:b], cache) for a, b in ((0, 1), (1, 5), (5, 9))]
        got = np.concatenate(parts)
        assert whole.shape == (9, 40) and np.all(np.isfinite(whole))
        assert np.allclose(got, whole, rtol=1e-12, atol=1e-12), (arch, np.abs(got - whole).max())
        # Position 0 sees only itself, so its logits do not depend on later tokens.
        alone = forward(model, tokens[:1], KVCache(2, kv_f16))
        assert np.allclose(alone[0], whole[0], rtol=1e-12, atol=1e-12), arch


def self_test():
    _test_rope()
    _test_attention()
    _test_model_in_chunks()
    print("reference self-test: rope, attention and chunked forward passed")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", nargs="?")
    ap.add_argument("--tokens", help="comma-separated token ids")
    ap.add_argument("--kv-f16", action="store_true", help="round K and V to half in the cache")
    ap.add_argument("--logits-out", help="write float32 little-endian logits here")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args(argv)
    if args.self_test:
        self_test()
        return 0
    if not args.model or not args.tokens:
        ap.error("a model and --tokens are needed")
    tokens = [int(t) for t in args.tokens.split(",")]
    logits = reference_logits(args.model, tokens, kv_f16=args.kv_f16)
    if args.logits_out:
        logits.astype("<f4").tofile(args.logits_out)
    for i, row in enumerate(logits):
        print("position %d: token %d -> top-1 %d (logit %.6f)" % (i, tokens[i], row.argmax(),
                                                                  row.max()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
