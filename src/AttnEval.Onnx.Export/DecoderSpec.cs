using System.Text.Json;
using System.Text.Json.Nodes;
using AttnEval.Abstractions;
using AttnEval.ModelFiles;
using AttnEval.ModelFiles.Weights;

namespace AttnEval.Onnx.Export;

/// <summary>
/// What the exporter needs to know of a decoder, with the Hugging Face config key of each field. Families:
/// <c>llama</c> (also <c>mistral</c>, <c>qwen2</c>: RMSNorm, RoPE rotate_half with <c>rope_theta</c>/<c>rope_scaling</c>,
/// GQA, SwiGLU, optional q/k/v(/o) biases, tied embeddings) and <c>gpt2</c> (LayerNorm, learned positions, gelu_new).
/// </summary>
internal sealed record DecoderSpec
{
    public required string ModelType { get; init; }
    public bool IsGpt2 => ModelType == "gpt2";
    public required int VocabSize { get; init; }             // vocab_size
    public required int HiddenSize { get; init; }            // hidden_size / n_embd
    public required int IntermediateSize { get; init; }      // intermediate_size / n_inner
    public required int Layers { get; init; }                // num_hidden_layers / n_layer
    public required int Heads { get; init; }                 // num_attention_heads / n_head
    public required int KvHeads { get; init; }               // num_key_value_heads
    public required int HeadDim { get; init; }               // head_dim
    public required double NormEps { get; init; }            // rms_norm_eps / layer_norm_epsilon
    public double RopeTheta { get; init; } = 10000;          // rope_theta
    public JsonObject? RopeScaling { get; init; }            // rope_scaling
    public required int ContextLength { get; init; }         // max_position_embeddings / n_positions
    public bool TieWordEmbeddings { get; init; }             // tie_word_embeddings (always for gpt2)
    public bool QkvBias { get; init; }                       // qwen2, or attention_bias
    public bool OBias { get; init; }                         // attention_bias

    /// <summary>Reads config.json of a Hugging Face folder.</summary>
    /// <exception cref="ModelLoadException">Unsupported <c>model_type</c> or a missing/mistyped key.</exception>
    public static DecoderSpec FromConfig(string path)
    {
        var r = ConfigReader.Open(path);
        var type = r.String("model_type") ?? throw new ModelLoadException($"{path}: missing key 'model_type' (expected llama, mistral, qwen2 or gpt2).");
        if (type == "gpt2")
        {
            int embd = r.Int("n_embd"), heads = r.Int("n_head");
            var act = r.String("activation_function") ?? "gelu_new";
            if (act is not ("gelu_new" or "gelu_pytorch_tanh"))
                throw new ModelLoadException($"{path}: activation_function '{act}' is not supported by the exporter (expected gelu_new).");
            return Checked(path, new DecoderSpec
            {
                ModelType = type, VocabSize = r.Int("vocab_size"), HiddenSize = embd, IntermediateSize = r.Int("n_inner", 4 * embd),
                Layers = r.Int("n_layer"), Heads = heads, KvHeads = heads, HeadDim = heads > 0 ? embd / heads : 0,
                NormEps = r.Double("layer_norm_epsilon", 1e-5), ContextLength = r.Int("n_positions"), TieWordEmbeddings = true, QkvBias = true, OBias = true,
            });
        }
        if (type is not ("llama" or "mistral" or "qwen2"))
            throw new ModelLoadException($"{path}: model_type '{type}' is not supported by the exporter (expected llama, mistral, qwen2 or gpt2).");
        int h = r.Int("num_attention_heads"), hidden = r.Int("hidden_size");
        bool bias = r.Bool("attention_bias", false);
        var scaling = r.Element("rope_scaling") is { ValueKind: JsonValueKind.Object } rs ? JsonNode.Parse(rs.GetRawText())!.AsObject() : null;
        var kind = scaling?["rope_type"]?.GetValue<string>() ?? scaling?["type"]?.GetValue<string>();
        if (kind is not (null or "default" or "linear" or "llama3"))
            throw new ModelLoadException($"{path}: rope_scaling type '{kind}' is not supported (expected linear or llama3).");
        string[] required = kind switch { "linear" => ["factor"], "llama3" => ["factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"], _ => [] };
        foreach (var key in required)
            if (scaling![key] is not JsonValue v || !v.TryGetValue<double>(out _))
                throw new ModelLoadException($"{path}: rope_scaling of type '{kind}' lacks the number '{key}' (required: {string.Join(", ", required)}).");
        return Checked(path, new DecoderSpec
        {
            ModelType = type, VocabSize = r.Int("vocab_size"), HiddenSize = hidden, IntermediateSize = r.Int("intermediate_size"),
            Layers = r.Int("num_hidden_layers"), Heads = h, KvHeads = r.Int("num_key_value_heads", h), HeadDim = r.Int("head_dim", hidden / Math.Max(1, h)),
            NormEps = r.Double("rms_norm_eps", 1e-6), RopeTheta = r.Double("rope_theta", 10000), RopeScaling = kind is null or "default" ? null : scaling,
            ContextLength = r.Int("max_position_embeddings", 2048), TieWordEmbeddings = r.Bool("tie_word_embeddings", false),
            QkvBias = bias || type == "qwen2", OBias = bias,
        });
    }

    /// <summary>The Llama configuration of a llama2.c header (RMSNorm ε = 1e-5, RoPE base 10000, as run.c).</summary>
    public static DecoderSpec FromLlama2c(Llama2cHeader h) => new()
    {
        ModelType = "llama", VocabSize = h.VocabSize, HiddenSize = h.Dim, IntermediateSize = h.HiddenDim, Layers = h.Layers,
        Heads = h.Heads, KvHeads = h.KvHeads, HeadDim = h.Dim / h.Heads, NormEps = 1e-5, RopeTheta = 10000, ContextLength = h.SeqLen,
        TieWordEmbeddings = h.Shared,
    };

    private static DecoderSpec Checked(string path, DecoderSpec s)
    {
        if (s.VocabSize <= 0 || s.HiddenSize <= 0 || s.IntermediateSize <= 0 || s.Layers <= 0 || s.Heads <= 0 || s.KvHeads <= 0 || s.HeadDim <= 0
            || s.Heads % s.KvHeads != 0 || (!s.IsGpt2 && s.HeadDim % 2 != 0) || s.ContextLength <= 0)
            throw new ModelLoadException($"{path}: inconsistent sizes (vocab={s.VocabSize}, hidden={s.HiddenSize}, intermediate={s.IntermediateSize}, layers={s.Layers}, heads={s.Heads}, kv_heads={s.KvHeads}, head_dim={s.HeadDim} (even for RoPE), context={s.ContextLength}).");
        return s;
    }

    /// <summary>RoPE inverse frequencies θ_i = base^(−2i/d) with the optional llama3 band scaling (Llama 3.1), as float32.</summary>
    public float[] InverseFrequencies()
    {
        var inv = new float[HeadDim / 2];
        string? type = RopeScaling?["rope_type"]?.GetValue<string>() ?? RopeScaling?["type"]?.GetValue<string>();
        double F(string key, double fallback) => RopeScaling?[key]?.GetValue<double>() ?? fallback;
        for (int i = 0; i < inv.Length; i++)
        {
            double f = 1.0 / Math.Pow(RopeTheta, 2.0 * i / HeadDim);
            if (type == "llama3")
            {
                double factor = F("factor", 1), low = F("low_freq_factor", 1), high = F("high_freq_factor", 4), original = F("original_max_position_embeddings", 8192);
                double wave = 2 * Math.PI / f;
                if (wave > original / low) f /= factor;
                else if (wave >= original / high)
                {
                    double smooth = (original / wave - low) / (high - low);
                    f = (1 - smooth) * f / factor + smooth * f;
                }
            }
            inv[i] = (float)f;
        }
        return inv;
    }

    /// <summary>Positions are multiplied by this before the rotation (linear RoPE scaling: 1/factor).</summary>
    public double PositionScale =>
        (RopeScaling?["rope_type"]?.GetValue<string>() ?? RopeScaling?["type"]?.GetValue<string>()) == "linear" ? 1 / RopeScaling!["factor"]!.GetValue<double>() : 1;

    /// <summary>A Hugging Face config.json for this spec (written beside an export of a llama2.c checkpoint).</summary>
    public string ToConfigJson(int? bos, IReadOnlyList<int> eos) => new JsonObject
    {
        ["architectures"] = new JsonArray("LlamaForCausalLM"),
        ["model_type"] = ModelType, ["vocab_size"] = VocabSize, ["hidden_size"] = HiddenSize, ["intermediate_size"] = IntermediateSize,
        ["num_hidden_layers"] = Layers, ["num_attention_heads"] = Heads, ["num_key_value_heads"] = KvHeads, ["head_dim"] = HeadDim,
        ["hidden_act"] = "silu", ["rms_norm_eps"] = NormEps, ["rope_theta"] = RopeTheta, ["max_position_embeddings"] = ContextLength,
        ["tie_word_embeddings"] = TieWordEmbeddings, ["bos_token_id"] = bos, ["eos_token_id"] = eos.Count == 1 ? eos[0] : new JsonArray(eos.Select(e => (JsonNode)e).ToArray()),
    }.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
}
