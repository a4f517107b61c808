using System.Text.RegularExpressions;

namespace AttnEval.Metrics.Uqac;

/// <summary>How the answer is found in a response (specs/uq-methods.md §1.3).</summary>
public enum AnswerFormat
{
    /// <summary>GSM8K / arithmetic rule: the last number on the last non-empty line (a <c>#### N</c> line, or the content of a
    /// <c>\boxed{}</c> there), currency signs, thousands commas and <c>%</c> outside the span; falls back to the right-most
    /// <c>\boxed{…}</c> content.</summary>
    Number,
    /// <summary>MATH / BBH rule: the content of the right-most balanced <c>\boxed{…}</c>.</summary>
    Boxed,
    /// <summary>The whole last non-empty line, trimmed (short free-form answers).</summary>
    LastLine,
}

/// <summary>Finds the answer's character span in a response and maps it to response tokens (spec §1.3; UQAC
/// <c>src/eval/gsm8k.py, math.py, bbh.py</c>).</summary>
public static partial class AnswerLocator
{
    // optional minus, digits with optional thousands groups, optional decimals; currency and % stay outside the span
    [GeneratedRegex(@"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")]
    private static partial Regex NumberPattern();

    /// <summary>The answer's character span <c>[Start, End)</c> in <paramref name="response"/>, or null when none is found.</summary>
    public static (int Start, int End)? FindSpan(string response, AnswerFormat format)
    {
        switch (format)
        {
            case AnswerFormat.Boxed:
                return LastBoxed(response);
            case AnswerFormat.LastLine:
            {
                var (start, end) = LastLine(response);
                while (start < end && char.IsWhiteSpace(response[start])) start++;
                while (end > start && char.IsWhiteSpace(response[end - 1])) end--;
                return end > start ? (start, end) : null;
            }
            default:
            {
                var (start, end) = LastLine(response);
                var matches = NumberPattern().Matches(response[start..end]);
                if (matches.Count > 0)
                {
                    var m = matches[^1];
                    return (start + m.Index, start + m.Index + m.Length);
                }
                return LastBoxed(response);
            }
        }
    }

    /// <summary>
    /// Maps a character span to the inclusive range of response tokens that overlap it, given each token's end offset in
    /// the decoded response (<c>ends[i]</c> = length of the decoded text of tokens 0..i).
    /// </summary>
    /// <returns>(first, last) token indices, or null when no token overlaps the span.</returns>
    public static (int First, int Last)? TokenSpan(IReadOnlyList<int> ends, (int Start, int End) span)
    {
        int first = -1, last = -1, prev = 0;
        for (int i = 0; i < ends.Count; i++)
        {
            int s = prev, e = ends[i];
            prev = Math.Max(prev, e);
            if (e <= s) continue;   // tokens with no text (special tokens)
            if (e > span.Start && s < span.End)
            {
                if (first < 0) first = i;
                last = i;
            }
        }
        return first < 0 ? null : (first, last);
    }

    private static (int Start, int End) LastLine(string text)
    {
        int end = text.Length;
        while (end > 0 && char.IsWhiteSpace(text[end - 1])) end--;
        int start = end == 0 ? 0 : text.LastIndexOf('\n', end - 1) + 1;
        return (start, end);
    }

    private static (int Start, int End)? LastBoxed(string text)
    {
        int at = text.LastIndexOf(@"\boxed{", StringComparison.Ordinal);
        if (at < 0) return null;
        int open = at + @"\boxed{".Length, depth = 1;
        for (int i = open; i < text.Length; i++)
        {
            if (text[i] == '{') depth++;
            else if (text[i] == '}' && --depth == 0) return i > open ? (open, i) : null;
        }
        return null;
    }
}
