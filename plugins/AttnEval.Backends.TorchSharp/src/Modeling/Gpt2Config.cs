using System.Text.Json;
using System.Text.Json.Nodes;
using AttnEval.Abstractions;
using AttnEval.ModelFiles;

namespace AttnEval.Backends.TorchSharp.Modeling;

/// <summary>Shape of a GPT-2 decoder, with the Hugging Face <c>config.json</c> key of each field.</summary>
/// <param name="VocabSize"><c>vocab_size</c>.</param>
/// <param name="NEmbd"><c>n_embd</c>, the residual width.</param>
/// <param name="NLayer"><c>n_layer</c>.</param>
/// <param name="NHead"><c>n_head</c>.</param>
/// <param name="NPositions"><c>n_positions</c>, the context length (learned position embeddings).</param>
public sealed record Gpt2Config(int VocabSize, int NEmbd, int NLayer, int NHead, int NPositions)
{
    /// <summary><c>n_inner</c>, the MLP width; defaults to 4·n_embd.</summary>
    public int NInner { get; init; } = 4 * NEmbd;
    /// <summary><c>layer_norm_epsilon</c>.</summary>
    public double LayerNormEpsilon { get; init; } = 1e-5;
    /// <summary><c>bos_token_id</c>, or null.</summary>
    public int? BosTokenId { get; init; }
    /// <summary><c>eos_token_id</c> (one or several ids).</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];

    /// <summary>Reads a Hugging Face GPT-2 <c>config.json</c>.</summary>
    /// <exception cref="ModelLoadException">Missing or mistyped key; the message names the file and the key.</exception>
    public static Gpt2Config FromFile(string path) => FromReader(ConfigReader.Open(path));

    internal static Gpt2Config FromReader(ConfigReader r)
    {
        int embd = r.Int("n_embd"), heads = r.Int("n_head");
        var act = r.String("activation_function") ?? "gelu_new";
        if (act is not ("gelu_new" or "gelu_pytorch_tanh" or "gelu"))
            throw new ModelLoadException($"{r.File}: activation_function '{act}' is not supported (expected gelu_new).");
        var bos = r.Ids("bos_token_id");
        var cfg = new Gpt2Config(r.Int("vocab_size"), embd, r.Int("n_layer"), heads, r.Int("n_positions"))
        {
            NInner = r.Int("n_inner", 4 * embd),
            LayerNormEpsilon = r.Double("layer_norm_epsilon", 1e-5),
            BosTokenId = bos.Count > 0 ? bos[0] : null,
            EosTokenIds = r.Ids("eos_token_id"),
        };
        if (embd <= 0 || heads <= 0 || embd % heads != 0 || cfg.NLayer <= 0 || cfg.VocabSize <= 0 || cfg.NPositions <= 0)
            throw new ModelLoadException($"{r.File}: inconsistent sizes (n_embd={embd} must be a positive multiple of n_head={heads}; n_layer, vocab_size, n_positions > 0).");
        return cfg;
    }

    /// <summary>The Hugging Face <c>config.json</c> text of this configuration.</summary>
    public string ToJson() => new JsonObject
    {
        ["architectures"] = new JsonArray("GPT2LMHeadModel"),
        ["model_type"] = "gpt2",
        ["vocab_size"] = VocabSize,
        ["n_embd"] = NEmbd,
        ["n_layer"] = NLayer,
        ["n_head"] = NHead,
        ["n_positions"] = NPositions,
        ["n_inner"] = NInner,
        ["layer_norm_epsilon"] = LayerNormEpsilon,
        ["activation_function"] = "gelu_new",
    }.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
}
