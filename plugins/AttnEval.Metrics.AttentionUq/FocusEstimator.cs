using System.Globalization;
using AttnEval.Abstractions;
using AttnEval.Plugins.Sdk;

namespace AttnEval.Metrics.AttentionUq;

/// <summary>
/// Focus (Zhang et al., "Enhancing uncertainty-based hallucination detection with stronger focus", EMNLP 2023, arXiv
/// 2311.13230) in LM-Polygraph's form (<c>estimators/focus.py</c> at <c>efea882d</c>), specs/uq-attention-methods.md §4:
/// a per-token hallucination score from the thresholded, IDF-reweighted next-token distribution, propagated along the
/// attention of keyword tokens to earlier generated tokens, averaged over keywords.
/// </summary>
/// <remarks>
/// <para>Inputs: <c>M[i, k]</c> = the max over every layer and head of the generation-time attention of step <c>i</c> over
/// generated key <c>k &lt; i</c> (§0.2, a <see cref="GeneratedKeysReducer"/>: O(n²) state); the entries of each step's
/// distribution with <c>π ≥ p</c>, from one teacher-forced <c>Score</c> over prompt + answer with the top ⌈1/p⌉
/// log-probabilities (exact: no more than ⌊1/p⌋ entries can reach p; 100 for p = 0.01); the keyword mask
/// (<see cref="KeywordHeuristic"/> or every token); IDF weights (<see cref="IdfTable"/>, uniform by default).</para>
/// <para>Output: uncertainty ≥ ≈1 (<c>hc ≥ 1 − 1e−5</c>); no confidence.</para>
/// <para>Errors (this sample only; LM-Polygraph returns NaN, which a run cannot record): no keyword token (K = ∅), a
/// step whose entries all fall below p or whose IDF weights sum to 0, rows not delivered, a backend without top-k.</para>
/// </remarks>
internal sealed class FocusEstimatorFactory : ISampleEstimatorFactory
{
    /// <summary>Recipe name.</summary>
    public const string MetricName = "focus";

    /// <inheritdoc />
    public string Name => MetricName;
    /// <inheritdoc />
    public string Description => "Focus: IDF-weighted token hallucination scores propagated along keyword attention (Zhang et al. EMNLP 2023; uq-attention-methods §4)";
    /// <inheritdoc />
    public MetricKind Kind => MetricKind.SampleEstimator;

    /// <inheritdoc />
    public IReadOnlyList<OptionSpec> Options => OptionBinder.Specs<FocusOptions>();

    /// <inheritdoc />
    public ISampleEstimator Create(OptionValues options)
    {
        double gamma = OptionChecks.Number(options, MetricName, "gamma", FocusOptions.Defaults.Gamma, 0, double.PositiveInfinity);
        double p = OptionChecks.Number(options, MetricName, "p", FocusOptions.Defaults.P, 0, 1, minExclusive: true);
        var idf = IdfTable.Uniform;
        if (options.Has("idf_file"))
        {
            var path = options.GetString("idf_file");
            try { idf = IdfTable.Parse(File.ReadLines(path)); }
            catch (InvalidDataException e) { throw OptionChecks.Bad(MetricName, "idf_file", $"{path}: {e.Message}"); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                throw OptionChecks.Bad(MetricName, "idf_file", $"cannot read {path}: {e.Message}");
            }
        }
        bool all = OptionChecks.Choice(options, MetricName, Options.Single(o => o.Key == "keywords")) == "all";
        return new FocusEstimator(gamma, p, idf, all);
    }
}

/// <summary>The Focus estimator of one recipe entry (see <see cref="FocusEstimatorFactory"/>).</summary>
/// <param name="gamma">γ ≥ 0.</param>
/// <param name="p">p ∈ (0, 1].</param>
/// <param name="idf">IDF weights.</param>
/// <param name="allKeywords">Treat every token as a keyword instead of the heuristic.</param>
internal sealed class FocusEstimator(double gamma, double p, IdfTable idf, bool allKeywords) : ISampleEstimator
{
    private const string Name = FocusEstimatorFactory.MetricName;

    /// <summary>γ.</summary>
    public double Gamma => gamma;
    /// <summary>p.</summary>
    public double Threshold => p;
    /// <summary>The IDF weights.</summary>
    public IdfTable Idf => idf;

    /// <inheritdoc />
    /// <remarks>The distributions and π(y_i) come from the answer's generation when it returned the top-k
    /// (<see cref="AnswerOutputs"/>), else from the estimator's own teacher-forced pass (<see cref="MetricNeeds.ModelCalls"/>).</remarks>
    public MetricNeeds Needs => MetricNeeds.AttentionRows | MetricNeeds.ModelCalls;

    /// <summary>Top log-probabilities requested per step: ⌈1/p⌉ (every entry ≥ p), at most the vocabulary.</summary>
    public int TopK(int vocabSize) => (int)Math.Min(vocabSize, Math.Ceiling(1 / p - 1e-9));

    /// <summary>Most alternatives per step asked of the answer's generation; a smaller p keeps the teacher-forced pass
    /// (holding ⌈1/p⌉ alternatives for every generated token would cost more memory than the pass costs time).</summary>
    public const int MaxGenerationTopK = 1024;

    /// <summary>The answer's generation returns the top ⌈1/p⌉ per step (when ≤ <see cref="MaxGenerationTopK"/>), so the
    /// teacher-forced pass over prompt + answer is skipped whenever the backend delivered them (contract 1.4).</summary>
    public AnswerOutputs AnswerOutputs => TopK(int.MaxValue) is var k && k <= MaxGenerationTopK ? new(k) : default;

    /// <inheritdoc />
    public IAttentionRowReducer? CreateReducer(ModelInfo model, int promptLength) =>
        new GeneratedKeysReducer(promptLength, HeadCombination.Max);

    /// <inheritdoc />
    public SampleEstimate Estimate(EstimationContext context)
    {
        var info = context.Model.Info;
        var y = context.Answer.Tokens;
        int n = y.Count, prompt = context.PromptTokens.Count;
        if (n == 0) throw new InvalidOperationException($"{Name}: the answer has no tokens");
        var reducer = context.Reducer as GeneratedKeysReducer
                      ?? throw new InvalidOperationException($"{Name}: no attention rows were captured for this answer (the backend must support attention capture)");
        if (reducer.PromptLength != prompt) throw new InvalidOperationException($"{Name}: the reducer was made for a prompt of {reducer.PromptLength} tokens, the answer follows {prompt}");

        var keywords = allKeywords ? Enumerable.Repeat(true, n).ToArray() : KeywordHeuristic.Compute(context.Model.Tokenizer, y);
        if (!keywords.Contains(true))
            throw new InvalidOperationException($"{Name}: the answer has no keyword token (K is empty), so Focus is undefined (LM-Polygraph returns NaN); set keywords: all to score every token");

        int expected = info.Layers * info.Heads;
        var rows = new double[n][];
        for (int i = 1; i < n; i++)
        {
            if (!keywords[i]) continue;
            rows[i] = reducer.Row(i) ?? throw new InvalidOperationException($"{Name}: the attention rows of decode step {i} (query position {prompt + i - 1}) were not delivered");
            if (reducer.Contributions(i) != expected)
                throw new InvalidOperationException($"{Name}: decode step {i} delivered {reducer.Contributions(i)} (layer, head) rows, expected L·H = {expected}");
        }

        int k = TopK(info.VocabSize);
        // The generation's own scores when they carry the top-k (contract 1.4), else one teacher-forced pass.
        var own = context.Answer.Scores;
        var scored = own.TopK is { } given && given.Count == n && given.All(t => t.Count >= k)
            ? own
            : context.Model.Score(new ScoreRequest { Tokens = context.PromptTokens.Concat(y).ToArray(), From = prompt, TopLogProbs = k });
        if (scored.TopK is not { } top || top.Count != n || scored.LogProbs.Count != n)
            throw new InvalidOperationException($"{Name}: the teacher-forced pass returned no top-{k} log-probabilities for the {n} answer tokens");

        var hc = new double[n];
        for (int i = 0; i < n; i++)
        {
            var entries = new Dictionary<int, double>();
            foreach (var e in top[i].Take(k)) entries.TryAdd(e.Token, Math.Exp(e.LogProb));
            entries.TryAdd(y[i], Math.Exp(scored.LogProbs[i]));
            hc[i] = FocusMath.TokenScore(entries.Select(e => (e.Key, e.Value)), y[i], v => idf[v], p);
            if (!double.IsFinite(hc[i]))
                throw new InvalidOperationException($"{Name}: step {i} has no distribution entry ≥ p = {p.ToString(CultureInfo.InvariantCulture)} with a positive IDF weight, so its score is undefined (LM-Polygraph returns NaN)");
        }

        var result = FocusMath.Sequence(hc, i => rows[i], keywords, gamma);
        if (!double.IsFinite(result.Score)) throw new InvalidOperationException($"{Name}: the score is not finite ({result.Score})");
        return new SampleEstimate(result.Score)
        {
            Details = new Dictionary<string, object?>
            {
                ["keywords"] = Enumerable.Range(0, n).Where(i => keywords[i]).ToArray(),
                ["keyword_rule"] = allKeywords ? "all" : "heuristic",
                ["idf"] = idf.IsUniform ? "uniform" : "file",
                ["hc"] = result.Hallucination.ToArray(),
            },
        };
    }
}
