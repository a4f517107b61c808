using AttnEval.Abstractions;

namespace AttnEval.Core.Judges;

/// <summary>
/// Factory of the <c>alias-match</c> judge for short free-form QA such as TriviaQA (specs/uq-methods.md §6.4,
/// "EM after normalisation"). Options: <c>aliases_field</c> (string, default <c>aliases</c>; a dotted path such as
/// <c>answer.aliases</c> for the Hugging Face TriviaQA layout) and <c>mode</c> (<c>exact</c>, default, or
/// <c>contains</c>).
/// </summary>
public sealed class AliasMatchJudgeFactory : IJudgeFactory
{
    /// <summary>The recipe name, <c>alias-match</c>.</summary>
    public const string JudgeName = "alias-match";

    /// <inheritdoc />
    public string Name => JudgeName;

    /// <inheritdoc />
    public string Description => "TriviaQA-style normalised (Unicode NFKC) match against the target and a list of answer aliases; specs/uq-methods.md §6.4.";

    /// <inheritdoc />
    public IReadOnlyList<OptionSpec> Options { get; } =
    [
        new("aliases_field", OptionType.String, "aliases", "Sample field (dotted path) holding the list of accepted answers besides the target (the target is always accepted)."),
        new("mode", OptionType.String, "exact", "'exact': normalised answer equals a normalised alias; 'contains': a normalised alias occurs as whole words in the normalised answer.")
        { AllowedValues = ["exact", "contains"] },
    ];

    /// <inheritdoc />
    /// <exception cref="ArgumentException">An unknown mode or an empty field name.</exception>
    public ICorrectnessJudge Create(OptionValues options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var field = options.GetString("aliases_field", "aliases");
        if (string.IsNullOrWhiteSpace(field)) throw new ArgumentException($"judge '{JudgeName}': aliases_field must not be empty", nameof(options));
        var mode = options.GetString("mode", "exact");
        return mode switch
        {
            "exact" => new AliasMatchJudge(field, Contains: false),
            "contains" => new AliasMatchJudge(field, Contains: true),
            _ => throw new ArgumentException($"judge '{JudgeName}': unknown mode '{mode}' (expected exact or contains)", nameof(options)),
        };
    }
}

/// <summary>
/// The <c>alias-match</c> judge. Both the answer and every candidate are normalised as in the TriviaQA evaluation
/// (Unicode NFKC, so composed and decomposed forms match; lower-case; <c>_</c>, punctuation and symbols → space;
/// articles a/an/the removed; whitespace collapsed; see <see cref="Normalize"/>). The candidates are the sample's target
/// (always, when it has one: the gold answer is never dropped because aliases exist, e.g. gold "Montreal" with only
/// accented aliases) followed by the aliases from <paramref name="AliasesField"/> (a list of strings, or one string).
/// Candidates that normalise to nothing are ignored. Score is 1 or 0; Expected is the matched candidate (normalised),
/// or the first one (the target when there is one) when none matched.
/// </summary>
/// <param name="AliasesField">Field (dotted path) with the aliases.</param>
/// <param name="Contains">False: normalised equality. True: the alias's tokens occur contiguously in the answer's tokens.</param>
public sealed record AliasMatchJudge(string AliasesField = "aliases", bool Contains = false) : ICorrectnessJudge
{
    /// <inheritdoc />
    public string Name => AliasMatchJudgeFactory.JudgeName;

    /// <summary>The TriviaQA-style normalisation used by this judge (see the type's summary).</summary>
    public static string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return JudgeText.NormalizeAnswer(text);
    }

    /// <inheritdoc />
    /// <exception cref="InvalidDataException">The sample has neither aliases in <see cref="AliasesField"/> nor a target, or every
    /// candidate is empty after normalisation.</exception>
    public JudgeVerdict Judge(string answer, Sample sample)
    {
        ArgumentNullException.ThrowIfNull(answer);
        ArgumentNullException.ThrowIfNull(sample);
        var aliases = JudgeText.StringList(JudgeText.Lookup(sample, AliasesField));
        if (aliases.Count == 0 && sample.Target is null)
            throw new InvalidDataException($"sample '{sample.Id}': judge '{Name}' found no aliases in field '{AliasesField}' and no target to fall back to");
        IEnumerable<string> candidates = sample.Target is { } t ? [t, .. aliases] : aliases;
        var normalized = candidates.Select(JudgeText.NormalizeAnswer).Where(a => a.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        if (normalized.Count == 0)
            throw new InvalidDataException($"sample '{sample.Id}': judge '{Name}': the target and every alias in '{AliasesField}' are empty after normalisation");

        var got = JudgeText.NormalizeAnswer(answer);
        var gotTokens = JudgeText.Tokens(got);
        foreach (var alias in normalized)
        {
            var hit = Contains ? ContainsTokens(gotTokens, JudgeText.Tokens(alias)) : string.Equals(got, alias, StringComparison.Ordinal);
            if (hit) return new JudgeVerdict(true, 1, got, alias);
        }
        return new JudgeVerdict(false, 0, got, normalized[0]);
    }

    private static bool ContainsTokens(string[] hay, string[] needle)
    {
        for (var i = 0; i + needle.Length <= hay.Length; i++)
        {
            var j = 0;
            while (j < needle.Length && string.Equals(hay[i + j], needle[j], StringComparison.Ordinal)) j++;
            if (j == needle.Length) return true;
        }
        return false;
    }
}
