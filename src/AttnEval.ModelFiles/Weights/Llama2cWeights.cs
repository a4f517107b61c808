using System.Buffers.Binary;
using AttnEval.Abstractions;

namespace AttnEval.ModelFiles.Weights;

/// <summary>
/// The header of a karpathy/llama2.c checkpoint (data/PROVENANCE.md §1.1–1.2).
/// </summary>
/// <param name="Dim">d_model (<c>hidden_size</c>).</param>
/// <param name="HiddenDim">SwiGLU width (<c>intermediate_size</c>).</param>
/// <param name="Layers">Number of blocks.</param>
/// <param name="Heads">Query heads.</param>
/// <param name="KvHeads">Key/value heads.</param>
/// <param name="VocabSize">Vocabulary size (absolute value of the v0 field).</param>
/// <param name="SeqLen">Context length.</param>
/// <param name="Shared">The classifier is the token embedding (v0: vocab &gt; 0; v1: the shared_classifier byte).</param>
/// <param name="Version">0 (legacy) or 1 (magic "ak42").</param>
/// <param name="DataOffset">Byte offset of the first tensor (28 or 256).</param>
public sealed record Llama2cHeader(int Dim, int HiddenDim, int Layers, int Heads, int KvHeads, int VocabSize, int SeqLen, bool Shared, int Version, int DataOffset);

/// <summary>One tensor of a llama2.c checkpoint under its Hugging Face name.</summary>
/// <param name="Name">Hugging Face parameter name.</param>
/// <param name="Shape">Shape (PyTorch Linear layout <c>[out, in]</c>).</param>
/// <param name="Offset">Byte offset of its float32 data in the file.</param>
/// <param name="PermuteHeads">For <c>wq</c>/<c>wk</c>: the head count of the interleaved-to-rotate-half row permutation; 0 for none.</param>
public sealed record Llama2cEntry(string Name, int[] Shape, long Offset, int PermuteHeads);

/// <summary>
/// Reads llama2.c checkpoints into float32 tensors with Hugging Face Llama names, the legacy v0 layout (7 int32 header,
/// tensors grouped by kind, freq_cis tables skipped, negative vocab = untied classifier) and the version-1 layout
/// (256-byte header, magic 0x616b3432). RMSNorm ε is 1e-5 and the RoPE base 10000 (run.c).
/// </summary>
/// <remarks>
/// RoPE layout: llama2.c rotates adjacent pairs (2i, 2i+1) of each head (Meta layout); Hugging Face Llama rotates
/// (i, i + D/2) (rotate_half). The rows of wq and wk are permuted within each head (new row i ← old row 2i, new row
/// D/2 + i ← old row 2i + 1); the same permutation of q and k leaves every dot product, hence the attention pattern and
/// the output, unchanged, and the pair frequencies agree (θ_i = 10000^(−2i/D)).
/// </remarks>
public static class Llama2cWeights
{
    private const uint MagicV1 = 0x616b3432;

    /// <summary>Reads the header from the first bytes of a checkpoint.</summary>
    /// <exception cref="ModelLoadException">Truncated or inconsistent header.</exception>
    public static Llama2cHeader ReadHeader(string path, ReadOnlySpan<byte> b)
    {
        if (b.Length < 28) throw new ModelLoadException($"{path}: truncated llama2.c checkpoint ({b.Length} bytes, the header alone needs 28).");
        int I(ReadOnlySpan<byte> s, int off) => BinaryPrimitives.ReadInt32LittleEndian(s[off..]);
        Llama2cHeader h;
        if (BinaryPrimitives.ReadUInt32LittleEndian(b) == MagicV1)
        {
            if (b.Length < 256) throw new ModelLoadException($"{path}: truncated llama2.c v1 checkpoint ({b.Length} bytes, the header needs 256).");
            int version = I(b, 4);
            if (version != 1) throw new ModelLoadException($"{path}: llama2.c checkpoint version {version} is not supported (expected 1, or the legacy v0 layout).");
            h = new Llama2cHeader(I(b, 8), I(b, 12), I(b, 16), I(b, 20), I(b, 24), I(b, 28), I(b, 32), b[36] != 0, 1, 256);
        }
        else
        {
            int vocab = I(b, 20);
            h = new Llama2cHeader(I(b, 0), I(b, 4), I(b, 8), I(b, 12), I(b, 16), Math.Abs(vocab), I(b, 24), vocab > 0, 0, 28);
        }
        if (h.Dim <= 0 || h.HiddenDim <= 0 || h.Layers <= 0 || h.Heads <= 0 || h.KvHeads <= 0 || h.VocabSize <= 0 || h.SeqLen <= 0
            || h.Dim % h.Heads != 0 || h.Heads % h.KvHeads != 0 || h.Dim > 1 << 16 || h.Layers > 1024)
            throw new ModelLoadException($"{path}: not a llama2.c checkpoint (header dim={h.Dim}, hidden_dim={h.HiddenDim}, n_layers={h.Layers}, n_heads={h.Heads}, n_kv_heads={h.KvHeads}, vocab_size={h.VocabSize}, seq_len={h.SeqLen}).");
        return h;
    }

    /// <summary>Where each tensor of a llama2.c checkpoint lies, under Hugging Face names, read from the header alone (the
    /// file size is checked against it): per-layer slices of the stacked arrays, <c>freq_cis</c> left out (recomputed from
    /// the RoPE base), <c>wq</c>/<c>wk</c> marked for the row permutation from interleaved to rotate-half pairs.</summary>
    /// <exception cref="ModelLoadException">Missing, truncated or inconsistent file.</exception>
    public static (Llama2cHeader Header, IReadOnlyList<Llama2cEntry> Entries) Layout(string path)
    {
        if (!File.Exists(path)) throw new ModelLoadException($"{path}: file not found (expected a llama2.c checkpoint).");
        long length = new FileInfo(path).Length;
        var headBytes = new byte[Math.Min(256, length)];
        using (var s = File.OpenRead(path)) s.ReadExactly(headBytes);
        var h = ReadHeader(path, headBytes);
        int d = h.Dim, ff = h.HiddenDim, L = h.Layers, V = h.VocabSize, hs = h.Dim / h.Heads, kv = hs * h.KvHeads;
        var order = new List<(string Kind, int[] Shape)>();
        void Add(string kind, params int[] shape) => order.Add((kind, shape));
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
        if (length < expected)
            throw new ModelLoadException($"{path}: truncated llama2.c v{h.Version} checkpoint: {length} bytes, expected {expected} for dim={h.Dim}, hidden_dim={h.HiddenDim}, n_layers={h.Layers}, n_heads={h.Heads}, n_kv_heads={h.KvHeads}, vocab={h.VocabSize}, seq_len={h.SeqLen}, shared_classifier={h.Shared}.");
        if (h.Version == 0 && length != expected)
            throw new ModelLoadException($"{path}: {length} bytes, expected exactly {expected} for a llama2.c v0 checkpoint with this header.");

        var entries = new List<Llama2cEntry>();
        long offset = h.DataOffset;
        foreach (var (kind, shape) in order)
        {
            long n = shape.Aggregate(1L, (a, x) => a * x);
            switch (kind)
            {
                case "emb": entries.Add(new("model.embed_tokens.weight", shape, offset, 0)); break;
                case "wcls": entries.Add(new("lm_head.weight", shape, offset, 0)); break;
                case "rms_final": entries.Add(new("model.norm.weight", shape, offset, 0)); break;
                case "freq_cis": break;
                default:
                    var per = shape[1..];
                    long size = n / L;
                    var key = kind switch
                    {
                        "rms_att" => "input_layernorm.weight",
                        "rms_ffn" => "post_attention_layernorm.weight",
                        "wq" => "self_attn.q_proj.weight",
                        "wk" => "self_attn.k_proj.weight",
                        "wv" => "self_attn.v_proj.weight",
                        "wo" => "self_attn.o_proj.weight",
                        "w1" => "mlp.gate_proj.weight",
                        "w2" => "mlp.down_proj.weight",
                        "w3" => "mlp.up_proj.weight",
                        _ => throw new InvalidOperationException(kind),
                    };
                    int permute = kind == "wq" ? h.Heads : kind == "wk" ? h.KvHeads : 0;
                    for (int l = 0; l < L; l++) entries.Add(new($"model.layers.{l}.{key}", per, offset + 4 * l * size, permute));
                    break;
            }
            offset += 4 * n;
        }
        return (h, entries);
    }

    /// <summary>Reads one tensor (float32, little-endian) into <paramref name="destination"/> (length = its element count),
    /// applying the <c>wq</c>/<c>wk</c> row permutation through <paramref name="scratch"/> (same length; unused otherwise).</summary>
    public static void ReadInto(Stream stream, Llama2cEntry entry, Span<float> destination, Span<float> scratch)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("llama2.c checkpoints are little-endian");
        stream.Position = entry.Offset;
        if (entry.PermuteHeads == 0)
        {
            stream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(destination));
            return;
        }
        stream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(scratch));
        InterleavedToHalf(scratch, destination, entry.PermuteHeads, entry.Shape[^1]);
    }

    /// <summary>Reads every tensor of a llama2.c checkpoint into float32 arrays under Hugging Face names (for the exporter;
    /// the backend streams with <see cref="Layout"/> and <see cref="ReadInto"/> instead).</summary>
    /// <exception cref="ModelLoadException">Missing, truncated or inconsistent file.</exception>
    public static (Llama2cHeader Header, Dictionary<string, WeightTensor> Tensors) Read(string path)
    {
        var (h, entries) = Layout(path);
        var tensors = new Dictionary<string, WeightTensor>(StringComparer.Ordinal);
        using var s = File.OpenRead(path);
        foreach (var e in entries)
        {
            var data = new float[e.Shape.Aggregate(1L, (a, x) => a * x)];
            ReadInto(s, e, data, e.PermuteHeads > 0 ? new float[data.Length] : default);
            tensors[e.Name] = new WeightTensor(e.Name, e.Shape, data);
        }
        return (h, tensors);
    }

    private static void InterleavedToHalf(ReadOnlySpan<float> w, Span<float> r, int heads, int cols)
    {
        int rows = w.Length / cols, hd = rows / heads;
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < hd / 2; i++)
            {
                w.Slice((h * hd + 2 * i) * cols, cols).CopyTo(r.Slice((h * hd + i) * cols, cols));
                w.Slice((h * hd + 2 * i + 1) * cols, cols).CopyTo(r.Slice((h * hd + hd / 2 + i) * cols, cols));
            }
    }
}
