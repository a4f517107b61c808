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
    public static (LlamaForCausalLM Model, Llama2cHeader Header) Load(string path, Device? device)
    {
        var (h, tensors) = Llama2cWeights.Read(path);
        var model = new LlamaForCausalLM(ToConfig(h), device);
        var sd = model.state_dict();
        using var noGrad = no_grad();
        foreach (var t in tensors.Values)
        {
            using var value = tensor(t.Data, t.Shape.Select(x => (long)x).ToArray());
            sd[t.Name].copy_(value);
        }
        return (model, h);
    }
}
