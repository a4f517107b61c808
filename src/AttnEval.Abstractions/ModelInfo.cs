namespace AttnEval.Abstractions;

/// <summary>
/// Shape and placement of a loaded model. Field meanings follow the Hugging Face config keys
/// named in each parameter.
/// </summary>
/// <param name="Architecture">Architecture family, e.g. <c>"llama"</c>, <c>"gpt2"</c> (HF <c>model_type</c>).</param>
/// <param name="Layers">Number of decoder blocks (<c>num_hidden_layers</c> / <c>n_layer</c>).</param>
/// <param name="Heads">Query heads per layer (<c>num_attention_heads</c> / <c>n_head</c>).</param>
/// <param name="KvHeads">Key/value heads per layer (<c>num_key_value_heads</c>); equals <paramref name="Heads"/> without GQA.</param>
/// <param name="DModel">Residual width (<c>hidden_size</c> / <c>n_embd</c>).</param>
/// <param name="VocabSize">Vocabulary size (<c>vocab_size</c>).</param>
/// <param name="ContextLength">Maximum positions (<c>max_position_embeddings</c> / <c>n_positions</c>).</param>
/// <param name="DType">Compute dtype: <c>float32</c>, <c>float16</c> or <c>bfloat16</c>.</param>
/// <param name="Device">Device the model runs on, e.g. <c>cpu</c>, <c>cuda:0</c>.</param>
public sealed record ModelInfo(
    string Architecture,
    int Layers,
    int Heads,
    int KvHeads,
    int DModel,
    int VocabSize,
    int ContextLength,
    string DType,
    string Device)
{
    /// <summary>Per-head dimension d_h = d_model / n_heads unless the config sets <c>head_dim</c>.</summary>
    public int HeadDim { get; init; } = Heads > 0 ? DModel / Heads : 0;

    /// <summary>Display name of the model (folder name or config name).</summary>
    public string Name { get; init; } = "";

    /// <summary>Hex sha256 of the weight files, for the run manifest; empty when unknown.</summary>
    public string WeightsSha256 { get; init; } = "";

    /// <summary>Faults found while loading that did not stop it (e.g. a tied model whose file carries a different
    /// <c>lm_head.weight</c>), one line each naming the file; shown by the CLI and kept in the run manifest (contract 1.2).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>Every head of the model in layer-major order.</summary>
    public IEnumerable<HeadId> AllHeads()
    {
        for (int l = 0; l < Layers; l++)
            for (int h = 0; h < Heads; h++)
                yield return new HeadId(l, h);
    }
}
