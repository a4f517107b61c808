namespace AttnEval.Metrics.ReceiverHeads;

/// <summary>Which character sequences end a sentence (option <c>boundaries</c>).</summary>
internal enum SentenceBoundaries
{
    /// <summary>Thought Anchors' rule: <c>.</c>, <c>?</c> or <c>!</c> followed by a space or a newline, and a blank line.</summary>
    Sentences,
    /// <summary>The same, and every newline (worked solutions written one step per line).</summary>
    SentencesAndLines,
}

/// <summary>Splits text into sentences as character spans that tile it: each span ends after its terminator (and the
/// whitespace that follows it), so concatenating the spans gives the text back. A span of whitespace only is merged into
/// the sentence before it (or the one after, at the start).</summary>
internal static class SentenceSplitter
{
    /// <summary>Character spans <c>[Start, End)</c> of the sentences of <paramref name="text"/>, in order; empty for
    /// empty or whitespace-only text. The final sentence is kept even without a terminator.</summary>
    public static IReadOnlyList<(int Start, int End)> Split(string text, SentenceBoundaries boundaries)
    {
        var spans = new List<(int Start, int End)>();
        int start = 0, i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            bool end =
                (c is '.' or '?' or '!' && i + 1 < text.Length && text[i + 1] is ' ' or '\n') ||
                (c == '\n' && (boundaries == SentenceBoundaries.SentencesAndLines || (i + 1 < text.Length && text[i + 1] == '\n')));
            i++;
            if (!end) continue;
            while (i < text.Length && char.IsWhiteSpace(text[i])) i++;   // trailing whitespace stays with this sentence
            if (Add(spans, text, start, i)) start = i;
        }
        if (start < text.Length) Add(spans, text, start, text.Length);
        return spans;
    }

    /// <summary>Adds <c>[start, end)</c>; false when it is leading whitespace kept for the next sentence.</summary>
    private static bool Add(List<(int Start, int End)> spans, string text, int start, int end)
    {
        if (!text.AsSpan(start, end - start).IsWhiteSpace()) spans.Add((start, end));
        else if (spans.Count > 0) spans[^1] = (spans[^1].Start, end);
        else return false;
        return true;
    }
}
