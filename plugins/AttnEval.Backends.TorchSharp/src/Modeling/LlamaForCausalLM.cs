using AttnEval.Abstractions;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace AttnEval.Backends.TorchSharp.Modeling;

/// <summary>
/// Llama-family causal language model (Llama, Mistral, Qwen2; also llama2.c checkpoints) with Hugging Face
/// state-dict names (<c>model.embed_tokens.weight</c>, <c>model.layers.{l}.self_attn.q_proj.weight</c>, …,
/// <c>lm_head.weight</c> unless tied), so TorchSharp.PyBridge <c>load_safetensors</c>/<c>save_safetensors</c>
/// read and write the Hugging Face layout. Differentiable: usable for training (the lab model) as well as
/// for evaluation through the backend.
/// </summary>
/// <remarks>Architecture: token embedding → L × (RMSNorm → GQA attention with RoPE → residual; RMSNorm → SwiGLU →
/// residual) → RMSNorm → output projection. Parameters are created in float32 on <c>device</c>; use <c>to(dtype)</c>
/// to change the compute dtype.</remarks>
public sealed class LlamaForCausalLM : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006
    private readonly LlamaModel model;
    private readonly Linear? lm_head;
#pragma warning restore IDE1006

    /// <summary>Creates the model with TorchSharp's default initialisation (call <see cref="InitializeWeights"/> for the HF scheme).</summary>
    /// <param name="config">Shapes; validated.</param>
    /// <param name="device">Device of the parameters; CPU when null.</param>
    /// <exception cref="ModelLoadException">Inconsistent configuration.</exception>
    public LlamaForCausalLM(LlamaConfig config, Device? device = null) : base(nameof(LlamaForCausalLM))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate("LlamaConfig");
        Config = config;
        model = new LlamaModel(config, device);
        if (!config.TieWordEmbeddings) lm_head = nn.Linear(config.HiddenSize, config.VocabSize, hasBias: false, device: device);
        RegisterComponents();
    }

    /// <summary>The configuration.</summary>
    public LlamaConfig Config { get; }

    /// <summary>Hugging Face initialisation: every linear and embedding weight ~ N(0, std²), biases 0, norm weights 1.</summary>
    /// <param name="std">Standard deviation (HF <c>initializer_range</c>, 0.02).</param>
    /// <param name="seed">Seed of the generator used.</param>
    public void InitializeWeights(double std = 0.02, long seed = 0)
    {
        using var noGrad = no_grad();
        var gen = new Generator((ulong)seed);
        foreach (var (name, p) in named_parameters())
        {
            if (name.EndsWith("layernorm.weight", StringComparison.Ordinal) || name.EndsWith("norm.weight", StringComparison.Ordinal)) p.fill_(1);
            else if (name.EndsWith(".bias", StringComparison.Ordinal)) p.zero_();
            else p.normal_(0, std, gen);
        }
    }

    /// <summary>Logits for a batch of token ids at positions 0..T−1 with a causal mask.</summary>
    /// <param name="inputIds">Token ids, int64 <c>[B, T]</c>.</param>
    /// <returns>Float32 logits <c>[B, T, V]</c>.</returns>
    public override Tensor forward(Tensor inputIds) => Forward(inputIds);

    /// <summary>Differentiable forward for training and analysis.</summary>
    /// <param name="inputIds">Token ids, int64 <c>[B, T]</c>.</param>
    /// <param name="positionIds">Positions, int64 <c>[B, T]</c> or <c>[T]</c> (e.g. restarting at 0 for each packed sample); 0..T−1 when null.</param>
    /// <param name="attentionMask">Extra mask combined with the causal mask: bool (true = may attend) or additive float,
    /// broadcastable to <c>[B, H, T, T]</c> (e.g. <c>[B, 1, T, T]</c> block-diagonal for packed samples); none when null.</param>
    /// <returns>Float32 logits <c>[B, T, V]</c>.</returns>
    public Tensor Forward(Tensor inputIds, Tensor? positionIds = null, Tensor? attentionMask = null) =>
        Run(inputIds, positionIds, attentionMask, null, null);

    internal Tensor Run(Tensor ids, Tensor? positions, Tensor? mask, KvCache? cache, CallControl? control)
    {
        using var scope = NewDisposeScope();
        int past = cache?.Length ?? 0;
        positions ??= arange(past, past + ids.shape[1], ScalarType.Int64, ids.device);
        var h = model.Forward(ids, positions, mask, cache, control);                                  // [B, T, d]
        control?.OfferFinalHidden(h);
        var logits = lm_head is null ? h.matmul(model.EmbeddingWeight.t()) : lm_head.forward(h);     // [B, T, V]
        return logits.to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>Writes the Hugging Face layout: <c>config.json</c> and <c>model.safetensors</c> (parameters in their current dtype).</summary>
    /// <param name="directory">Target folder (created when missing).</param>
    public void SavePretrained(string directory)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "config.json"), Config.ToJson());
        this.save_safetensors(Path.Combine(directory, "model.safetensors"));
    }

    /// <summary>Loads a Hugging Face folder (<c>config.json</c> + <c>model.safetensors</c> or a sharded index).</summary>
    /// <param name="directory">Model folder.</param>
    /// <param name="device">Device; CPU when null.</param>
    /// <param name="dtype">Compute dtype (float32, float16 or bfloat16); weights of any of these dtypes are converted.</param>
    /// <exception cref="ModelLoadException">Missing/malformed config key, missing/unexpected tensor or wrong shape; the message names file and key.</exception>
    public static LlamaForCausalLM FromPretrained(string directory, Device? device = null, ScalarType dtype = ScalarType.Float32) =>
        FromPretrained(directory, device, dtype, out _);

    /// <summary>Loads a Hugging Face folder, parameters created directly in <paramref name="dtype"/> and filled tensor by
    /// tensor (peak memory ≈ the parameters plus one 16 MiB chunk).</summary>
    /// <param name="directory">Model folder.</param>
    /// <param name="device">Device; CPU when null.</param>
    /// <param name="dtype">Compute dtype.</param>
    /// <param name="warnings">Faults that do not stop the load (a tied model whose file carries a different lm_head.weight).</param>
    /// <exception cref="ModelLoadException">Missing/malformed config key, missing/unconsumed tensor, wrong shape or a faulty file.</exception>
    public static LlamaForCausalLM FromPretrained(string directory, Device? device, ScalarType dtype, out IReadOnlyList<string> warnings)
    {
        var config = LlamaConfig.FromFile(Path.Combine(directory, "config.json"));
        var files = CheckpointLoader.WeightFiles(directory);
        var m = CheckpointLoader.Create(dtype, () => new LlamaForCausalLM(config, device));
        CheckpointLoader.Load(m, files, key =>
            key.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal) || (config.TieWordEmbeddings && key == "lm_head.weight") ? null : key);
        warnings = config.TieWordEmbeddings && CheckpointLoader.TiedHeadWarning(files, m.model.EmbeddingWeight, "model.embed_tokens.weight") is { } w ? [w] : [];
        return m;
    }
}
