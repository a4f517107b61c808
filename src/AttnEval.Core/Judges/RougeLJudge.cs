using AttnEval.Abstractions;

namespace AttnEval.Core.Judges;

/// <summary>
/// Factory of the <c>rouge-l</c> judge (specs/uq-methods.md §6.4: "ROUGE-L &gt; 0.5", the SAR repository's rule and
/// AttnEval's default for short QA). Options: <c>threshold</c> (number in [0, 1], default 0.5; correct iff
/// F &gt; threshold, strictly) and <c>references_field</c> (string, default unset: an extra field whose strings
/// are further references besides the target; the best F counts).
/// </summary>
public sealed class RougeLJudgeFactory : IJudgeFactory
{
    /// <summary>The recipe name, <c>rouge-l</c>.</summary>
    public const string JudgeName = "rouge-l";

    /// <summary>Default threshold, 0.5 (spec §6.4).</summary>
    public const double DefaultThreshold = 0.5;

    /// <inheritdoc />
    public string Name => JudgeName;

    /// <inheritdoc />
    public string Description => "ROUGE-L F-measure (LCS of normalised tokens) against the target/references, correct when above a threshold (0.5); specs/uq-methods.md §6.4.";

    /// <inheritdoc />
    public IReadOnlyList<OptionSpec> Options { get; } =
    [
        new("threshold", OptionType.Number, DefaultThreshold, "Correct iff ROUGE-L F > threshold (spec §6.4: 0.5, SAR).") { Min = 0, Max = 1 },
        new("references_field", OptionType.String, null, "Optional sample field (dotted path) with more reference answers; the maximum F over references and target counts."),
    ];

    /// <inheritdoc />
    /// <exception cref="ArgumentException">A threshold outside [0, 1].</exception>
    public ICorrectnessJudge Create(OptionValues options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var threshold = options.GetDouble("threshold", DefaultThreshold);
        if (!(threshold >= 0 && threshold <= 1)) throw new ArgumentException($"judge '{JudgeName}': threshold must be in [0, 1] (got {threshold})", nameof(options));
        var field = options.Has("references_field") ? options.GetString("references_field") : null;
        return new RougeLJudge(threshold, string.IsNullOrWhiteSpace(field) ? null : field);
    }
}

/// <summary>
/// The <c>rouge-l</c> judge, on the shared <see cref="Rouge"/> implementation: tokens are Unicode-aware (NFKC,
/// invariant lower-case, runs of letters with their combining marks and digits of any script; CJK one per character;
/// no stemming), so on ASCII text they equal the <c>rouge_score</c> tokenizer's. With LCS the length of the longest
/// common subsequence, <c>P = LCS/|answer|</c>, <c>R = LCS/|reference|</c>, <c>F = 2PR/(P + R)</c> (Lin 2004, ROUGE-L
/// with β = 1), and F = 0 when either side has no token or LCS = 0. Score is the best F over references; Expected is
/// the best reference.
/// </summary>
/// <param name="Threshold">Correct iff F &gt; threshold.</param>
/// <param name="ReferencesField">Optional field with more references, or null.</param>
public sealed record RougeLJudge(double Threshold = RougeLJudgeFactory.DefaultThreshold, string? ReferencesField = null) : ICorrectnessJudge
{
    /// <inheritdoc />
    public string Name => RougeLJudgeFactory.JudgeName;

    /// <summary>ROUGE-L F-measure of <paramref name="candidate"/> against <paramref name="reference"/>, in [0, 1] (see the type's summary).</summary>
    public static double FMeasure(string candidate, string reference)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(reference);
        return Rouge.LFMeasure(candidate, reference);
    }

    /// <inheritdoc />
    /// <exception cref="InvalidDataException">The sample has neither a target nor references.</exception>
    public JudgeVerdict Judge(string answer, Sample sample)
    {
        ArgumentNullException.ThrowIfNull(answer);
        ArgumentNullException.ThrowIfNull(sample);
        var refs = new List<string>();
        if (sample.Target is { } t) refs.Add(t);
        if (ReferencesField is not null) refs.AddRange(JudgeText.StringList(JudgeText.Lookup(sample, ReferencesField)));
        if (refs.Count == 0)
            throw new InvalidDataException(ReferencesField is null
                ? $"sample '{sample.Id}': judge '{Name}' needs a reference answer but the sample has no target (map one with dataset.target)"
                : $"sample '{sample.Id}': judge '{Name}' found no target and no references in field '{ReferencesField}'");
        var best = -1.0;
        string? bestRef = null;
        foreach (var r in refs)
        {
            var f = FMeasure(answer, r);
            if (f > best) { best = f; bestRef = r; }
        }
        return new JudgeVerdict(best > Threshold, best, answer, bestRef);
    }
}
