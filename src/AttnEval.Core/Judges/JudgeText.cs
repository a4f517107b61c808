using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using AttnEval.Abstractions;

namespace AttnEval.Core.Judges;

/// <summary>Text helpers shared by the built-in judges (normalisation, number extraction, field lookup).</summary>
internal static partial class JudgeText
{
    /// <summary>A field by exact key first (CSV headers may contain dots), else by dotted path.</summary>
    public static object? Lookup(Sample sample, string path) =>
        sample.Fields.TryGetValue(path, out var v) ? v : sample.Field(path);

    /// <summary>The sample's target, or an <see cref="InvalidDataException"/> naming the missing field.</summary>
    public static string RequireTarget(Sample sample, string judge) =>
        sample.Target ?? throw new InvalidDataException(
            $"sample '{sample.Id}': judge '{judge}' needs a reference answer but the sample has no target (map one with dataset.target)");

    /// <summary>Reads a list of strings (or one string) from a field; empty when absent.</summary>
    public static IReadOnlyList<string> StringList(object? value) => value switch
    {
        null => [],
        string s => [s],
        System.Collections.IEnumerable e => e.Cast<object?>().Where(x => x is not null)
            .Select(x => Convert.ToString(x, CultureInfo.InvariantCulture) ?? "").ToList(),
        _ => [Convert.ToString(value, CultureInfo.InvariantCulture) ?? ""],
    };

    /// <summary>
    /// TriviaQA-style answer normalisation (specs/uq-methods.md §6.4), Unicode-aware: first Unicode normalisation form
    /// KC (so composed and decomposed accents, full-width forms and ligatures compare equal), then lower-case (invariant);
    /// <c>_</c>, punctuation and symbols (which include ‘ ’ ´ `) become spaces, as does a combining mark left without a
    /// base letter (NFKC turns a spacing accent such as ´ into a space and a combining mark); the articles a/an/the are
    /// removed as whole words; whitespace is collapsed and trimmed.
    /// </summary>
    public static string NormalizeAnswer(string text)
    {
        var folded = text.Normalize(NormalizationForm.FormKC).ToLowerInvariant();
        var sb = new StringBuilder(folded.Length);
        foreach (var ch in folded)
        {
            var separator = ch == '_' || char.IsPunctuation(ch) || char.IsSymbol(ch)
                || (IsMark(ch) && (sb.Length == 0 || char.IsWhiteSpace(sb[^1])));
            sb.Append(separator ? ' ' : ch);
        }
        return string.Join(' ', Tokens(sb.ToString()).Where(t => t is not ("a" or "an" or "the")));
    }

    private static bool IsMark(char ch) => char.GetUnicodeCategory(ch) is UnicodeCategory.NonSpacingMark
        or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark;

    /// <summary>Whitespace tokens.</summary>
    public static string[] Tokens(string text) => text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);

    // A number: optional minus (not right after a letter/digit, so "16-3" is 16 and 3), then digits with
    // optional thousands commas, then an optional decimal part; or a bare ".5".
    [GeneratedRegex(@"(?<![\p{L}\p{N}])[-−]?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?|(?<![\p{L}\p{N}.])[-−]?\.\d+", RegexOptions.CultureInvariant)]
    private static partial Regex NumberRegex();

    /// <summary>All numbers in the text, in order, as invariant strings without commas (e.g. "$1,234.50." → "1234.50").</summary>
    public static IReadOnlyList<string> Numbers(string text) =>
        NumberRegex().Matches(text).Select(m => m.Value.Replace(",", "", StringComparison.Ordinal).Replace('−', '-')).ToList();

    /// <summary>Parses an extracted number string.</summary>
    public static double ParseNumber(string s) => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <summary>The content of the last <c>\boxed{…}</c> with balanced braces, or null.</summary>
    public static string? LastBoxed(string text)
    {
        var at = text.LastIndexOf(@"\boxed{", StringComparison.Ordinal);
        if (at < 0) return null;
        var start = at + @"\boxed{".Length;
        var depth = 1;
        for (var i = start; i < text.Length; i++)
        {
            if (text[i] == '{') depth++;
            else if (text[i] == '}' && --depth == 0) return text[start..i];
        }
        return null;
    }

    /// <summary>Text after the last <c>####</c> marker up to the end of that line, or null when there is no marker.</summary>
    public static string? AfterHashes(string text)
    {
        var at = text.LastIndexOf("####", StringComparison.Ordinal);
        if (at < 0) return null;
        var rest = text[(at + 4)..];
        var nl = rest.IndexOf('\n');
        return nl < 0 ? rest : rest[..nl];
    }

}
