using System.Globalization;
using System.Text.RegularExpressions;

namespace AttnEval.Core.Recipes;

/// <summary>One piece of a prompt template: literal text, or a placeholder naming a field.</summary>
internal readonly record struct TemplatePart(string Text, string? Field);

/// <summary><c>{{field}}</c> templates: a field is a name of letters, digits, '_' and '-' (not starting with a
/// digit or '-'), optionally dotted (<c>{{meta.source}}</c>); spaces inside the braces are ignored.</summary>
internal static class PromptTemplate
{
    private static readonly Regex FieldPattern = new(@"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$", RegexOptions.CultureInvariant);

    /// <summary>Splits the template; <paramref name="error"/> is the first syntax problem, or null.
    /// On error the parts hold the text up to the problem.</summary>
    public static IReadOnlyList<TemplatePart> Parse(string template, out string? error)
    {
        error = null;
        var parts = new List<TemplatePart>();
        var i = 0;
        while (i < template.Length)
        {
            var open = template.IndexOf("{{", i, StringComparison.Ordinal);
            if (open < 0) { parts.Add(new TemplatePart(template[i..], null)); break; }
            if (open > i) parts.Add(new TemplatePart(template[i..open], null));
            var close = template.IndexOf("}}", open + 2, StringComparison.Ordinal);
            if (close < 0)
            {
                error = $"'{{{{' at character {open + 1} is not closed by '}}}}'";
                return parts;
            }
            var inner = template[(open + 2)..close];
            var name = inner.Trim();
            if (!FieldPattern.IsMatch(name))
            {
                error = $"placeholder '{{{{{inner}}}}}' at character {open + 1} is not a field name (letters, digits, '_', '-', dotted paths)";
                return parts;
            }
            parts.Add(new TemplatePart(template[open..(close + 2)], name));
            i = close + 2;
        }
        return parts;
    }
}

/// <summary>"Did you mean" suggestions by optimal-string-alignment (restricted Damerau–Levenshtein) distance.</summary>
internal static class Suggest
{
    /// <summary>The closest candidate, or null when none is close: distance ≤ 1 for names up to 3 characters,
    /// ≤ 2 up to 6, ≤ 3 beyond. Case and '-' vs '_' are ignored. Ties go to the earlier candidate.</summary>
    public static string? Nearest(string input, IEnumerable<string> candidates)
    {
        var a = Normalize(input);
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in candidates)
        {
            var b = Normalize(candidate);
            var d = Distance(a, b);
            var n = Math.Max(a.Length, b.Length);
            var allowed = n <= 3 ? 1 : n <= 6 ? 2 : 3;
            if (d <= allowed && d < bestDistance) { best = candidate; bestDistance = d; }
        }
        return best;
    }

    /// <summary>"; did you mean 'x'?" or, with no close candidate, " (known: a, b, c)"; empty when there are no candidates.</summary>
    public static string Hint(string input, IReadOnlyCollection<string> candidates)
    {
        var near = Nearest(input, candidates);
        if (near is not null) return $"; did you mean '{near}'?";
        return candidates.Count == 0 ? "" : $" (known: {string.Join(", ", candidates)})";
    }

    private static string Normalize(string s) => s.ToLowerInvariant().Replace('-', '_');

    /// <summary>Optimal string alignment distance (insertions, deletions, substitutions, adjacent transpositions).</summary>
    internal static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                var v = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) v = Math.Min(v, d[i - 2, j - 2] + 1);
                d[i, j] = v;
            }
        }
        return d[a.Length, b.Length];
    }
}

/// <summary>Canonical text of numbers in resolved YAML: invariant, round-trip, reals always with a '.' or exponent.</summary>
internal static class RecipeNumbers
{
    public static string Format(long value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Format(double value)
    {
        var s = value.ToString("R", CultureInfo.InvariantCulture);
        return s.Contains('.') || s.Contains('E') || s.Contains('e') ? s : s + ".0";
    }

    /// <summary>Interval text: '[' / ']' inclusive, '(' / ')' exclusive, "inf" when unbounded.</summary>
    public static string Range(double? min, bool minExclusive, double? max, bool maxExclusive) =>
        (min is null ? "(-inf" : (minExclusive ? "(" : "[") + Short(min.Value)) + ", " +
        (max is null ? "inf)" : Short(max.Value) + (maxExclusive ? ")" : "]"));

    private static string Short(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
