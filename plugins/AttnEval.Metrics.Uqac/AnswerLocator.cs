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

/// <summary>Which number <see cref="AnswerFormat.Number"/> takes from the last line (recipe option <c>number_span</c>).
/// Public, with <see cref="AnswerFormat"/>, only because the tests' theories take it as a parameter.</summary>
public enum NumberSpan
{
    /// <summary>Default (<c>whole</c>): the whole last number, with an optional minus sign, thousands commas and decimals
    /// ("#### 1625" → "1625").</summary>
    Whole,
    /// <summary>Parity with the reference code (<c>reference</c>): its GSM8K pattern <c>\d{1,3}(?:,\d{3})*(?:\.\d+)?</c>
    /// (currency and % outside the span, no minus sign) matched repeatedly, last match, located by its last occurrence in the
    /// last line. A comma-free number of more than 3 digits is split into runs of up to 3, so only its trailing 1–3 digits
    /// are the answer ("#### 1625" → "5", "#### 12345" → "45"). A deviation we do not follow by default: 47 of the 200
    /// quickstart answers differ, and UQAC's AUROC is 0.859 with the whole number vs 0.821 with the reference's span.</summary>
    Reference,
}

/// <summary>Finds the answer's character span in a response and maps it to response tokens (spec §1.3; UQAC
/// <c>src/eval/gsm8k.py, math.py, bbh.py</c>).</summary>
internal static partial class AnswerLocator
{
    // optional minus, digits with optional thousands groups, optional decimals; currency and % stay outside the span
    [GeneratedRegex(@"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")]
    private static partial Regex NumberPattern();

    // the reference's GSM8K number (src/eval/gsm8k.py, spec §1.3) without its optional currency sign and %
    [GeneratedRegex(@"\d{1,3}(?:,\d{3})*(?:\.\d+)?")]
    private static partial Regex ReferenceNumberPattern();

    /// <summary>The answer's character span <c>[Start, End)</c> in <paramref name="response"/>, or null when none is found.</summary>
    /// <param name="response">The generated answer text.</param>
    /// <param name="format">The answer rule.</param>
    /// <param name="numberSpan">For <see cref="AnswerFormat.Number"/>: the whole number (default) or the reference's span.</param>
    public static (int Start, int End)? FindSpan(string response, AnswerFormat format, NumberSpan numberSpan = NumberSpan.Whole)
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
                var line = response[start..end];
                var matches = (numberSpan == NumberSpan.Reference ? ReferenceNumberPattern() : NumberPattern()).Matches(line);
                if (matches.Count > 0)
                {
                    var m = matches[^1];
                    // the reference locates the matched string by its last occurrence in the last line
                    var at = numberSpan == NumberSpan.Reference ? line.LastIndexOf(m.Value, StringComparison.Ordinal) : m.Index;
                    return (start + at, start + at + m.Length);
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
