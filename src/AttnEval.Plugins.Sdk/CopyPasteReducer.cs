using AttnEval.Abstractions;

namespace AttnEval.Plugins.Sdk;

/// <summary>How a head's copy-paste events become its score for one trial (specs/head-methods.md §1.1).</summary>
public enum RetrievalScoreMode
{
    /// <summary>Official code (<c>retrieval_calculate</c>): number of decode steps with a copy-paste event / needle length;
    /// repeated tokens can push it above 1.</summary>
    EventCount,
    /// <summary>Paper set form <c>|g_h ∩ k| / |k|</c>: distinct needle positions copied / needle length, in [0, 1].</summary>
    UniqueSet,
}

/// <summary>
/// Attention reducer for the copy-paste retrieval score of Wu et al. 2024 (arXiv 2404.15574 §2; specs/head-methods.md §1.1).
/// For every row whose logits choose a generated token — query positions from <c>promptLength − 1</c> on, the last prompt
/// position choosing the first token — it keeps, per layer and head, the argmax key position over the full visible row
/// (top-1, ties to the lowest position). Memory: new tokens × L × H ints.
/// </summary>
/// <param name="layers">Number of layers L.</param>
/// <param name="heads">Query heads per layer H.</param>
/// <param name="promptLength">Number of prompt tokens P (≥ 1).</param>
public sealed class CopyPasteReducer(int layers, int heads, int promptLength) : IAttentionRowReducer
{
    private readonly Dictionary<int, int[]> _argmax = new();   // query position → [layer * H + head]

    /// <inheritdoc />
    public IReadOnlySet<int>? Layers => null;

    /// <inheritdoc />
    public void Accept(in AttentionRowBlock block)
    {
        for (int i = 0; i < block.QueryCount; i++)
        {
            int q = block.QueryStart + i;
            if (q < promptLength - 1) continue;
            if (!_argmax.TryGetValue(q, out var slots)) _argmax[q] = slots = new int[layers * heads];
            for (int h = 0; h < block.Heads; h++)
            {
                var row = block.Row(h, i);
                int best = 0;
                for (int j = 1; j < row.Length; j++) if (row[j] > row[best]) best = j;
                slots[block.Layer * heads + h] = best;
            }
        }
    }

    /// <summary>The argmax key position of (layer, head) in the row at query position <paramref name="query"/>, or −1 when no row arrived.</summary>
    public int Argmax(int query, int layer, int head) => _argmax.TryGetValue(query, out var s) ? s[layer * heads + head] : -1;

    /// <summary>
    /// Per-head retrieval score of one trial. Decode step t emits <c>generated[t]</c> from the row at query position
    /// <c>P − 1 + t</c>; head (l, h) copy-pastes at that step when its argmax j* lies in the needle span
    /// <c>[needleStart, needleEnd)</c> and <c>tokens[j*] = generated[t]</c> (<paramref name="tokens"/> = prompt then generated).
    /// </summary>
    /// <param name="tokens">Prompt tokens followed by the generated tokens.</param>
    /// <param name="generated">Number of generated tokens (the tail of <paramref name="tokens"/>).</param>
    /// <param name="needleStart">First needle position (inclusive), in the prompt.</param>
    /// <param name="needleEnd">End of the needle span (exclusive), &gt; <paramref name="needleStart"/>.</param>
    /// <param name="mode">Event count (official) or unique set (paper).</param>
    /// <returns>Score per head for every head of the model; EventCount scores are ≥ 0 and may exceed 1.</returns>
    /// <exception cref="ArgumentException">An empty or reversed span.</exception>
    public Dictionary<HeadId, double> Scores(IReadOnlyList<int> tokens, int generated, int needleStart, int needleEnd, RetrievalScoreMode mode = RetrievalScoreMode.EventCount)
    {
        if (needleEnd <= needleStart || needleStart < 0) throw new ArgumentException($"needle span [{needleStart}, {needleEnd}) is empty or negative");
        double n = needleEnd - needleStart;
        var result = new Dictionary<HeadId, double>();
        for (int l = 0; l < layers; l++)
            for (int h = 0; h < heads; h++)
            {
                int events = 0;
                var copied = new HashSet<int>();
                for (int t = 0; t < generated; t++)
                {
                    int q = promptLength - 1 + t;
                    int j = Argmax(q, l, h);
                    int w = tokens[promptLength + t];
                    if (j >= needleStart && j < needleEnd && tokens[j] == w) { events++; copied.Add(j); }
                }
                result[new HeadId(l, h)] = (mode == RetrievalScoreMode.EventCount ? events : copied.Count) / n;
            }
        return result;
    }
}
