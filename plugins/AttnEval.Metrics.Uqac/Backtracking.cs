namespace AttnEval.Metrics.Uqac;

/// <summary>Settings of the attention-chain backtracking (specs/uq-methods.md §1.5 and §1.9; UQAC <c>src/args.py</c>).</summary>
/// <param name="Buffer">B: at most this many new tokens join the chain per iteration (default 3).</param>
/// <param name="Threshold">τ: once the chain has its minimum length, only candidates whose accumulated attention is ≥ τ
/// join (default 0.5).</param>
/// <param name="MinLength">L_min: chain tokens wanted besides the answer tokens (default 5).</param>
/// <param name="MaxSteps">Iteration cap (default 1000).</param>
/// <param name="PerSource">Top attended positions read per source row (default 5; more only while nothing was found and
/// the chain is still short).</param>
/// <param name="ParityQuirks">Reproduce the reference's double counting of newly picked tokens in the length test
/// ([quirk] of spec §1.5). Off by default.</param>
internal sealed record BacktrackOptions(int Buffer = 3, double Threshold = 0.5, int MinLength = 5, int MaxSteps = 1000, int PerSource = 5, bool ParityQuirks = false);

/// <summary>One chain entry: a source id (response coordinates; the chain token itself is at <c>SourceId + 1</c>) and
/// the attention accumulated when it was picked (0 for answer entries).</summary>
/// <param name="SourceId">Source id in response coordinates, ≥ −1 (−1: the chain token is response token 0, predicted at the
/// last prompt position).</param>
/// <param name="Score">Accumulated reduced attention, ≥ 0.</param>
internal readonly record struct ChainEntry(int SourceId, double Score);

/// <summary>
/// Attention-chain construction by backtracking from the answer (specs/uq-methods.md §1.5; UQAC
/// <c>src/attrs/processor.py: backtrack</c>), over a reduced attention matrix <c>M</c> in absolute positions.
/// </summary>
internal static class Backtracking
{
    /// <summary>Builds the chain.</summary>
    /// <param name="row">The reduced row of an absolute query position (length ≥ position + 1), or null for a position with
    /// no row (prompt positions: treated as all zeros, so the chain never extends through the instruction).</param>
    /// <param name="promptLength">n_instr, ≥ 0.</param>
    /// <param name="blocked">Per absolute position: true when the token is a stop word, punctuation, whitespace, or an
    /// instruction token (those never join the chain). Length = n_instr + response length.</param>
    /// <param name="answerSourceIds">Source ids of the answer tokens in response coordinates (each ≥ −1), non-empty.</param>
    /// <param name="options">B, τ, L_min, ….</param>
    /// <returns>The chain sorted by source id, answer entries included (score 0).</returns>
    /// <exception cref="ArgumentException">No answer source ids, or one outside the response.</exception>
    /// <remarks>Ordering: positions are ranked by attention descending, ties by position ascending (the reference's
    /// PyTorch <c>argsort</c> leaves tie order unspecified, [quirk] of spec §1.5); candidates of one iteration likewise.</remarks>
    public static IReadOnlyList<ChainEntry> Build(Func<int, float[]?> row, int promptLength, IReadOnlyList<bool> blocked,
        IReadOnlyList<int> answerSourceIds, BacktrackOptions options)
    {
        if (answerSourceIds.Count == 0) throw new ArgumentException("backtracking needs at least one answer token", nameof(answerSourceIds));
        int total = blocked.Count;
        foreach (var s in answerSourceIds)
            if (s < -1 || promptLength + s >= total) throw new ArgumentException($"answer source id {s} is outside the response (length {total - promptLength})", nameof(answerSourceIds));

        int need = options.MinLength + answerSourceIds.Count;
        var chain = new List<ChainEntry>(answerSourceIds.Select(s => new ChainEntry(s, 0)));
        var processed = new HashSet<int>();
        var frontier = answerSourceIds.Select(s => promptLength + s).Distinct().ToList();
        var acc = new Dictionary<int, double>();
        var order = new List<int>();

        for (int step = 0; step < options.MaxSteps && frontier.Count > 0; step++)
        {
            processed.UnionWith(frontier);
            acc.Clear();
            foreach (var src in frontier)
            {
                var m = src >= promptLength ? row(src) : null;
                order.Clear();
                for (int c = 0; c < total; c++) order.Add(c);
                float At(int c) => m is not null && c < m.Length ? m[c] : 0f;
                order.Sort((x, y) => At(y).CompareTo(At(x)) is var cmp && cmp != 0 ? cmp : x.CompareTo(y));
                for (int i = 0; i < order.Count; i++)
                {
                    if (i >= options.PerSource && (acc.Values.Any(v => v > 0) || chain.Count >= need)) break;
                    int tk = order[i];
                    if (tk == src || processed.Contains(tk - 1) || blocked[tk]) continue;
                    acc[tk] = acc.GetValueOrDefault(tk) + At(tk);
                }
            }

            var candidates = acc.Where(kv => kv.Value > 0).OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key).ToList();
            if (candidates.Count == 0) break;
            var picked = new List<int>();
            foreach (var (tk, score) in candidates)
            {
                if (picked.Count == options.Buffer) break;
                int length = chain.Count + (options.ParityQuirks ? picked.Count : 0);
                if (score < options.Threshold && length >= need) break;
                picked.Add(tk);
                chain.Add(new ChainEntry(tk - 1 - promptLength, score));
            }
            if (picked.Count == 0) break;
            frontier = picked.Select(tk => tk - 1).ToList();
        }
        return chain.OrderBy(e => e.SourceId).ToList();
    }
}
