using System.Globalization;

namespace AttnEval.ModelFiles.Tokenization.HuggingFace;

/// <summary>One entry of <c>added_tokens</c> in <c>tokenizer.json</c>.</summary>
internal sealed record AddedToken(int Id, string Content, bool Special, bool LStrip, bool RStrip, bool SingleWord, bool Normalized);

/// <summary>Finds added tokens in text before the model sees it, as Hugging Face's <c>AddedVocabulary</c> does: the
/// leftmost match wins, the longest among those starting there; <c>lstrip</c>/<c>rstrip</c> take the whitespace beside
/// a match into it; <c>single_word</c> matches only between word boundaries. Tokens with <c>normalized: false</c> are
/// matched in the raw text, the others in each normalized segment.</summary>
internal sealed class AddedTokens
{
    private readonly Dictionary<char, AddedToken[]> _byFirstChar;

    public AddedTokens(IEnumerable<AddedToken> tokens)
    {
        _byFirstChar = tokens.Where(t => t.Content.Length > 0)
            .GroupBy(t => t.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ToArray());
    }

    public bool IsEmpty => _byFirstChar.Count == 0;

    /// <summary>Splits <paramref name="text"/> into runs of plain text (Token null) and matched added tokens.</summary>
    public List<(string Text, AddedToken? Token)> Split(string text)
    {
        var parts = new List<(string, AddedToken?)>();
        if (IsEmpty) { parts.Add((text, null)); return parts; }
        int plainStart = 0, i = 0;
        while (i < text.Length)
        {
            if (_byFirstChar.TryGetValue(text[i], out var candidates))
            {
                AddedToken? hit = null;
                foreach (var t in candidates)
                    if (string.CompareOrdinal(text, i, t.Content, 0, t.Content.Length) == 0 && (!t.SingleWord || IsWordBounded(text, i, t.Content.Length)))
                    {
                        hit = t;
                        break;
                    }
                if (hit is not null)
                {
                    int start = i, end = i + hit.Content.Length;
                    if (hit.LStrip) while (start > plainStart && char.IsWhiteSpace(text[start - 1])) start--;
                    if (hit.RStrip) while (end < text.Length && char.IsWhiteSpace(text[end])) end++;
                    if (start > plainStart) parts.Add((text[plainStart..start], null));
                    parts.Add((text[start..end], hit));
                    i = plainStart = end;
                    continue;
                }
            }
            i++;
        }
        if (plainStart < text.Length) parts.Add((text[plainStart..], null));
        return parts;
    }

    private static bool IsWordBounded(string text, int start, int length)
    {
        static bool IsWord(char c) => char.IsLetterOrDigit(c) || c == '_' || CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.NonSpacingMark or UnicodeCategory.ConnectorPunctuation;
        bool before = start == 0 || !IsWord(text[start - 1]) || !IsWord(text[start]);
        int end = start + length;
        bool after = end == text.Length || !IsWord(text[end]) || !IsWord(text[end - 1]);
        return before && after;
    }
}
