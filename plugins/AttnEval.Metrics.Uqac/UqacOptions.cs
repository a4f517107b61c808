using AttnEval.Plugins.Sdk;

namespace AttnEval.Metrics.Uqac;

/// <summary>Where UQAC's similarity filter reads token similarity (option <c>similarity</c>, uq-methods §1.6).</summary>
internal enum SimilaritySource
{
    /// <summary>Sim-mean cosine of final hidden states (reference).</summary>
    Hidden,
    /// <summary>The tokens' backtracking scores.</summary>
    Attention,
}

/// <summary>The <c>uqac</c> recipe options, declared once: key, meaning and range in the attribute, the default in the
/// initializer (the spec's §1.9 values). <see cref="UqacEstimatorFactory"/> gives their specs and binds them.</summary>
internal sealed record UqacOptions
{
    /// <summary>The defaults.</summary>
    public static UqacOptions Defaults { get; } = new();

    [Option("top_heads", "lowest-entropy (layer, head) rows kept per query row before the max (uq-methods §1.4)", Min = 1)]
    public int TopHeads { get; init; } = 16;

    [Option("layers", "layers whose heads compete (all when absent; uq-methods §1.4)", Min = 0)]
    public IReadOnlyList<int>? Layers { get; init; }

    [Option("buffer", "B: new chain tokens per backtracking iteration (uq-methods §1.5)", Min = 1)]
    public int Buffer { get; init; } = 3;

    [Option("threshold", "tau: accumulated attention needed once the chain is long enough (uq-methods §1.5)", Min = 0)]
    public double Threshold { get; init; } = 0.5;

    [Option("min_chain_length", "L_min: chain tokens wanted besides the answer (uq-methods §1.5)", Min = 0)]
    public int MinChainLength { get; init; } = 5;

    [Option("max_steps", "backtracking iteration cap (uq-methods §1.5)", Min = 1)]
    public int MaxSteps { get; init; } = 1000;

    [Option("similarity_top_k", "chain tokens kept by similarity filtering (uq-methods §1.6)", Min = 0)]
    public int SimilarityTopK { get; init; } = 10;

    [Option("similarity_threshold", "minimum sim-mean cosine to the answer (uq-methods §1.6; used with similarity: hidden)", Min = -1, Max = 1)]
    public double SimilarityThreshold { get; init; }

    [Option("similarity", "hidden: rank chain tokens by the sim-mean cosine of final hidden states (uq-methods §1.6, reference); attention: by their backtracking score (also the fallback for a backend without hidden states)")]
    public SimilaritySource Similarity { get; init; } = SimilaritySource.Hidden;

    [Option("top_alternatives", "candidates read per chain position (uq-methods §1.7)", Min = 1)]
    public int TopAlternatives { get; init; } = 5;

    [Option("ens_threshold", "an alternative needs probability above this (uq-methods §1.7)", Min = 0, Max = 1)]
    public double EnsThreshold { get; init; } = 0.01;

    [Option("ens_k", "alternatives kept: top (ens_k + |S_sim|) minus originals (uq-methods §1.7)", Min = 0)]
    public int EnsK { get; init; } = 10;

    [Option("answer_format", "how the answer is found: last number of the last line (#### N), right-most \\boxed{}, or the last line (uq-methods §1.3)", Naming = OptionNaming.KebabCase)]
    public AnswerFormat AnswerFormat { get; init; } = AnswerFormat.Number;

    [Option("variant", "reported confidence: ens_marginal (full method) or a single-pass chain product/mean (uq-methods §1.8)")]
    public ChainVariant Variant { get; init; } = ChainVariant.EnsMarginal;

    [Option("number_span", "answer_format number: the whole last number (whole) or the reference code's span, which keeps only the trailing 1-3 digits of a comma-free number, '#### 1625' -> '5' (reference; README deviations)")]
    public NumberSpan NumberSpan { get; init; } = NumberSpan.Whole;

    [Option("parity_quirks", "reproduce the reference's double-counted chain length test (uq-methods §1.5 [quirk])")]
    public bool ParityQuirks { get; init; }

    /// <summary>The estimator's settings from these options.</summary>
    public UqacSettings ToSettings() => new()
    {
        TopHeads = TopHeads,
        Layers = Layers is { Count: > 0 } layers ? layers.ToHashSet() : null,
        Backtrack = Backtrack(),
        SimilarityTopK = SimilarityTopK,
        SimilarityThreshold = SimilarityThreshold,
        UseHiddenStates = Similarity == SimilaritySource.Hidden,
        TopAlternatives = TopAlternatives,
        EnsThreshold = EnsThreshold,
        EnsK = EnsK,
        AnswerFormat = AnswerFormat,
        NumberSpan = NumberSpan,
        Variant = Variant,
    };

    /// <summary>B, τ, L_min, max steps and the parity switch (§1.5).</summary>
    public BacktrackOptions Backtrack() => new(Buffer, Threshold, MinChainLength, MaxSteps, ParityQuirks: ParityQuirks);
}
