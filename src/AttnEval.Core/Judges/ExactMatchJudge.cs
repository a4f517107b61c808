using AttnEval.Abstractions;

namespace AttnEval.Core.Judges;

/// <summary>
/// Factory of the <c>exact</c> judge: the answer is correct when it equals the sample's target, optionally after
/// trimming surrounding whitespace and ignoring case (ordinal comparison; culture-invariant case folding).
/// Options: <c>case_sensitive</c> (bool, default true, as lm-evaluation-harness <c>exact_match</c>) and
/// <c>strip</c> (bool, default true).
/// </summary>
public sealed class ExactMatchJudgeFactory : IJudgeFactory
{
    /// <summary>The recipe name, <c>exact</c>.</summary>
    public const string JudgeName = "exact";

    /// <inheritdoc />
    public string Name => JudgeName;

    /// <inheritdoc />
    public string Description => "Exact string match of answer and target (optionally case-insensitive, whitespace-trimmed); specs/uq-methods.md §6.";

    /// <inheritdoc />
    public IReadOnlyList<OptionSpec> Options { get; } =
    [
        new("case_sensitive", OptionType.Boolean, true, "Compare case-sensitively (false: invariant lower-case both sides)."),
        new("strip", OptionType.Boolean, true, "Trim leading and trailing whitespace of answer and target before comparing."),
    ];

    /// <inheritdoc />
    public ICorrectnessJudge Create(OptionValues options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new ExactMatchJudge(options.GetBool("case_sensitive", true), options.GetBool("strip", true));
    }
}

/// <summary>The <c>exact</c> judge (see <see cref="ExactMatchJudgeFactory"/>): both sides in Unicode NFC (canonically equivalent
/// strings, such as a composed and a decomposed accent, are equal), then optionally trimmed and lower-cased. Score is 1 or 0.</summary>
/// <param name="CaseSensitive">Compare case-sensitively.</param>
/// <param name="Strip">Trim surrounding whitespace first.</param>
public sealed record ExactMatchJudge(bool CaseSensitive = true, bool Strip = true) : ICorrectnessJudge
{
    /// <inheritdoc />
    public string Name => ExactMatchJudgeFactory.JudgeName;

    /// <inheritdoc />
    /// <exception cref="InvalidDataException">The sample has no target.</exception>
    public JudgeVerdict Judge(string answer, Sample sample)
    {
        ArgumentNullException.ThrowIfNull(answer);
        ArgumentNullException.ThrowIfNull(sample);
        var expected = Prepare(JudgeText.RequireTarget(sample, Name));
        var got = Prepare(answer);
        var ok = string.Equals(got, expected, StringComparison.Ordinal);
        return new JudgeVerdict(ok, ok ? 1 : 0, got, expected);
    }

    private string Prepare(string s)
    {
        // Canonically equivalent strings (composed "é" vs "e" + U+0301) are the same text: compare in NFC.
        s = s.Normalize(System.Text.NormalizationForm.FormC);
        if (Strip) s = s.Trim();
        return CaseSensitive ? s : s.ToLowerInvariant();
    }
}
