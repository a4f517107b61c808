using System.Globalization;
using System.Text;
using AttnEval.Abstractions;

namespace AttnEval.Core.Judges;

/// <summary>
/// Factory of the <c>numeric-final-answer</c> judge for GSM8K-style answers (specs/uq-methods.md §6.1).
/// Options: <c>tolerance</c> (number ≥ 0, default 1e-6: correct iff <c>|a − b| ≤ tolerance · max(1, |b|)</c>, the
/// spec's recommendation) and <c>mode</c> (<c>numeric</c>, default; or <c>polygraph</c> for LM-Polygraph parity).
/// </summary>
public sealed class NumericFinalAnswerJudgeFactory : IJudgeFactory
{
    /// <summary>The recipe name, <c>numeric-final-answer</c>.</summary>
    public const string JudgeName = "numeric-final-answer";

    /// <inheritdoc />
    public string Name => JudgeName;

    /// <inheritdoc />
    public string Description => "GSM8K final-answer judge: the number after '####' (else the last number) compared numerically with the target's '#### N'; specs/uq-methods.md §6.1.";

    /// <inheritdoc />
    public IReadOnlyList<OptionSpec> Options { get; } =
    [
        new("tolerance", OptionType.Number, 1e-6, "Relative tolerance: correct iff |answer − reference| ≤ tolerance·max(1, |reference|) (spec §6.1).") { Min = 0 },
        new("mode", OptionType.String, "numeric", "'numeric' (default, spec §6.1 recommendation) or 'polygraph' (LM-Polygraph GSM8K string match, for parity).")
        { AllowedValues = ["numeric", "polygraph"] },
    ];

    /// <inheritdoc />
    /// <exception cref="ArgumentException">An unknown mode or a negative tolerance.</exception>
    public ICorrectnessJudge Create(OptionValues options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var mode = options.GetString("mode", "numeric");
        var tolerance = options.GetDouble("tolerance", 1e-6);
        if (!(tolerance >= 0)) throw new ArgumentException($"judge '{JudgeName}': tolerance must be ≥ 0 (got {tolerance})", nameof(options));
        return mode switch
        {
            "numeric" => new NumericFinalAnswerJudge(tolerance, NumericJudgeMode.Numeric),
            "polygraph" => new NumericFinalAnswerJudge(tolerance, NumericJudgeMode.Polygraph),
            _ => throw new ArgumentException($"judge '{JudgeName}': unknown mode '{mode}' (expected numeric or polygraph)", nameof(options)),
        };
    }
}

/// <summary>How <see cref="NumericFinalAnswerJudge"/> compares.</summary>
public enum NumericJudgeMode
{
    /// <summary>Extract one number from each side and compare with a relative tolerance (spec §6.1 recommendation).</summary>
    Numeric,
    /// <summary>LM-Polygraph <c>polygraph_eval_gsm8k.yaml</c>: drop everything up to <c>"#### "</c> in the target and up to
    /// <c>"The answer is "</c> in the answer, lower-case, trim, delete ASCII punctuation, compare strings.</summary>
    Polygraph,
}

/// <summary>
/// The <c>numeric-final-answer</c> judge (specs/uq-methods.md §6.1).
/// Reference: the first number after the last <c>####</c> of the target (GSM8K format), else the last number in
/// the target. Answer: the first number after the last <c>####</c> if the answer has one, else the first number in
/// the last <c>\boxed{…}</c>, else the last number in the answer. Numbers are read with thousands commas,
/// currency signs, units (including <c>%</c>, which is not divided by 100) and trailing periods ignored,
/// e.g. <c>"#### $1,234.50."</c> → 1234.5. An answer without a number is wrong (Extracted = null), not an error.
/// Score is 1 or 0.
/// </summary>
/// <param name="Tolerance">Relative tolerance ≥ 0.</param>
/// <param name="Mode">Comparison mode.</param>
public sealed record NumericFinalAnswerJudge(double Tolerance = 1e-6, NumericJudgeMode Mode = NumericJudgeMode.Numeric) : ICorrectnessJudge
{
    /// <inheritdoc />
    public string Name => NumericFinalAnswerJudgeFactory.JudgeName;

    /// <summary>Extracts the final answer number of a text as described on the type, or null.</summary>
    public static double? ExtractFinalNumber(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var s = ExtractNumberText(text);
        return s is null ? null : JudgeText.ParseNumber(s);
    }

    private static string? ExtractNumberText(string text)
    {
        if (JudgeText.AfterHashes(text) is { } afterHashes && JudgeText.Numbers(afterHashes) is { Count: > 0 } h) return h[0];
        if (JudgeText.LastBoxed(text) is { } boxed && JudgeText.Numbers(boxed) is { Count: > 0 } b) return b[0];
        var all = JudgeText.Numbers(text);
        return all.Count > 0 ? all[^1] : null;
    }

    /// <inheritdoc />
    /// <exception cref="InvalidDataException">The sample has no target, or its target holds no number.</exception>
    public JudgeVerdict Judge(string answer, Sample sample)
    {
        ArgumentNullException.ThrowIfNull(answer);
        ArgumentNullException.ThrowIfNull(sample);
        var target = JudgeText.RequireTarget(sample, Name);
        if (Mode == NumericJudgeMode.Polygraph)
        {
            var exp = PolygraphClean(After(target, "#### "));
            var got = PolygraphClean(After(answer, "The answer is "));
            var same = string.Equals(exp, got, StringComparison.Ordinal);
            return new JudgeVerdict(same, same ? 1 : 0, got, exp);
        }

        var refText = ExtractNumberText(target) ?? throw new InvalidDataException(
            $"sample '{sample.Id}': judge '{Name}' found no number in the target (expected a '#### N' line): \"{Shorten(target)}\"");
        var reference = JudgeText.ParseNumber(refText);
        var ansText = ExtractNumberText(answer);
        if (ansText is null) return new JudgeVerdict(false, 0, null, Format(reference));
        var value = JudgeText.ParseNumber(ansText);
        var ok = Math.Abs(value - reference) <= Tolerance * Math.Max(1, Math.Abs(reference));
        return new JudgeVerdict(ok, ok ? 1 : 0, Format(value), Format(reference));
    }

    private static string After(string text, string marker)
    {
        var at = text.IndexOf(marker, StringComparison.Ordinal);
        return at < 0 ? text : text[(at + marker.Length)..];
    }

    private static string PolygraphClean(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var ch in s.ToLowerInvariant().Trim())
        {
            // Python string.punctuation: printable ASCII that is neither a letter, a digit nor white space
            var punctuation = ch < 128 && !char.IsAsciiLetterOrDigit(ch) && !char.IsWhiteSpace(ch) && !char.IsControl(ch);
            if (!punctuation) sb.Append(ch);
        }
        return sb.ToString();
    }

    private static string Format(double x) => x.ToString("R", CultureInfo.InvariantCulture);

    private static string Shorten(string s) => s.Length <= 80 ? s : s[..77] + "...";
}
