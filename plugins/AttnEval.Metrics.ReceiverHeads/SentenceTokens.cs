using AttnEval.Abstractions;

namespace AttnEval.Metrics.ReceiverHeads;

/// <summary>One sentence of an analysed sequence: its text and its token span.</summary>
/// <param name="Segment"><c>prompt</c> or <c>response</c>.</param>
/// <param name="Text">The sentence's text (with the whitespace that follows it).</param>
/// <param name="FirstToken">Absolute position of its first token in the scored sequence.</param>
/// <param name="TokenCount">Its number of tokens (≥ 1).</param>
internal sealed record Sentence(string Segment, string Text, int FirstToken, int TokenCount);

/// <summary>Maps the sentences of a token segment to token spans: a token belongs to the sentence that holds its first
/// character; tokens that decode to nothing (special tokens such as EOS) belong to none.</summary>
internal static class SentenceTokens
{
    /// <summary>Splits the segment <paramref name="ids"/> (which starts at absolute position <paramref name="offset"/>)
    /// into sentences, appends them to <paramref name="sentences"/> and writes each token's sentence index into
    /// <paramref name="sentenceOf"/> (indexed by absolute position; −1 for none).</summary>
    public static void Add(ITokenizer tokenizer, IReadOnlyList<int> ids, int offset, string segment, SentenceBoundaries boundaries,
        List<Sentence> sentences, int[] sentenceOf)
    {
        var (text, starts, ends) = CharSpans(tokenizer, ids);
        var spans = SentenceSplitter.Split(text, boundaries);
        int first = sentences.Count, s = 0;
        var firstToken = new int[spans.Count];
        var count = new int[spans.Count];
        Array.Fill(firstToken, -1);
        for (int k = 0; k < ids.Count; k++)
        {
            sentenceOf[offset + k] = -1;
            if (ends[k] <= starts[k]) continue;
            while (s < spans.Count - 1 && starts[k] >= spans[s].End) s++;
            if (s >= spans.Count || starts[k] < spans[s].Start || starts[k] >= spans[s].End) continue;
            sentenceOf[offset + k] = first + s;
            if (firstToken[s] < 0) firstToken[s] = offset + k;
            count[s]++;
        }
        // a sentence whose characters all fell inside tokens that start in the previous one has no token of its own:
        // renumber so that every sentence has at least one
        var remap = new int[spans.Count];
        int next = first;
        for (int i = 0; i < spans.Count; i++)
        {
            if (count[i] == 0) { remap[i] = -1; continue; }
            remap[i] = next++;
            sentences.Add(new Sentence(segment, text[spans[i].Start..spans[i].End], firstToken[i], count[i]));
        }
        for (int k = 0; k < ids.Count; k++)
            if (sentenceOf[offset + k] >= 0) sentenceOf[offset + k] = remap[sentenceOf[offset + k] - first];
    }

    /// <summary>The segment's text and each token's character span in it. Token texts are concatenated when that
    /// reproduces the decoded text (one pass); otherwise each token's end is the length of the decoded prefix.</summary>
    internal static (string Text, int[] Starts, int[] Ends) CharSpans(ITokenizer tokenizer, IReadOnlyList<int> ids)
    {
        string text = tokenizer.Decode(ids);
        var starts = new int[ids.Count];
        var ends = new int[ids.Count];
        var special = new HashSet<int>();
        if (tokenizer.BosId is { } bos) special.Add(bos);
        if (tokenizer.EosId is { } eos) special.Add(eos);
        int pos = 0;
        bool concatenates = true;
        for (int k = 0; k < ids.Count && concatenates; k++)
        {
            string piece = special.Contains(ids[k]) ? "" : tokenizer.TokenText(ids[k]);
            starts[k] = pos;
            if (piece.Length > 0 && string.CompareOrdinal(text, pos, piece, 0, piece.Length) != 0) concatenates = false;
            pos += piece.Length;
            ends[k] = pos;
        }
        if (concatenates && pos == text.Length) return (text, starts, ends);
        int prev = 0;
        for (int k = 0; k < ids.Count; k++)
        {
            int end = Math.Min(text.Length, Math.Max(prev, tokenizer.Decode(ids.Take(k + 1)).Length));
            starts[k] = prev;
            ends[k] = end;
            prev = end;
        }
        return (text, starts, ends);
    }
}
