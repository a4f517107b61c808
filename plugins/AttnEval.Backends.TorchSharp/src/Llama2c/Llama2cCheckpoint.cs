using System.Buffers.Binary;
using AttnEval.Abstractions;
using AttnEval.Backends.TorchSharp.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace AttnEval.Backends.TorchSharp.Llama2c;

/// <summary>
/// Reads karpathy/llama2.c checkpoints (data/PROVENANCE.md §1.1–1.2) into <see cref="LlamaForCausalLM"/>:
/// the legacy v0 layout (7 int32 header, tensors grouped by kind, freq_cis tables skipped, negative vocab =
/// untied classifier) and the version-1 layout (256-byte header with magic "ak42").
/// </summary>
/// <remarks>
/// RoPE layout: llama2.c rotates adjacent pairs (2i, 2i+1) of each head (Meta/GPT-J layout); our Llama module uses
/// the Hugging Face rotate_half layout (pairs (i, i + D/2)). The rows of wq and wk are permuted within each head
/// (new row i ← old row 2i, new row D/2 + i ← old row 2i + 1). The same permutation on q and k leaves every dot
/// product, hence the attention pattern and the output, unchanged; the pair frequencies agree (θ_i = 10000^(−2i/D)).
/// </remarks>
internal static class Llama2cCheckpoint
{
    private const uint MagicV1 = 0x616b3432;

    /// <summary>The header fields.</summary>
    public sealed record Header(int Dim, int HiddenDim, int Layers, int Heads, int KvHeads, int VocabSize, int SeqLen, bool Shared, int Version, int DataOffset);

    /// <summary>Reads the header of a checkpoint.</summary>
    /// <exception cref="ModelLoadException">Truncated or inconsistent header.</exception>
    public static Header ReadHeader(string path, byte[] b)
    {
        if (b.Length < 28) throw new ModelLoadException($"{path}: truncated llama2.c checkpoint ({b.Length} bytes, the header alone needs 28).");
        int I(int off) => BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(off));
        Header h;
        if (BinaryPrimitives.ReadUInt32LittleEndian(b) == MagicV1)
        {
            if (b.Length < 256) throw new ModelLoadException($"{path}: truncated llama2.c v1 checkpoint ({b.Length} bytes, the header needs 256).");
            int version = I(4);
            if (version != 1) throw new ModelLoadException($"{path}: llama2.c checkpoint version {version} is not supported (expected 1, or the legacy v0 layout).");
            h = new Header(I(8), I(12), I(16), I(20), I(24), I(28), I(32), b[36] != 0, 1, 256);
        }
        else
        {
            int vocab = I(20);
            h = new Header(I(0), I(4), I(8), I(12), I(16), Math.Abs(vocab), I(24), vocab > 0, 0, 28);
        }
        if (h.Dim <= 0 || h.HiddenDim <= 0 || h.Layers <= 0 || h.Heads <= 0 || h.KvHeads <= 0 || h.VocabSize <= 0 || h.SeqLen <= 0
            || h.Dim % h.Heads != 0 || h.Heads % h.KvHeads != 0 || h.Dim > 1 << 16 || h.Layers > 1024)
            throw new ModelLoadException($"{path}: not a llama2.c checkpoint (header dim={h.Dim}, hidden_dim={h.HiddenDim}, n_layers={h.Layers}, n_heads={h.Heads}, n_kv_heads={h.KvHeads}, vocab_size={h.VocabSize}, seq_len={h.SeqLen}).");
        return h;
    }

    /// <summary>The Llama configuration of a header (RMSNorm ε = 1e-5, RoPE base 10000, tied when shared).</summary>
    public static LlamaConfig ToConfig(Header h) =>
        new(h.VocabSize, h.Dim, h.HiddenDim, h.Layers, h.Heads, h.KvHeads)
        {
            RmsNormEps = 1e-5, RopeTheta = 10000, MaxPositionEmbeddings = h.SeqLen, TieWordEmbeddings = h.Shared,
            BosTokenId = 1, EosTokenIds = [2],
        };

    /// <summary>Loads a checkpoint into a new float32 model on <paramref name="device"/>.</summary>
    /// <exception cref="ModelLoadException">Missing, truncated or inconsistent file; the message names the file and the expected size.</exception>
    public static (LlamaForCausalLM Model, Header Header) Load(string path, Device? device)
    {
        if (!File.Exists(path)) throw new ModelLoadException($"{path}: file not found (expected a llama2.c checkpoint).");
        var bytes = File.ReadAllBytes(path);
        var h = ReadHeader(path, bytes);
        long d = h.Dim, ff = h.HiddenDim, L = h.Layers, V = h.VocabSize, kv = h.Dim / h.Heads * h.KvHeads, hs = h.Dim / h.Heads;
        var order = new List<(string Name, long[] Shape)>();
        void Add(string name, params long[] shape) => order.Add((name, shape));
        if (h.Version == 0)
        {
            Add("emb", V, d); Add("rms_att", L, d); Add("wq", L, d, d); Add("wk", L, kv, d); Add("wv", L, kv, d); Add("wo", L, d, d);
            Add("rms_ffn", L, d); Add("w1", L, ff, d); Add("w2", L, d, ff); Add("w3", L, ff, d); Add("rms_final", d);
            Add("freq_cis", 2, h.SeqLen, hs / 2);
        }
        else
        {
            Add("rms_att", L, d); Add("rms_ffn", L, d); Add("rms_final", d); Add("emb", V, d);
            Add("wq", L, d, d); Add("wk", L, kv, d); Add("wv", L, kv, d); Add("wo", L, d, d); Add("w1", L, ff, d); Add("w2", L, d, ff); Add("w3", L, ff, d);
        }
        if (!h.Shared) Add("wcls", V, d);
        long expected = h.DataOffset + 4 * order.Sum(o => o.Shape.Aggregate(1L, (a, x) => a * x));
        if (bytes.Length < expected)
            throw new ModelLoadException($"{path}: truncated llama2.c v{h.Version} checkpoint: {bytes.Length} bytes, expected {expected} for dim={h.Dim}, hidden_dim={h.HiddenDim}, n_layers={h.Layers}, n_heads={h.Heads}, n_kv_heads={h.KvHeads}, vocab={h.VocabSize}, seq_len={h.SeqLen}, shared_classifier={h.Shared}.");
        if (h.Version == 0 && bytes.Length != expected)
            throw new ModelLoadException($"{path}: {bytes.Length} bytes, expected exactly {expected} for a llama2.c v0 checkpoint with this header.");

        var model = new LlamaForCausalLM(ToConfig(h), device);
        var sd = model.state_dict();
        using var noGrad = no_grad();
        long offset = h.DataOffset;
        foreach (var (name, shape) in order)
        {
            long n = shape.Aggregate(1L, (a, x) => a * x);
            var floats = new float[n];
            Buffer.BlockCopy(bytes, (int)offset, floats, 0, (int)(4 * n));
            offset += 4 * n;
            using var t = tensor(floats, shape);
            switch (name)
            {
                case "emb": sd["model.embed_tokens.weight"].copy_(t); break;
                case "wcls": sd["lm_head.weight"].copy_(t); break;
                case "rms_final": sd["model.norm.weight"].copy_(t); break;
                case "freq_cis": break;   // recomputed
                default:
                    for (int l = 0; l < L; l++)
                    {
                        var w = t[l];
                        var (key, value) = name switch
                        {
                            "rms_att" => ("input_layernorm.weight", w),
                            "rms_ffn" => ("post_attention_layernorm.weight", w),
                            "wq" => ("self_attn.q_proj.weight", InterleavedToHalf(w, h.Heads)),
                            "wk" => ("self_attn.k_proj.weight", InterleavedToHalf(w, h.KvHeads)),
                            "wv" => ("self_attn.v_proj.weight", w),
                            "wo" => ("self_attn.o_proj.weight", w),
                            "w1" => ("mlp.gate_proj.weight", w),
                            "w2" => ("mlp.down_proj.weight", w),
                            "w3" => ("mlp.up_proj.weight", w),
                            _ => throw new InvalidOperationException(name),
                        };
                        sd[$"model.layers.{l}.{key}"].copy_(value);
                    }
                    break;
            }
        }
        return (model, h);
    }

    /// <summary>Permutes the rows of a q/k projection <c>[heads·D, in]</c> from the interleaved-pair RoPE layout to rotate_half.</summary>
    private static Tensor InterleavedToHalf(Tensor w, int heads)
    {
        long rows = w.shape[0], cols = w.shape[1], hd = rows / heads;
        return w.view(heads, hd / 2, 2, cols).transpose(1, 2).reshape(rows, cols);
    }
}
