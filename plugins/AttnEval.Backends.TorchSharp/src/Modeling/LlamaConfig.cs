using System.Text.Json;
using System.Text.Json.Nodes;
using AttnEval.Abstractions;
using AttnEval.ModelFiles;

namespace AttnEval.Backends.TorchSharp.Modeling;

/// <summary>
/// RoPE frequency scaling (<c>rope_scaling</c> in a Hugging Face config).
/// </summary>
/// <param name="Type"><c>linear</c> (positions divided by <paramref name="Factor"/>) or <c>llama3</c>
/// (Llama 3.1 band-wise scaling of the inverse frequencies).</param>
/// <param name="Factor">Scale factor, &gt; 0.</param>
/// <param name="LowFreqFactor"><c>low_freq_factor</c> (llama3 only).</param>
/// <param name="HighFreqFactor"><c>high_freq_factor</c> (llama3 only).</param>
/// <param name="OriginalMaxPositionEmbeddings"><c>original_max_position_embeddings</c> (llama3 only).</param>
public sealed record RopeScaling(string Type, double Factor, double LowFreqFactor = 1, double HighFreqFactor = 4, int OriginalMaxPositionEmbeddings = 8192);

/// <summary>
/// Shape of a Llama-family decoder (Llama, Mistral, Qwen2), with the Hugging Face <c>config.json</c> key of each field.
/// </summary>
/// <param name="VocabSize"><c>vocab_size</c>.</param>
/// <param name="HiddenSize"><c>hidden_size</c>, the residual width d_model.</param>
/// <param name="IntermediateSize"><c>intermediate_size</c>, the SwiGLU hidden width.</param>
/// <param name="NumHiddenLayers"><c>num_hidden_layers</c>.</param>
/// <param name="NumAttentionHeads"><c>num_attention_heads</c> (query heads).</param>
/// <param name="NumKeyValueHeads"><c>num_key_value_heads</c> (GQA; divides the query heads).</param>
public sealed record LlamaConfig(int VocabSize, int HiddenSize, int IntermediateSize, int NumHiddenLayers, int NumAttentionHeads, int NumKeyValueHeads)
{
    /// <summary><c>model_type</c>: <c>llama</c>, <c>mistral</c> or <c>qwen2</c>.</summary>
    public string ModelType { get; init; } = "llama";
    /// <summary><c>head_dim</c>; defaults to hidden_size / num_attention_heads.</summary>
    public int HeadDim { get; init; } = NumAttentionHeads > 0 ? HiddenSize / NumAttentionHeads : 0;
    /// <summary><c>rms_norm_eps</c>, the ε inside RMSNorm's square root.</summary>
    public double RmsNormEps { get; init; } = 1e-6;
    /// <summary><c>rope_theta</c>, the RoPE base.</summary>
    public double RopeTheta { get; init; } = 10000;
    /// <summary><c>rope_scaling</c>, or null.</summary>
    public RopeScaling? RopeScaling { get; init; }
    /// <summary><c>max_position_embeddings</c>, the context length in tokens.</summary>
    public int MaxPositionEmbeddings { get; init; } = 2048;
    /// <summary><c>tie_word_embeddings</c>: the output projection reuses the token embedding (no <c>lm_head.weight</c>).</summary>
    public bool TieWordEmbeddings { get; init; }
    /// <summary><c>attention_bias</c>: q/k/v/o projections carry biases (Llama); Qwen2 has q/k/v biases only (<see cref="QkvBias"/>).</summary>
    public bool AttentionBias { get; init; }
    /// <summary>q/k/v projections carry biases (true for Qwen2 or when <c>attention_bias</c> is set).</summary>
    public bool QkvBias => AttentionBias || ModelType == "qwen2";
    /// <summary><c>bos_token_id</c>, or null.</summary>
    public int? BosTokenId { get; init; }
    /// <summary><c>eos_token_id</c> (one or several ids).</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];

    /// <summary>Checks the shapes are consistent.</summary>
    /// <exception cref="ModelLoadException">A non-positive size or heads that do not divide.</exception>
    public void Validate(string source)
    {
        if (VocabSize <= 0 || HiddenSize <= 0 || IntermediateSize <= 0 || NumHiddenLayers <= 0 || NumAttentionHeads <= 0 || NumKeyValueHeads <= 0 || HeadDim <= 0)
            throw new ModelLoadException($"{source}: sizes must be positive (vocab_size={VocabSize}, hidden_size={HiddenSize}, intermediate_size={IntermediateSize}, num_hidden_layers={NumHiddenLayers}, num_attention_heads={NumAttentionHeads}, num_key_value_heads={NumKeyValueHeads}, head_dim={HeadDim}).");
        if (NumAttentionHeads % NumKeyValueHeads != 0)
            throw new ModelLoadException($"{source}: num_attention_heads={NumAttentionHeads} is not a multiple of num_key_value_heads={NumKeyValueHeads}.");
        if (HeadDim % 2 != 0) throw new ModelLoadException($"{source}: head_dim={HeadDim} must be even for RoPE.");
        if (RopeScaling is { } s && s.Type is not ("linear" or "llama3" or "default"))
            throw new ModelLoadException($"{source}: rope_scaling type '{s.Type}' is not supported (expected linear or llama3).");
    }

    /// <summary>Reads a Hugging Face <c>config.json</c> (model_type llama, mistral or qwen2).</summary>
    /// <exception cref="ModelLoadException">Missing or mistyped key; the message names the file and the key.</exception>
    public static LlamaConfig FromFile(string path) => FromReader(ConfigReader.Open(path));

    internal static LlamaConfig FromReader(ConfigReader r)
    {
        int heads = r.Int("num_attention_heads"), hidden = r.Int("hidden_size");
        RopeScaling? scaling = null;
        if (r.Element("rope_scaling") is { ValueKind: JsonValueKind.Object } rs)
        {
            var sr = new ConfigReader(rs, r.File + " (rope_scaling)");
            var type = sr.String("rope_type") ?? sr.String("type") ?? "default";
            // llama3 scaling has no defaults in Hugging Face (its config validation requires all four keys).
            if (type == "llama3")
                scaling = new RopeScaling(type, sr.Double("factor"), sr.Double("low_freq_factor"), sr.Double("high_freq_factor"),
                    sr.Int("original_max_position_embeddings"));
            else if (type != "default")
                scaling = new RopeScaling(type, sr.Double("factor"));
        }
        var bos = r.Ids("bos_token_id");
        var cfg = new LlamaConfig(r.Int("vocab_size"), hidden, r.Int("intermediate_size"), r.Int("num_hidden_layers"), heads, r.Int("num_key_value_heads", heads))
        {
            ModelType = r.String("model_type") ?? "llama",
            HeadDim = r.Int("head_dim", hidden / Math.Max(1, heads)),
            RmsNormEps = r.Double("rms_norm_eps", 1e-6),
            RopeTheta = r.Double("rope_theta", 10000),
            RopeScaling = scaling,
            MaxPositionEmbeddings = r.Int("max_position_embeddings", 2048),
            TieWordEmbeddings = r.Bool("tie_word_embeddings", false),
            AttentionBias = r.Bool("attention_bias", false),
            BosTokenId = bos.Count > 0 ? bos[0] : null,
            EosTokenIds = r.Ids("eos_token_id"),
        };
        cfg.Validate(r.File);
        return cfg;
    }

    /// <summary>The Hugging Face <c>config.json</c> text of this configuration (architectures LlamaForCausalLM etc.).</summary>
    public string ToJson()
    {
        var o = new JsonObject
        {
            ["architectures"] = new JsonArray(ModelType switch { "qwen2" => "Qwen2ForCausalLM", "mistral" => "MistralForCausalLM", _ => "LlamaForCausalLM" }),
            ["model_type"] = ModelType,
            ["vocab_size"] = VocabSize,
            ["hidden_size"] = HiddenSize,
            ["intermediate_size"] = IntermediateSize,
            ["num_hidden_layers"] = NumHiddenLayers,
            ["num_attention_heads"] = NumAttentionHeads,
            ["num_key_value_heads"] = NumKeyValueHeads,
            ["head_dim"] = HeadDim,
            ["hidden_act"] = "silu",
            ["rms_norm_eps"] = RmsNormEps,
            ["rope_theta"] = RopeTheta,
            ["max_position_embeddings"] = MaxPositionEmbeddings,
            ["tie_word_embeddings"] = TieWordEmbeddings,
            ["attention_bias"] = AttentionBias,
            ["torch_dtype"] = "float32",
        };
        if (RopeScaling is { } s)
            o["rope_scaling"] = new JsonObject
            {
                ["rope_type"] = s.Type, ["factor"] = s.Factor, ["low_freq_factor"] = s.LowFreqFactor,
                ["high_freq_factor"] = s.HighFreqFactor, ["original_max_position_embeddings"] = s.OriginalMaxPositionEmbeddings,
            };
        if (BosTokenId is { } b) o["bos_token_id"] = b;
        if (EosTokenIds.Count == 1) o["eos_token_id"] = EosTokenIds[0];
        else if (EosTokenIds.Count > 1) o["eos_token_id"] = new JsonArray(EosTokenIds.Select(i => (JsonNode)i).ToArray());
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}
