using System.Globalization;
using System.Text;
using System.Text.Json;

namespace AttnEval.ModelFiles.Tokenization.HuggingFace;

/// <summary>The <c>normalizer</c> of <c>tokenizer.json</c>: a chain of string rewrites applied to each text segment
/// between added tokens, before pre-tokenization. Types read: <c>NFC</c>, <c>NFD</c>, <c>NFKC</c>, <c>NFKD</c>,
/// <c>Lowercase</c>, <c>Strip</c>, <c>StripAccents</c>, <c>Replace</c>, <c>Prepend</c>, <c>Sequence</c>.</summary>
internal sealed class TextNormalizer
{
    private readonly IReadOnlyList<Func<string, string>> _steps;

    private TextNormalizer(IReadOnlyList<Func<string, string>> steps) => _steps = steps;

    /// <summary>True when the chain does nothing (absent, or an empty <c>Sequence</c>).</summary>
    public bool IsIdentity => _steps.Count == 0;

    public string Apply(string text)
    {
        foreach (var s in _steps) text = s(text);
        return text;
    }

    /// <summary>Reads the normalizer object (or null).</summary>
    public static TextNormalizer Read(JsonSection? section)
    {
        var steps = new List<Func<string, string>>();
        if (section is { } s && s.Element.ValueKind != JsonValueKind.Null) Add(s, steps);
        return new TextNormalizer(steps);
    }

    private static void Add(JsonSection s, List<Func<string, string>> steps)
    {
        switch (s.Type)
        {
            case "Sequence":
                foreach (var n in s.Items("normalizers")) Add(n, steps);
                break;
            case "NFC": steps.Add(t => t.Normalize(NormalizationForm.FormC)); break;
            case "NFD": steps.Add(t => t.Normalize(NormalizationForm.FormD)); break;
            case "NFKC": steps.Add(t => t.Normalize(NormalizationForm.FormKC)); break;
            case "NFKD": steps.Add(t => t.Normalize(NormalizationForm.FormKD)); break;
            case "Lowercase": steps.Add(t => t.ToLowerInvariant()); break;
            case "Strip":
            {
                bool left = s.Bool("strip_left", true), right = s.Bool("strip_right", true);
                steps.Add(t => left && right ? t.Trim() : left ? t.TrimStart() : right ? t.TrimEnd() : t);
                break;
            }
            case "StripAccents":
                steps.Add(t =>
                {
                    var sb = new StringBuilder(t.Length);
                    foreach (var c in t)
                        if (CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.NonSpacingMark) sb.Append(c);
                    return sb.ToString();
                });
                break;
            case "Replace":
            {
                var pattern = s.Pattern("pattern");
                var content = s.String("content") ?? throw s.Fail("has no \"content\"");
                steps.Add(t => pattern.Replace(t, content.Replace("$", "$$", StringComparison.Ordinal)));
                break;
            }
            case "Prepend":
            {
                var prefix = s.String("prepend") ?? throw s.Fail("has no \"prepend\"");
                steps.Add(t => t.Length == 0 ? t : prefix + t);
                break;
            }
            default:
                throw s.Unsupported("normalizer", "NFC, NFD, NFKC, NFKD, Lowercase, Strip, StripAccents, Replace, Prepend and Sequence");
        }
    }
}
