#!/usr/bin/env python3
"""PyTorch eager peer for bench/peers.sh: greedy decoding of a llama2.c (legacy v0) checkpoint with a KV cache.

Written for AttnEval's benchmark (not taken from llama2.c): one token per step, fp32, the model's own RoPE layout
(adjacent pairs rotated, as run.c does), grouped-query attention over the cache, SwiGLU, RMSNorm eps 1e-5.
Prints one JSON line: median tokens/s over the repeats, and the peak resident memory.
"""
import argparse
import json
import resource
import struct
import time

import numpy as np
import torch


def load(path):
    with open(path, "rb") as f:
        dim, hidden, layers, heads, kv_heads, vocab, seq_len = struct.unpack("7i", f.read(28))
    shared = vocab > 0
    vocab = abs(vocab)
    head_size = dim // heads
    kv_dim = head_size * kv_heads
    flat = np.memmap(path, dtype=np.float32, mode="r", offset=28)
    pos = 0

    def take(*shape):
        nonlocal pos
        n = int(np.prod(shape))
        t = torch.from_numpy(np.array(flat[pos:pos + n])).view(*shape)
        pos += n
        return t

    w = {}
    w["emb"] = take(vocab, dim)
    w["rms_att"] = take(layers, dim)
    w["wq"] = take(layers, dim, dim)
    w["wk"] = take(layers, kv_dim, dim)
    w["wv"] = take(layers, kv_dim, dim)
    w["wo"] = take(layers, dim, dim)
    w["rms_ffn"] = take(layers, dim)
    w["w1"] = take(layers, hidden, dim)
    w["w2"] = take(layers, dim, hidden)
    w["w3"] = take(layers, hidden, dim)
    w["rms_final"] = take(dim)
    pos += seq_len * head_size  # freq_cis real and imaginary halves, unused
    w["wcls"] = w["emb"] if shared else take(vocab, dim)
    cfg = dict(dim=dim, hidden=hidden, layers=layers, heads=heads, kv_heads=kv_heads, vocab=vocab, seq_len=seq_len)
    return cfg, w


def rmsnorm(x, weight):
    return x * torch.rsqrt(x.pow(2).mean() + 1e-5) * weight


def rotate(v, pos, head_size):
    # v: [n_heads, head_size]; pairs (2i, 2i+1) rotated by pos * 10000^(-2i/head_size)
    half = head_size // 2
    freq = 1.0 / (10000.0 ** (torch.arange(0, head_size, 2, dtype=torch.float32) / head_size))
    angle = pos * freq
    cos, sin = torch.cos(angle), torch.sin(angle)
    pairs = v.view(v.shape[0], half, 2)
    a, b = pairs[..., 0], pairs[..., 1]
    return torch.stack((a * cos - b * sin, a * sin + b * cos), dim=-1).view(v.shape[0], head_size)


def decode(cfg, w, steps):
    L, H, Hkv, d = cfg["layers"], cfg["heads"], cfg["kv_heads"], cfg["dim"]
    hs = d // H
    group = H // Hkv
    k_cache = torch.zeros(L, cfg["seq_len"], Hkv, hs)
    v_cache = torch.zeros(L, cfg["seq_len"], Hkv, hs)
    token, out = 1, []
    for pos in range(steps):
        x = w["emb"][token].clone()
        for l in range(L):
            xb = rmsnorm(x, w["rms_att"][l])
            q = rotate((w["wq"][l] @ xb).view(H, hs), pos, hs)
            k = rotate((w["wk"][l] @ xb).view(Hkv, hs), pos, hs)
            k_cache[l, pos] = k
            v_cache[l, pos] = (w["wv"][l] @ xb).view(Hkv, hs)
            keys = k_cache[l, : pos + 1].repeat_interleave(group, dim=1)     # [T, H, hs]
            values = v_cache[l, : pos + 1].repeat_interleave(group, dim=1)
            scores = torch.einsum("hd,thd->ht", q, keys) / hs ** 0.5
            att = torch.softmax(scores, dim=-1)
            x = x + w["wo"][l] @ torch.einsum("ht,thd->hd", att, values).reshape(d)
            xb = rmsnorm(x, w["rms_ffn"][l])
            x = x + w["w2"][l] @ (torch.nn.functional.silu(w["w1"][l] @ xb) * (w["w3"][l] @ xb))
        logits = w["wcls"] @ rmsnorm(x, w["rms_final"])
        token = int(torch.argmax(logits))
        out.append(token)
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("checkpoint")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=256)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    cfg, w = load(a.checkpoint)
    rates = []
    with torch.inference_mode():
        decode(cfg, w, 8)  # warm-up
        for _ in range(a.repeats):
            t = time.perf_counter()
            decode(cfg, w, a.steps)
            rates.append(a.steps / (time.perf_counter() - t))
    rates.sort()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"torch": torch.__version__, "threads": a.threads, "tokens_per_s": rates[len(rates) // 2], "peak_rss_mb": peak_mb}))


if __name__ == "__main__":
    main()
