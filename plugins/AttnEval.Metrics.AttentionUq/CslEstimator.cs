using AttnEval.Abstractions;
using AttnEval.Plugins.Sdk;

namespace AttnEval.Metrics.AttentionUq;

/// <summary>
/// CSL, contextualized sequence likelihood (Lin, Trivedi, Sun, "Contextualized sequence likelihood: enhanced confidence
/// scores for natural language generation", EMNLP 2024, arXiv 2406.01806) in LM-Polygraph's form (<c>estimators/csl.py</c>,
/// <c>stat_calculators/attention_eliciting_prompt.py</c> at <c>efea882d</c>), specs/uq-attention-methods.md §3:
/// <c>CSL = −Σ_i w_i ℓ_i</c> with <c>w = w̄ / Σ w̄</c> and <c>w̄_i</c> the mean over all L·H heads of the attention the last
/// token of an eliciting input puts on answer token <c>i</c>.
/// </summary>
/// <remarks>
/// <para>Eliciting input <c>E = tok(Tpl(q)) ⊕ y ⊕ tok_ns("\n\nDecision:")</c>: the template with the question (BOS added),
/// the answer's token ids as generated (stop token included), the suffix without special tokens. One teacher-forced
/// <c>Score</c> over <c>E</c> (no log-probabilities scored) delivers the rows; a <see cref="LastRowSpanReducer"/> keeps only
/// row <c>|E|−1</c> at the answer keys <c>[s, s+n)</c>, <c>s = |tok(Tpl(q))|</c>.</para>
/// <para>Output: uncertainty in nats, ≥ 0 (an attention-weighted mean NLL; uniform weights give the length-normalised
/// NLL). Confidence <c>exp(−CSL)</c> ∈ (0, 1], the weighted geometric-mean token probability (the paper's confidence
/// <c>Σ w ℓ</c> on the probability scale). <c>n = 1</c>: <c>−ℓ_0</c>.</para>
/// <para>Errors (this sample only): the eliciting input exceeds the context, rows not delivered, all weights 0.</para>
/// </remarks>
internal sealed class CslEstimatorFactory : ISampleEstimatorFactory
{
    /// <summary>Recipe name.</summary>
    public const string MetricName = "csl";

    /// <inheritdoc />
    public string Name => MetricName;
    /// <inheritdoc />
    public string Description => "CSL: answer NLL weighted by the attention of an eliciting prompt, all heads (Lin et al. EMNLP 2024; uq-attention-methods §3)";
    /// <inheritdoc />
    public MetricKind Kind => MetricKind.SampleEstimator;

    /// <inheritdoc />
    public IReadOnlyList<OptionSpec> Options => OptionBinder.Specs<CslOptions>();

    /// <inheritdoc />
    public ISampleEstimator Create(OptionValues options)
    {
        var template = ElicitingTemplate.Default;
        if (options.Has("template_file"))
        {
            var path = options.GetString("template_file");
            byte[] bytes;
            try { bytes = File.ReadAllBytes(path); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                throw OptionChecks.Bad(MetricName, "template_file", $"cannot read {path}: {e.Message}");
            }
            try { template = ElicitingTemplate.FromBytes(bytes); }
            catch (InvalidDataException e) { throw OptionChecks.Bad(MetricName, "template_file", $"{path}: {e.Message}"); }
        }
        var question = OptionChecks.Choice(options, MetricName, Options.Single(o => o.Key == "question"));
        return new CslEstimator(template, question == "input");
    }
}

/// <summary>The CSL estimator of one recipe entry (see <see cref="CslEstimatorFactory"/>).</summary>
/// <param name="template">The eliciting template.</param>
/// <param name="inputOnly">Put the sample's input in <c>{q}</c> instead of the rendered prompt.</param>
internal sealed class CslEstimator(ElicitingTemplate template, bool inputOnly) : ISampleEstimator
{
    private const string Name = CslEstimatorFactory.MetricName;

    /// <summary>The template.</summary>
    public ElicitingTemplate Template => template;

    /// <inheritdoc />
    public MetricNeeds Needs => MetricNeeds.TokenScores | MetricNeeds.ModelCalls;

    /// <inheritdoc />
    public IAttentionRowReducer? CreateReducer(ModelInfo model, int promptLength) => null;

    /// <summary>CSL from the summed (or mean) raw attention of the last eliciting row over the answer (spec §3.2): the row
    /// is normalised once, <c>w = w̄ / Σ w̄</c>, then <c>CSL = −Σ w_i ℓ_i</c>.</summary>
    /// <param name="attention">w̄_i (or any positive multiple), length n, each ≥ 0.</param>
    /// <param name="logProbs">ℓ_i in nats, length n.</param>
    /// <returns>CSL and the weights w.</returns>
    /// <exception cref="ArgumentException">Lengths differ, or the weights sum to 0 (LM-Polygraph: NaN).</exception>
    public static (double Csl, double[] Weights) Compute(IReadOnlyList<double> attention, IReadOnlyList<float> logProbs)
    {
        if (attention.Count != logProbs.Count || attention.Count == 0)
            throw new ArgumentException($"CSL needs one weight per answer token: {attention.Count} weights, {logProbs.Count} tokens");
        double total = attention.Sum();
        if (!(total > 0)) throw new ArgumentException("the eliciting row puts no attention on the answer (all weights 0): CSL is undefined");
        var w = attention.Select(a => a / total).ToArray();
        double csl = 0;
        for (int i = 0; i < w.Length; i++) csl -= w[i] * logProbs[i];
        return (csl, w);
    }

    /// <summary>The eliciting input for a question and an answer: <c>tok(Tpl(q)) ⊕ y ⊕ tok_ns(suffix)</c>, and s.</summary>
    public (int[] Tokens, int SpanStart) ElicitingInput(ITokenizer tokenizer, string question, IReadOnlyList<int> answer)
    {
        var prefix = tokenizer.Encode(template.Render(question), addBos: true);
        var suffix = tokenizer.Encode(ElicitingTemplate.Suffix, addBos: false);
        return (prefix.Concat(answer).Concat(suffix).ToArray(), prefix.Count);
    }

    /// <inheritdoc />
    public SampleEstimate Estimate(EstimationContext context)
    {
        var info = context.Model.Info;
        var scores = context.Answer.Scores;
        int n = scores.Tokens.Count;
        if (n == 0) throw new InvalidOperationException($"{Name}: the answer has no tokens");
        if (!context.Model.SupportsAttentionCapture)
            throw new InvalidOperationException($"{Name}: the model delivers no attention rows (its backend has no attention capture)");

        var (e, s) = ElicitingInput(context.Model.Tokenizer, inputOnly ? context.Sample.Input : context.Prompt, scores.Tokens);
        if (e.Length > info.ContextLength)
            throw new InvalidOperationException($"{Name}: the eliciting input has {e.Length} tokens, more than the model's context of {info.ContextLength}");
        var reducer = new LastRowSpanReducer(e.Length - 1, s, n);
        context.Model.Score(new ScoreRequest { Tokens = e, From = e.Length, Captures = [reducer] });
        int expected = info.Layers * info.Heads;
        if (reducer.RowsSeen != expected)
            throw new InvalidOperationException($"{Name}: the eliciting pass delivered {reducer.RowsSeen} (layer, head) rows of its last query, expected L·H = {expected}");

        var mean = reducer.Sums.Select(x => x / expected).ToArray();   // w̄: raw rows averaged over all heads
        double csl;
        double[] w;
        try { (csl, w) = Compute(mean, scores.LogProbs); }
        catch (ArgumentException ex) { throw new InvalidOperationException($"{Name}: {ex.Message}"); }
        if (!double.IsFinite(csl)) throw new InvalidOperationException($"{Name}: a token log-probability is not finite");
        var details = new Dictionary<string, object?>
        {
            ["template"] = template.Kind,
            ["eliciting_tokens"] = e.Length,
            ["span_start"] = s,
            ["weights"] = w,
        };
        if (template.Sha256 is { } sha) details["template_sha256"] = sha;
        return new SampleEstimate(csl, Math.Clamp(Math.Exp(-csl), 0, 1)) { Details = details };
    }
}
