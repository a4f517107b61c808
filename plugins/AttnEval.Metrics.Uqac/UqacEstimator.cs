using AttnEval.Abstractions;
using AttnEval.Plugins.Sdk;

namespace AttnEval.Metrics.Uqac;

/// <summary>Which UQAC confidence is reported (spec §1.8 table; §1.13 <c>chain_variant</c>).</summary>
internal enum ChainVariant
{
    /// <summary>P̃_M, the marginal over the chain and its single-token perturbations (the full method; extra model calls).</summary>
    EnsMarginal,
    /// <summary>P̃_{M,attn}: product of the probabilities of every chain token, answer included.</summary>
    AttnProd,
    /// <summary>P̄_{M,attn}: their mean.</summary>
    AttnMean,
    /// <summary>P̃_{M,sim}: product over the similarity-filtered chain and the answer tokens.</summary>
    SimProd,
    /// <summary>P̄_{M,sim}: their mean.</summary>
    SimMean,
}

/// <summary>
/// UQAC, Uncertainty Quantification with Attention Chain (Li, Qiang, Moukheiber, Zhang; COLM 2025, arXiv 2503.19168;
/// official code <c>Yinghao-Li/UQAC</c>), as specified in specs/uq-methods.md §1: locate the answer tokens (§1.3), reduce the
/// attention streamed during generation to one matrix over the lowest-entropy heads (§1.4,
/// <see cref="AttentionChainReducer"/>), backtrack the attention chain (§1.5, <see cref="Backtracking"/>), keep its most
/// answer-related tokens (§1.6), perturb each by its likely alternatives (§1.7) and sum the joint probability of chain and
/// answer over those variants (§1.8, <see cref="ChainMath.Marginal"/>).
/// </summary>
/// <remarks>
/// Output: confidence C ∈ [0, 1] (the selected <see cref="ChainVariant"/>), uncertainty U = −C (spec §0). Errors (cost this
/// sample only): no answer found in the response, no attention rows captured, a backend without top-k scores.
/// Cost: one teacher-forced pass per alternative (≤ ens_k) for <see cref="ChainVariant.EnsMarginal"/>, plus one over prompt +
/// answer only when the generation did not return the top-5 scores and final hidden states (<see cref="UqacEstimator.AnswerOutputs"/>);
/// none for the single-pass variants.
/// </remarks>
internal sealed class UqacEstimatorFactory : ISampleEstimatorFactory
{
    /// <inheritdoc />
    public string Name => "uqac";
    /// <inheritdoc />
    public string Description => "UQAC: attention-chain marginal confidence (Li et al. COLM 2025; uq-methods §1)";
    /// <inheritdoc />
    public MetricKind Kind => MetricKind.SampleEstimator;

    /// <inheritdoc />
    public IReadOnlyList<OptionSpec> Options => OptionBinder.Specs<UqacOptions>();

    /// <inheritdoc />
    public ISampleEstimator Create(OptionValues options) => new UqacEstimator(OptionBinder.Bind<UqacOptions>(options).ToSettings());
}

/// <summary>Validated UQAC settings; defaults are the recipe options' (<see cref="UqacOptions"/>, the spec's §1.9).</summary>
internal sealed record UqacSettings
{
    /// <summary>K of §1.4.</summary>
    public int TopHeads { get; init; } = UqacOptions.Defaults.TopHeads;
    /// <summary>Layers whose heads compete; null = all.</summary>
    public IReadOnlySet<int>? Layers { get; init; }
    /// <summary>B, τ, L_min, max steps, parity (§1.5).</summary>
    public BacktrackOptions Backtrack { get; init; } = UqacOptions.Defaults.Backtrack();
    /// <summary>top-k of §1.6.</summary>
    public int SimilarityTopK { get; init; } = UqacOptions.Defaults.SimilarityTopK;
    /// <summary>Similarity threshold of §1.6.</summary>
    public double SimilarityThreshold { get; init; } = UqacOptions.Defaults.SimilarityThreshold;
    /// <summary>Rank chain tokens by hidden-state similarity (§1.6) when the model delivers final hidden states.</summary>
    public bool UseHiddenStates { get; init; } = UqacOptions.Defaults.Similarity == SimilaritySource.Hidden;
    /// <summary>Candidates per position (§1.7).</summary>
    public int TopAlternatives { get; init; } = UqacOptions.Defaults.TopAlternatives;
    /// <summary>ens-threshold (§1.7).</summary>
    public double EnsThreshold { get; init; } = UqacOptions.Defaults.EnsThreshold;
    /// <summary>ens-k (§1.7).</summary>
    public int EnsK { get; init; } = UqacOptions.Defaults.EnsK;
    /// <summary>Answer rule (§1.3).</summary>
    public AnswerFormat AnswerFormat { get; init; } = UqacOptions.Defaults.AnswerFormat;
    /// <summary>Which number <see cref="AnswerFormat.Number"/> takes: whole (default) or the reference's span (§1.3).</summary>
    public NumberSpan NumberSpan { get; init; } = UqacOptions.Defaults.NumberSpan;
    /// <summary>Reported confidence (§1.8).</summary>
    public ChainVariant Variant { get; init; } = UqacOptions.Defaults.Variant;
}

/// <summary>The UQAC estimator for one recipe entry (see <see cref="UqacEstimatorFactory"/>).</summary>
/// <param name="settings">Validated settings.</param>
internal sealed class UqacEstimator(UqacSettings settings) : ISampleEstimator
{
    /// <summary>The settings.</summary>
    public UqacSettings Settings => settings;

    /// <inheritdoc />
    public MetricNeeds Needs => MetricNeeds.TokenScores | MetricNeeds.AttentionRows | (settings.Variant == ChainVariant.EnsMarginal ? MetricNeeds.ModelCalls : 0);

    /// <summary>The answer's generation returns the top <c>top_alternatives</c> per step (§1.7) and, for similarity
    /// <c>hidden</c>, the final hidden states (§1.6), so the teacher-forced pass over prompt + answer is skipped whenever
    /// the backend delivered them (contract 1.4).</summary>
    public AnswerOutputs AnswerOutputs => new(
        settings.Variant == ChainVariant.EnsMarginal ? settings.TopAlternatives : 0,
        settings.UseHiddenStates);

    /// <inheritdoc />
    public IAttentionRowReducer? CreateReducer(ModelInfo model, int promptLength) =>
        new AttentionChainReducer(promptLength, model.Layers, settings.TopHeads, settings.Layers);

    /// <inheritdoc />
    public SampleEstimate Estimate(EstimationContext context) => EstimateBatch([context])[0];

    /// <summary>UQAC for a batch of answers with two batched model calls in all: every answer's teacher-forced pass (§1.6
    /// hidden states, §1.7 top-k) in one <see cref="ILanguageModel.ScoreBatch"/>, then every answer's variants (§1.7) in
    /// another. Equal to <see cref="Estimate"/> per answer (batched and one-by-one scoring agree within 1e-5).</summary>
    /// <exception cref="InvalidOperationException">An answer without rows, answer span or tokens (the host then estimates
    /// one by one, so that the error costs only that answer).</exception>
    public IReadOnlyList<SampleEstimate> EstimateBatch(IReadOnlyList<EstimationContext> contexts)
    {
        ArgumentNullException.ThrowIfNull(contexts);
        var plans = contexts.Select(Plan).ToList();
        foreach (var plan in plans.Where(p => p.Pass is null)) plan.Original = plan.Context.Answer.Scores;
        foreach (var group in plans.Where(p => p.Pass is not null).GroupBy(p => p.Context.Model))
        {
            var list = group.ToList();
            var scores = group.Key.ScoreBatch(list.Select(p => p.Pass!).ToList());
            for (int i = 0; i < list.Count; i++) list[i].Original = scores[i];
        }
        foreach (var plan in plans) Filter(plan);
        foreach (var group in plans.Where(p => p.Variants.Count > 0).GroupBy(p => p.Context.Model))
        {
            var list = group.ToList();
            var scores = group.Key.ScoreBatch(list.SelectMany(p => p.Variants).ToList());
            int k = 0;
            foreach (var plan in list)
                foreach (var _ in plan.Variants) plan.Factors.Add(plan.FactorsOf(scores[k++].LogProbs));
        }
        return plans.Select(Conclude).ToList();
    }

    /// <summary>One answer between the phases of <see cref="EstimateBatch"/>.</summary>
    private sealed class UqacPlan
    {
        public required EstimationContext Context { get; init; }
        public required int[] Ends { get; init; }
        public required int First { get; init; }
        public required int Last { get; init; }
        public required List<int> AnswerSources { get; init; }
        public required IReadOnlyList<ChainEntry> Chain { get; init; }
        public required List<ChainEntry> NonAnswer { get; init; }
        /// <summary>The teacher-forced pass over prompt + answer, or null when neither hidden states nor the ensemble need it,
        /// or when the answer's own generation delivered what they need (<see cref="AnswerOutputs"/>).</summary>
        public ScoreRequest? Pass { get; init; }
        public bool UseHidden { get; init; }
        public TokenScores? Original { get; set; }
        public IReadOnlyList<ChainEntry> Kept { get; set; } = [];
        public Dictionary<string, object?> Details { get; set; } = [];
        public List<ScoreRequest> Variants { get; } = [];
        /// <summary>(Σ log p over the kept chain, Σ log p over the answer tokens) of the original, then of each variant.</summary>
        public List<(double, double)> Factors { get; } = [];
        public (double LogSeq, double LogAns) FactorsOf(IReadOnlyList<float> logProbs) => (
            Kept.Sum(e => ChainMath.ClampedLog(logProbs[e.SourceId + 1])),
            Enumerable.Range(First, Last - First + 1).Sum(i => ChainMath.ClampedLog(logProbs[i])));
    }

    /// <summary>§1.3–§1.5 for one answer: its answer tokens and attention chain, and the teacher-forced pass it needs.</summary>
    private UqacPlan Plan(EstimationContext context)
    {
        var reducer = context.Reducer as IReducedAttention
            ?? throw new InvalidOperationException("uqac: no attention rows were captured for this answer (the backend must support attention capture)");
        var tokenizer = context.Model.Tokenizer;
        var tokens = context.Answer.Tokens;
        int n = context.PromptTokens.Count, r = tokens.Count;
        if (r == 0) throw new InvalidOperationException("uqac: the answer has no tokens");
        if (reducer.PromptLength != n) throw new InvalidOperationException($"uqac: the reducer was made for a prompt of {reducer.PromptLength} tokens, the answer follows {n}");

        // §1.3 answer tokens
        var ends = new int[r];
        for (int i = 0; i < r; i++) ends[i] = tokenizer.Decode(tokens.Take(i + 1)).Length;
        var span = AnswerLocator.FindSpan(context.Answer.Text, settings.AnswerFormat, settings.NumberSpan)
                   ?? throw new InvalidOperationException($"uqac: no answer found in the response (answer_format {Format(settings.AnswerFormat)}): expected {Expected(settings.AnswerFormat)}");
        var (first, last) = AnswerLocator.TokenSpan(ends, span)
                            ?? throw new InvalidOperationException($"uqac: the answer span [{span.Start}, {span.End}) of the response matches no token");
        var answerSources = Enumerable.Range(first - 1, last - first + 1).ToList();
        if (reducer.RowCount == 0 && last > 0)
            throw new InvalidOperationException("uqac: no attention rows were captured for this answer (the backend delivered no response rows)");

        // §1.5 backtracking
        var blocked = new bool[n + r];
        for (int i = 0; i < n; i++) blocked[i] = true;
        for (int i = 0; i < r; i++)
        {
            int id = tokens[i];
            blocked[n + i] = id == tokenizer.EosId || id == tokenizer.BosId || tokenizer.StopIds.Contains(id) || StopWords.IsBlocked(tokenizer.TokenText(id));
        }
        var chain = Backtracking.Build(reducer.Row, n, blocked, answerSources, settings.Backtrack);
        var answerSet = answerSources.ToHashSet();
        var nonAnswer = chain.Where(e => !answerSet.Contains(e.SourceId)).ToList();

        // One teacher-forced pass over prompt + answer serves both the §1.6 hidden states and the §1.7 top-k candidates,
        // unless the generation already returned them: hidden states up to the last position read (the answer's last
        // token, the chain's tokens) and at least top_alternatives candidates per step.
        bool useHidden = settings.UseHiddenStates && context.Model.SupportsFinalHidden;
        bool ensemble = settings.Variant == ChainVariant.EnsMarginal;
        var own = context.Answer.Scores;
        int lastRead = n + Math.Max(last, nonAnswer.Count == 0 ? 0 : nonAnswer.Max(e => e.SourceId + 1));
        bool haveHidden = !useHidden || own.FinalHidden is { } h && h.Count > lastRead;
        bool haveTop = !ensemble || own.TopK is { } top && top.Count == r && top.All(t => t.Count >= Math.Min(settings.TopAlternatives, context.Model.Info.VocabSize));
        return new UqacPlan
        {
            Context = context, Ends = ends, First = first, Last = last, AnswerSources = answerSources, Chain = chain, NonAnswer = nonAnswer,
            UseHidden = useHidden,
            Pass = (useHidden || ensemble) && !(haveHidden && haveTop)
                ? new ScoreRequest
                {
                    Tokens = context.PromptTokens.Concat(tokens).ToArray(), From = n,
                    TopLogProbs = ensemble ? settings.TopAlternatives : 0, CaptureFinalHidden = useHidden,
                }
                : null,
        };
    }

    /// <summary>§1.6 similarity filtering, the single-pass variants and, for the ensemble, the §1.7 variant requests.</summary>
    private void Filter(UqacPlan plan)
    {
        var context = plan.Context;
        int n = context.PromptTokens.Count, first = plan.First, last = plan.Last;
        // §1.6 similarity filtering: sim-mean cosine of final hidden states h_{s+1} against the answer tokens' h_a, or the
        // backtracking score when asked or when the backend has no hidden states.
        Func<ChainEntry, double>? similarity = null;
        string similaritySource = "attention";
        if (plan.UseHidden)
        {
            var hidden = plan.Original!.FinalHidden
                ?? throw new InvalidOperationException("uqac: the backend says it supports final hidden states but returned none");
            var answerStates = Enumerable.Range(first, last - first + 1).Select(a => hidden[n + a]).ToList();
            similarity = e => ChainMath.MeanCosine(hidden[n + e.SourceId + 1], answerStates);
            similaritySource = "hidden";
        }
        else if (settings.UseHiddenStates) similaritySource = "attention (the backend has no final hidden states)";
        var kept = ChainMath.FilterBySimilarity(plan.NonAnswer, similarity, settings.SimilarityTopK, settings.SimilarityThreshold);
        plan.Kept = kept;

        // single-pass variants from the answer's own log-probabilities (unscaled model distribution, spec §0)
        var lp = context.Answer.Scores.LogProbs;
        double P(int sourceId) => Math.Exp(ChainMath.ClampedLog(lp[sourceId + 1]));
        var chain = plan.Chain;
        var attnProbs = chain.Select(e => P(e.SourceId)).ToList();
        var simProbs = kept.Concat(plan.AnswerSources.Select(s => new ChainEntry(s, 0))).Select(e => P(e.SourceId)).ToList();
        plan.Details = new Dictionary<string, object?>
        {
            ["answer_tokens"] = new[] { first, last },
            ["token_ends"] = plan.Ends,
            ["chain"] = chain.Select(e => e.SourceId + 1).ToArray(),
            ["chain_scores"] = chain.Select(e => Math.Round(e.Score, 6)).ToArray(),
            ["kept"] = kept.Select(e => e.SourceId + 1).ToArray(),
            ["similarity"] = similaritySource,
            ["attn_prod"] = attnProbs.Aggregate(1.0, (a, b) => a * b),
            ["attn_mean"] = attnProbs.Average(),
            ["sim_prod"] = simProbs.Aggregate(1.0, (a, b) => a * b),
            ["sim_mean"] = simProbs.Average(),
        };
        if (settings.Variant != ChainVariant.EnsMarginal) return;

        // §1.7: the original's factors, then one variant per alternative token (scored in the batch's second call).
        var scores = plan.Original!;
        if (scores.TopK is null)
            throw new InvalidOperationException("uqac: the backend returned no top-k log-probabilities for the teacher-forced pass");
        plan.Factors.Add(plan.FactorsOf(scores.LogProbs));
        var original = context.PromptTokens.Concat(context.Answer.Tokens).ToArray();
        var alternatives = ChainMath.Alternatives(
            kept.Select(e => (e.SourceId, context.Answer.Tokens[e.SourceId + 1], (IReadOnlyList<TokenLogProb>)scores.TopK[e.SourceId + 1].Take(settings.TopAlternatives).ToList())).ToList(),
            settings.EnsThreshold, settings.EnsK);
        foreach (var alt in alternatives)
        {
            var variant = (int[])original.Clone();
            variant[n + alt.SourceId + 1] = alt.Token;
            plan.Variants.Add(new ScoreRequest { Tokens = variant, From = n });
        }
    }

    /// <summary>§1.8: the reported confidence of one answer.</summary>
    private SampleEstimate Conclude(UqacPlan plan)
    {
        var details = plan.Details;
        double confidence;
        if (settings.Variant == ChainVariant.EnsMarginal)
        {
            details["ens_marginal"] = ChainMath.Marginal(plan.Factors);
            details["variants"] = plan.Factors.Count;
            details["p_answer"] = Math.Exp(plan.Factors[0].Item2);
            confidence = (double)details["ens_marginal"]!;
        }
        else
        {
            confidence = (double)details[settings.Variant switch
            {
                ChainVariant.AttnProd => "attn_prod", ChainVariant.AttnMean => "attn_mean", ChainVariant.SimProd => "sim_prod", _ => "sim_mean",
            }]!;
        }
        confidence = Math.Clamp(confidence, 0, 1);
        return new SampleEstimate(-confidence, confidence) { Details = details };
    }

    private static string Format(AnswerFormat f) => f switch { AnswerFormat.Boxed => "boxed", AnswerFormat.LastLine => "last-line", _ => "number" };

    private static string Expected(AnswerFormat f) => f switch
    {
        AnswerFormat.Boxed => "a \\boxed{...} in the response",
        AnswerFormat.LastLine => "a non-empty line",
        _ => "a number on the last non-empty line (e.g. '#### 42') or a \\boxed{...}",
    };
}
