using System.Globalization;
using System.Text;

namespace AttnEval.Abstractions;

/// <summary>
/// The one ROUGE implementation of AttnEval (Lin 2004, "ROUGE: A Package for Automatic Evaluation of Summaries"), shared
/// by the host's <c>rouge-l</c> judge, the lexical-similarity baseline and the retrieval-heads success filter, so every
/// number called ROUGE means the same thing. Unicode-aware tokenisation; ROUGE-L (LCS F-measure, β = 1) and ROUGE-1
/// (clipped unigram overlap). Added in contract 1.2.
/// </summary>
/// <remarks>
/// <para><b>Tokens</b> (<see cref="Tokens(string, Func{string, string}?)"/>): the text is put in Unicode normalisation
/// form KC (composed and decomposed accents, full-width forms and ligatures become the same characters), lower-cased
/// with the invariant culture, and split into maximal runs of letters (<c>\p{L}</c>) with their combining marks
/// (<c>\p{M}</c>, e.g. Devanagari vowel signs and viramas, so "कम" and "काम" stay different words) and decimal digits of
/// any script (<c>\p{Nd}</c>); every other character separates tokens. Scripts written without spaces between words
/// — Han ideographs, Hiragana and Katakana — give one token per character (the usual character-level ROUGE for Chinese
/// and Japanese), so a CJK answer inside a longer CJK sentence still overlaps it. Code points outside the Basic
/// Multilingual Plane are handled as whole code points.</para>
/// <para><b>Relation to <c>rouge_score</c></b> (Google's Python package, the reference of LM-Polygraph and of the
/// retrieval-heads code): on ASCII text the tokens are the same (it keeps <c>[a-z0-9]</c> after lower-casing), and with
/// a Porter stemmer passed in, tokens of more than 3 characters are stemmed as it does. Unlike it, letters and digits of
/// other scripts are kept instead of being dropped, so a non-Latin needle or answer can match at all. The stemmer is only
/// applied to tokens made of ASCII letters and digits (an English stemmer has no business rewriting other scripts).</para>
/// </remarks>
public static class Rouge
{
    /// <summary>ROUGE tokens of <paramref name="text"/> (see the remarks), optionally stemmed.</summary>
    /// <param name="text">Any text; empty or separator-only text gives no token.</param>
    /// <param name="stem">Optional stemmer (e.g. Porter, as <c>rouge_score</c> with <c>use_stemmer=True</c>), applied to
    /// ASCII-only tokens longer than 3 characters; null = no stemming.</param>
    /// <returns>The tokens, in text order.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    public static string[] Tokens(string text, Func<string, string>? stem = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        var folded = text.Normalize(NormalizationForm.FormKC).ToLowerInvariant();
        var tokens = new List<string>();
        var sb = new StringBuilder();
        var ascii = true;
        void Flush()
        {
            if (sb.Length == 0) return;
            var w = sb.ToString();
            sb.Clear();
            if (stem is not null && ascii && w.Length > 3) w = stem(w);
            tokens.Add(w);
            ascii = true;
        }
        foreach (var rune in folded.EnumerateRunes())
        {
            if (IsUnspacedScript(rune))
            {
                Flush();
                sb.Append(rune.ToString());
                ascii = false;
                Flush();
            }
            else if (IsTokenRune(rune, sb.Length > 0))
            {
                sb.Append(rune.ToString());
                if (!(rune.Value is >= 'a' and <= 'z' or >= '0' and <= '9')) ascii = false;
            }
            else Flush();
        }
        Flush();
        return [.. tokens];
    }

    /// <summary>Han ideographs (URO, extension A, compatibility, supplementary planes 2–3), Hiragana and Katakana.</summary>
    private static bool IsUnspacedScript(Rune rune) => rune.Value is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF
        or >= 0xF900 and <= 0xFAFF or >= 0x20000 and <= 0x3134F or >= 0x3040 and <= 0x309F or >= 0x30A0 and <= 0x30FF
        or >= 0x31F0 and <= 0x31FF;

    /// <summary>A letter or decimal digit of any script, or a combining mark that continues a token (a mark with no base
    /// before it separates, like punctuation).</summary>
    private static bool IsTokenRune(Rune rune, bool inToken) => Rune.GetUnicodeCategory(rune) switch
    {
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.DecimalDigitNumber => true,
        UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark => inToken,
        _ => false,
    };

    /// <summary>Length of the longest common subsequence of two token sequences (ordinal comparison; O(|a|·|b|) time,
    /// O(|b|) memory).</summary>
    /// <exception cref="ArgumentNullException">A null sequence.</exception>
    public static int LcsLength(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var row = new int[b.Count + 1];
        for (var i = 0; i < a.Count; i++)
        {
            var diag = 0;
            for (var j = 1; j <= b.Count; j++)
            {
                var up = row[j];
                row[j] = string.Equals(a[i], b[j - 1], StringComparison.Ordinal) ? diag + 1 : Math.Max(up, row[j - 1]);
                diag = up;
            }
        }
        return row[b.Count];
    }

    /// <summary>
    /// ROUGE-L F-measure (Lin 2004 §3.1 with β = 1): with LCS the longest common subsequence, <c>P = LCS/|candidate|</c>,
    /// <c>R = LCS/|reference|</c>, <c>F = 2PR/(P + R)</c>; 0 when either side has no token or nothing is shared.
    /// Symmetric in its arguments; range [0, 1].
    /// </summary>
    /// <exception cref="ArgumentNullException">A null sequence.</exception>
    public static double LFMeasure(IReadOnlyList<string> candidate, IReadOnlyList<string> reference)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(reference);
        if (candidate.Count == 0 || reference.Count == 0) return 0;
        var lcs = LcsLength(candidate, reference);
        if (lcs == 0) return 0;
        double p = (double)lcs / candidate.Count, r = (double)lcs / reference.Count;
        return 2 * p * r / (p + r);
    }

    /// <summary>ROUGE-L F-measure of two texts, tokenised by <see cref="Tokens(string, Func{string, string}?)"/> without stemming.</summary>
    /// <exception cref="ArgumentNullException">A null text.</exception>
    public static double LFMeasure(string candidate, string reference) => LFMeasure(Tokens(candidate), Tokens(reference));

    /// <summary>
    /// ROUGE-1 recall: the clipped unigram overlap <c>Σ_t min(count_ref(t), count_pred(t))</c> divided by the number of
    /// reference tokens (Lin 2004 §2, ROUGE-N with N = 1). Range [0, 1]; 0 when the reference has no token.
    /// </summary>
    /// <exception cref="ArgumentNullException">A null sequence.</exception>
    public static double OneRecall(IReadOnlyList<string> reference, IReadOnlyList<string> prediction)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(prediction);
        if (reference.Count == 0) return 0;
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var t in prediction) counts[t] = counts.GetValueOrDefault(t) + 1;
        var overlap = 0;
        foreach (var t in reference)
            if (counts.GetValueOrDefault(t) is > 0 and var c) { overlap++; counts[t] = c - 1; }
        return (double)overlap / reference.Count;
    }
}
