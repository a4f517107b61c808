using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using AttnEval.Abstractions;
using AttnEval.Plugins.Sdk;

namespace AttnEval.Metrics.Baselines;

/// <summary>
/// When two sampled answers "mean the same", for the semantic estimators (semantic entropy, discrete SE).
/// The papers decide it with an NLI model (bidirectional entailment; uq-methods.md §3: DeBERTa-MNLI), which AttnEval
/// does not ship offline, so the rule is a recipe option (<c>equivalence</c>):
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>final-answer</c> (default): equal <see cref="FinalAnswer"/>s — the number after the last <c>####</c>, else the
/// last number of the answer (commas removed, compared as a decimal: <c>18</c> = <c>18.0</c>), else the
/// <see cref="Normalize">normalised</see> text. This is what the <c>numeric-final-answer</c> judge compares, so on
/// GSM8K-style arithmetic (AttnEval's main job) two samples are equivalent exactly when the judge would give them the
/// same verdict. On free-form text with incidental numbers it over-merges; use <c>normalized-text</c> or
/// <c>similarity</c> there.</item>
/// <item><c>normalized-text</c>: equal normalised texts (lower case, punctuation and symbols removed, articles a/an/the
/// removed, whitespace collapsed — the TriviaQA/SQuAD normalisation of uq-methods.md §6.4). Suits short QA answers.</item>
/// <item><c>similarity</c>: the recipe's sentence-similarity model (<see cref="ISentenceSimilarity"/>, e.g. MiniLM cosine)
/// gives ≥ <c>similarity_threshold</c> in both directions — the analogue of bidirectional entailment with a
/// symmetric score. Needs a similarity plugin.</item>
/// </list>
/// <para>Clustering follows LM-Polygraph's greedy rule (<c>semantic_classes.py</c>): sample i joins the first existing
/// class whose first member is equivalent to it, else opens a new class; class ids are numbered 0, 1, … in order of
/// first appearance. For the two equality rules this is exactly the partition into equal keys.</para>
/// </remarks>
internal sealed partial class AnswerEquivalence
{
    /// <summary>Recipe values of the <c>equivalence</c> option (declared on its option).</summary>
    public static IReadOnlyList<string> Rules { get; } = OptionBinder.Specs<EquivalenceOptions>().Single(o => o.Key == "equivalence").AllowedValues!;

    /// <summary>Default rule, <c>final-answer</c>.</summary>
    public const string DefaultRule = "final-answer";

    /// <summary>Default similarity threshold, 0.9: only near-paraphrases merge under a bi-encoder cosine.</summary>
    public const double DefaultThreshold = 0.9;

    /// <summary>The rule name (one of <see cref="Rules"/>).</summary>
    public string Rule { get; }

    /// <summary>Threshold of the <c>similarity</c> rule.</summary>
    public double Threshold { get; }

    /// <summary>Creates a rule.</summary>
    /// <exception cref="ArgumentException">An unknown rule name.</exception>
    public AnswerEquivalence(string rule = DefaultRule, double threshold = DefaultThreshold)
    {
        if (!Rules.Contains(rule)) throw new ArgumentException($"equivalence '{rule}' is unknown; expected one of {string.Join(", ", Rules)}", nameof(rule));
        Rule = rule;
        Threshold = threshold;
    }

    /// <summary>Reads <c>equivalence</c> and <c>similarity_threshold</c>.</summary>
    public static AnswerEquivalence FromOptions(OptionValues options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return OptionBinder.Bind<EquivalenceOptions>(options).ToEquivalence();
    }

    /// <summary><see cref="MetricNeeds.SentenceSimilarity"/> for the <c>similarity</c> rule, else none.</summary>
    public MetricNeeds Needs => Rule == "similarity" ? MetricNeeds.SentenceSimilarity : MetricNeeds.None;

    /// <summary>Class id of each text (0-based, in order of first appearance), by the greedy rule of the remarks.</summary>
    /// <param name="texts">The sampled answers' texts, K ≥ 0.</param>
    /// <param name="similarity">The similarity model; required by the <c>similarity</c> rule only.</param>
    /// <exception cref="InvalidOperationException">The <c>similarity</c> rule without a similarity model.</exception>
    public int[] Cluster(IReadOnlyList<string> texts, ISentenceSimilarity? similarity = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var ids = new int[texts.Count];
        if (Rule == "similarity")
        {
            if (similarity is null)
                throw new InvalidOperationException("equivalence 'similarity' needs a sentence-similarity model, but the run has none (install a similarity plugin, or use equivalence: final-answer / normalized-text)");
            var firsts = new List<string>();
            for (var i = 0; i < texts.Count; i++)
            {
                var c = firsts.FindIndex(f => similarity.Similarity(f, texts[i]) >= Threshold && similarity.Similarity(texts[i], f) >= Threshold);
                if (c < 0) { c = firsts.Count; firsts.Add(texts[i]); }
                ids[i] = c;
            }
            return ids;
        }
        var keys = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < texts.Count; i++)
        {
            var key = Rule == "final-answer" ? FinalAnswer(texts[i]) : Normalize(texts[i]);
            if (!keys.TryGetValue(key, out var c)) keys[key] = c = keys.Count;
            ids[i] = c;
        }
        return ids;
    }

    /// <summary>
    /// The final answer of a text as a comparison key: the last number after the last <c>####</c> (or in the whole text
    /// when there is no marker), as an invariant decimal without thousands separators; when that part has no number, its
    /// <see cref="Normalize">normalised</see> text.
    /// </summary>
    public static string FinalAnswer(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var at = text.LastIndexOf("####", StringComparison.Ordinal);
        var part = text;
        if (at >= 0)
        {
            part = text[(at + 4)..];
            var nl = part.IndexOf('\n');
            if (nl >= 0) part = part[..nl];
        }
        var numbers = Number().Matches(part);
        if (numbers.Count == 0) return Normalize(part);
        var raw = numbers[^1].Value.Replace(",", "", StringComparison.Ordinal);
        return decimal.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
            ? "#" + (d / 1.000000000000000000000000000000000m).ToString(CultureInfo.InvariantCulture)
            : "#" + raw;
    }

    /// <summary>Lower case; punctuation, symbols and <c>_</c> become spaces; the articles a/an/the are dropped; whitespace collapsed.</summary>
    public static string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sb = new StringBuilder(text.Length);
        foreach (var ch in text.ToLowerInvariant())
            sb.Append(char.IsPunctuation(ch) || char.IsSymbol(ch) ? ' ' : ch);
        var words = sb.ToString().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return string.Join(' ', words.Where(w => w is not ("a" or "an" or "the")));
    }

    // A signed decimal number with optional thousands commas; a minus sign right after a letter or digit is a hyphen.
    [GeneratedRegex(@"(?<![\p{L}\p{N}])-?\d+(?:,\d{3})*(?:\.\d+)?", RegexOptions.CultureInvariant)]
    private static partial Regex Number();
}

/// <summary>The two options every semantic estimator accepts (<c>equivalence</c>, <c>similarity_threshold</c>), declared once.</summary>
internal record EquivalenceOptions
{
    [Option("equivalence", "When two sampled answers are equivalent: final-answer (same #### / last number, else same normalised text), normalized-text, or similarity (ISentenceSimilarity >= similarity_threshold both ways).",
        Allowed = ["final-answer", "normalized-text", "similarity"])]
    public string Equivalence { get; init; } = AnswerEquivalence.DefaultRule;

    [Option("similarity_threshold", "Threshold of the similarity rule, in the similarity model's range (cosine: [-1, 1]).", Min = -1, Max = 1)]
    public double SimilarityThreshold { get; init; } = AnswerEquivalence.DefaultThreshold;

    /// <summary>The rule these options name.</summary>
    /// <exception cref="ArgumentException">An unknown rule name.</exception>
    public AnswerEquivalence ToEquivalence() => new(Equivalence, SimilarityThreshold);
}
