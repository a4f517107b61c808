using AttnEval.Abstractions;
using AttnEval.Backends.TorchSharp.Modeling;
using AttnEval.ModelFiles.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace AttnEval.Backends.TorchSharp.Llama2c;

/// <summary>
/// Loads karpathy/llama2.c checkpoints (data/PROVENANCE.md §1.1–1.2) into <see cref="LlamaForCausalLM"/>. The file is
/// read by <see cref="Llama2cWeights"/> (shared with the ONNX exporter), which names the tensors as Hugging Face Llama
/// keys and permutes wq/wk from llama2.c's interleaved RoPE pairs to the rotate_half layout our Llama module uses.
/// </summary>
internal static class Llama2cCheckpoint
{
    /// <summary>The Llama configuration of a header (RMSNorm ε = 1e-5, RoPE base 10000, tied when shared).</summary>
    public static LlamaConfig ToConfig(Llama2cHeader h) =>
        new(h.VocabSize, h.Dim, h.HiddenDim, h.Layers, h.Heads, h.KvHeads)
        {
            RmsNormEps = 1e-5, RopeTheta = 10000, MaxPositionEmbeddings = h.SeqLen, TieWordEmbeddings = h.Shared,
            BosTokenId = 1, EosTokenIds = [2],
        };

    /// <summary>Loads a checkpoint into a new float32 model on <paramref name="device"/>.</summary>
    /// <exception cref="ModelLoadException">Missing, truncated or inconsistent file; the message names the file and the expected size.</exception>
    public static (LlamaForCausalLM Model, Llama2cHeader Header) Load(string path, Device? device, ScalarType dtype = ScalarType.Float32)
    {
        var (h, entries) = Llama2cWeights.Layout(path);
        var model = CheckpointLoader.Create(dtype, () => new LlamaForCausalLM(ToConfig(h), device));
        var sd = model.state_dict();
        using var noGrad = no_grad();
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        const int chunk = CheckpointLoader.ChunkBytes / 4;
        // One staging array (and one scratch array for the q/k permutation) per distinct tensor size, reused across layers,
        // so loading allocates a few layer-sized buffers in all rather than garbage per tensor.
        var staging = new Dictionary<long, (float[] Data, float[] Scratch)>();
        foreach (var e in entries)
        {
            var target = sd[e.Name];
            long count = e.Shape.Aggregate(1L, (a, x) => a * x);
            using var flat = target.view(-1);
            if (e.PermuteHeads > 0 || count <= chunk)
            {
                // One layer's matrix at a time (the q/k row permutation needs the whole matrix).
                if (!staging.TryGetValue(count, out var buffers))
                    staging[count] = buffers = (new float[count], e.PermuteHeads > 0 ? new float[count] : []);
                else if (e.PermuteHeads > 0 && buffers.Scratch.Length == 0)
                    staging[count] = buffers = (buffers.Data, new float[count]);
                Llama2cWeights.ReadInto(stream, e, buffers.Data, buffers.Scratch);
                using var value = tensor(buffers.Data);
                flat.copy_(value);
                continue;
            }
            if (!staging.TryGetValue(chunk, out var chunkBuffers)) staging[chunk] = chunkBuffers = (new float[chunk], []);
            for (long offset = 0; offset < count; offset += chunk)
            {
                int n = (int)Math.Min(chunk, count - offset);
                var part = n == chunk ? chunkBuffers.Data : new float[n];
                Llama2cWeights.ReadInto(stream, e with { Offset = e.Offset + 4 * offset, Shape = [n] }, part, default);
                using var value = tensor(part);
                using var slice = flat.narrow(0, offset, n);
                slice.copy_(value);
            }
        }
        return (model, h);
    }
}
