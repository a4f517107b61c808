using System.Text;
using System.Text.RegularExpressions;

namespace AttnEval.Evals.SearchRobustness;

/// <summary>
/// Answer scoring of specs/head-methods.md §4.2.3: SQuAD normalisation (lower case, punctuation removed, the articles
/// a/an/the removed, white space collapsed), exact match, token F1 and CoverEM (a normalised gold alias is a substring of
/// the normalised prediction), and the <c>&lt;answer&gt;…&lt;/answer&gt;</c> parser of §4.2.1.
/// </summary>
internal static partial class AnswerText
{
    /// <summary>Predictions that count as abstaining (after normalisation), besides the empty one.</summary>
    public static IReadOnlySet<string> AbstainAnswers { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "unknown", "no answer", "i dont know", "i do not know", "cannot answer", "not found", "none",
    };

    /// <summary>SQuAD-style normalisation, after Unicode NFKC (composed and decomposed accents, full-width forms compare
    /// equal): lower case, every punctuation character removed, the words a/an/the removed, runs of white space collapsed
    /// to one space, trimmed.</summary>
    public static string Normalize(string? text)
    {
        if (string.IsNullOrEmpty(text)) return "";
        var sb = new StringBuilder(text.Length);
        foreach (var ch in text.Normalize(NormalizationForm.FormKC).ToLowerInvariant())
            if (!char.IsPunctuation(ch) && !char.IsSymbol(ch)) sb.Append(ch);
        var noArticles = Articles().Replace(sb.ToString(), " ");
        return string.Join(' ', noArticles.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>1 when the normalised prediction equals a normalised gold alias, else 0.</summary>
    public static bool ExactMatch(string prediction, IEnumerable<string> golds)
    {
        var p = Normalize(prediction);
        return golds.Any(g => Normalize(g) == p);
    }

    /// <summary>Token-level F1 of the normalised prediction against the best gold alias (SQuAD: bag-of-tokens overlap;
    /// 0 when either side is empty, unless both are).</summary>
    public static double F1(string prediction, IEnumerable<string> golds) => golds.Select(g => F1(prediction, g)).DefaultIfEmpty(0).Max();

    private static double F1(string prediction, string gold)
    {
        var p = Normalize(prediction).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var g = Normalize(gold).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (p.Length == 0 || g.Length == 0) return p.Length == g.Length ? 1 : 0;
        var counts = g.GroupBy(t => t, StringComparer.Ordinal).ToDictionary(x => x.Key, x => x.Count(), StringComparer.Ordinal);
        int common = 0;
        foreach (var t in p)
            if (counts.TryGetValue(t, out var c) && c > 0) { common++; counts[t] = c - 1; }
        if (common == 0) return 0;
        double precision = (double)common / p.Length, recall = (double)common / g.Length;
        return 2 * precision * recall / (precision + recall);
    }

    /// <summary>True when some normalised gold alias occurs in the normalised prediction (a non-empty alias only).</summary>
    public static bool CoverMatch(string prediction, IEnumerable<string> golds)
    {
        var p = Normalize(prediction);
        return golds.Select(Normalize).Any(g => g.Length > 0 && p.Contains(g, StringComparison.Ordinal));
    }

    /// <summary>True when a text contains the normalised <paramref name="answer"/> as a whole-word sequence.</summary>
    public static bool Contains(string text, string answer)
    {
        var a = Normalize(answer);
        return a.Length > 0 && (" " + Normalize(text) + " ").Contains(" " + a + " ", StringComparison.Ordinal);
    }

    /// <summary>The text of the last <c>&lt;answer&gt;…&lt;/answer&gt;</c> span (an unclosed final span counts), trimmed; null when there is none.</summary>
    public static string? ParseAnswer(string response)
    {
        var matches = AnswerTag().Matches(response ?? "");
        return matches.Count == 0 ? null : matches[^1].Groups[1].Value.Trim();
    }

    /// <summary>True when a normalised prediction is empty or one of <see cref="AbstainAnswers"/>.</summary>
    public static bool IsAbstention(string normalizedPrediction) =>
        normalizedPrediction.Length == 0 || AbstainAnswers.Contains(normalizedPrediction);

    /// <summary>Levenshtein distance divided by the longer length (0 for two empty strings), in [0, 1].</summary>
    public static double NormalizedEditDistance(string a, string b)
    {
        if (a.Length == 0 && b.Length == 0) return 0;
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) prev[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (int j = 1; j <= b.Length; j++)
                cur[j] = Math.Min(Math.Min(prev[j] + 1, cur[j - 1] + 1), prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (prev, cur) = (cur, prev);
        }
        return (double)prev[b.Length] / Math.Max(a.Length, b.Length);
    }

    [GeneratedRegex(@"\b(a|an|the)\b")]
    private static partial Regex Articles();

    [GeneratedRegex(@"<answer>(.*?)(?:</answer>|$)", RegexOptions.Singleline)]
    private static partial Regex AnswerTag();
}
