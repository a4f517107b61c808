using System.Text.Json.Nodes;

namespace AttnEval.Core.Reports;

/// <summary>
/// The keys of a <c>SampleEstimate.Details</c> dictionary through which an attention-chain estimator (UQAC, specs/uq-methods.md
/// §1.5) shows its chain in the report. The report finds them under <c>metrics.&lt;method&gt;.details</c> of a
/// <c>samples.jsonl</c> record, for any method name. Positions are 0-based indices into the response's tokens (UQAC's source
/// id + 1). Two ways to give the chain:
/// </summary>
/// <remarks>
/// <list type="number">
/// <item><b>By position</b> (exact; what the <c>uqac</c> plugin writes): <see cref="Chain"/> (or <see cref="ChainPositions"/>)
/// and <see cref="ChainScores"/>, the final answer as <see cref="AnswerTokens"/> = <c>[first, last]</c> positions (or
/// <see cref="AnswerPositions"/>), and the response's token texts as <see cref="ResponseTokens"/> or <see cref="TokenEnds"/>.
/// Without token texts or ends the report lists the positions but cannot draw them over the text.</item>
/// <item><b>By text</b>: <see cref="ChainTokens"/> (token texts in response order) with <see cref="ChainScores"/>, and
/// <see cref="AnswerTokens"/> as a list of strings; the report searches the texts in the answer left to right.</item>
/// </list>
/// </remarks>
public static class ChainDetailKeys
{
    /// <summary>List of integers: response positions of the chain's tokens, in chain order (the <c>uqac</c> plugin's key).</summary>
    public const string Chain = "chain";

    /// <summary>List of integers: the same as <see cref="Chain"/> (alternative name).</summary>
    public const string ChainPositions = "chain_positions";

    /// <summary>List of strings: the chain's token texts, in response order (text mode).</summary>
    public const string ChainTokens = "chain_tokens";

    /// <summary>List of numbers, one per chain entry: the backtracking score (≥ 0; the answer's own entries may be 0). Drawn as
    /// the highlight's strength relative to the largest.</summary>
    public const string ChainScores = "chain_scores";

    /// <summary>The final answer the chain starts from (§1.3): two integers <c>[first, last]</c> (inclusive response positions)
    /// or a list of token texts (text mode; located at their last occurrence). Outlined in the answer text.</summary>
    public const string AnswerTokens = "answer_tokens";

    /// <summary>List of integers: response positions of the answer tokens (alternative to <see cref="AnswerTokens"/>).</summary>
    public const string AnswerPositions = "answer_positions";

    /// <summary>List of strings: every response token's text, in order.</summary>
    public const string ResponseTokens = "response_tokens";

    /// <summary>List of integers: for each response token i, the length of the decoded response through token i (the end
    /// offset of its text in the answer text); token i's text is <c>answer[ends[i−1]..ends[i]]</c>.</summary>
    public const string TokenEnds = "token_ends";

    /// <summary>True when the details describe a chain in either form.</summary>
    public static bool HasChain(System.Text.Json.Nodes.JsonObject? details) =>
        details is not null && (details[Chain] is System.Text.Json.Nodes.JsonArray || details[ChainPositions] is System.Text.Json.Nodes.JsonArray || details[ChainTokens] is System.Text.Json.Nodes.JsonArray);
}

/// <summary>A run of answer text with its highlight.</summary>
/// <param name="Text">The text (model output: escape before display).</param>
/// <param name="Score">Chain score relative to the chain's largest, in [0, 1], or null when the text is not on the chain.</param>
/// <param name="RawScore">The score as the estimator wrote it (0 when not on the chain).</param>
/// <param name="Answer">Whether the text belongs to the final answer tokens.</param>
public sealed record ChainSegment(string Text, double? Score, double RawScore, bool Answer);

/// <summary>A chain token and whether it was found in the answer text.</summary>
public sealed record ChainEntry(string Token, double Score, bool Located);

/// <summary>
/// Lays a chain (<see cref="ChainDetailKeys"/>) over the answer text. With positions and token texts (or ends), segments are
/// the response tokens. Otherwise each chain token text (trimmed of surrounding white space) is searched in the answer text
/// after the end of the previous match — the chain is in response order — and the answer tokens' concatenation at its last
/// occurrence; a chain token that is not found is listed as not located rather than guessed.
/// </summary>
/// <param name="Segments">The answer text cut into runs; their concatenation is the text drawn.</param>
/// <param name="Chain">The chain entries in the estimator's order.</param>
public sealed record ChainLayout(IReadOnlyList<ChainSegment> Segments, IReadOnlyList<ChainEntry> Chain)
{
    /// <summary>Builds the layout.</summary>
    /// <param name="answer">The answer text of the record.</param>
    /// <param name="details">The estimator's details object.</param>
    public static ChainLayout Build(string answer, JsonObject details)
    {
        ArgumentNullException.ThrowIfNull(answer);
        ArgumentNullException.ThrowIfNull(details);
        var positions = Ints(details[ChainDetailKeys.ChainPositions] ?? details[ChainDetailKeys.Chain]);
        var chainTexts = Strings(details[ChainDetailKeys.ChainTokens]);
        var n = positions.Count > 0 ? positions.Count : chainTexts.Count;
        var raw = Numbers(details[ChainDetailKeys.ChainScores]);
        var scores = Enumerable.Range(0, n).Select(i => i < raw.Count && double.IsFinite(raw[i]) ? Math.Max(0, raw[i]) : 0).ToArray();
        var max = scores.Length == 0 ? 0 : scores.Max();
        double Rel(int i) => max > 0 ? scores[i] / max : 0;

        var response = Strings(details[ChainDetailKeys.ResponseTokens]);
        var ends = Ints(details[ChainDetailKeys.TokenEnds]);
        if (response.Count == 0 && ends.Count > 0)
        {
            var prev = 0;
            foreach (var e in ends)
            {
                var end = Math.Clamp(e, prev, answer.Length);
                response.Add(answer[prev..end]);
                prev = end;
            }
        }
        var answerTokens = details[ChainDetailKeys.AnswerTokens] as JsonArray;
        var answerAt = Ints(details[ChainDetailKeys.AnswerPositions]).ToHashSet();
        if (answerAt.Count == 0 && answerTokens is { Count: 2 } && Ints(answerTokens) is [var first, var last] && answerTokens.All(IsNumber))
            for (var p = first; p <= last; p++) answerAt.Add(p);

        if (positions.Count > 0)
        {
            if (response.Count == 0 || positions.Any(p => p < 0 || p >= response.Count))
                return new ChainLayout([new ChainSegment(answer, null, 0, false)],
                    positions.Select((p, i) => new ChainEntry($"#{p}", scores[i], false)).ToList());
            var at = new Dictionary<int, int>();
            for (var i = 0; i < positions.Count; i++) at[positions[i]] = i;
            var segs = response.Select((t, p) => at.TryGetValue(p, out var i)
                ? new ChainSegment(t, Rel(i), scores[i], answerAt.Contains(p))
                : new ChainSegment(t, null, 0, answerAt.Contains(p))).ToList();
            return new ChainLayout(segs, positions.Select((p, i) => new ChainEntry(response[p], scores[i], true)).ToList());
        }

        // Text mode: mark character ranges, then cut the text at every mark boundary.
        var chainOf = new int[answer.Length];
        Array.Fill(chainOf, -1);
        var isAnswer = new bool[answer.Length];
        var entries = new List<ChainEntry>();
        var from = 0;
        for (var i = 0; i < chainTexts.Count; i++)
        {
            var t = chainTexts[i].Trim();
            var idx = t.Length == 0 ? -1 : answer.IndexOf(t, from, StringComparison.Ordinal);
            entries.Add(new ChainEntry(chainTexts[i], scores[i], idx >= 0));
            if (idx < 0) continue;
            for (var c = idx; c < idx + t.Length; c++) chainOf[c] = i;
            from = idx + t.Length;
        }
        var ans = string.Concat(Strings(answerTokens)).Trim();
        var ai = ans.Length == 0 || answerTokens!.All(IsNumber) ? -1 : answer.LastIndexOf(ans, StringComparison.Ordinal);
        if (ai >= 0) for (var c = ai; c < ai + ans.Length; c++) isAnswer[c] = true;

        var segments = new List<ChainSegment>();
        var start = 0;
        for (var c = 1; c <= answer.Length; c++)
        {
            if (c < answer.Length && chainOf[c] == chainOf[start] && isAnswer[c] == isAnswer[start]) continue;
            var k = chainOf[start];
            segments.Add(new ChainSegment(answer[start..c], k < 0 ? null : Rel(k), k < 0 ? 0 : scores[k], isAnswer[start]));
            start = c;
        }
        return new ChainLayout(segments, entries);
    }

    private static bool IsNumber(JsonNode? x) => x is JsonValue v && v.TryGetValue<double>(out _);

    private static List<int> Ints(JsonNode? node) =>
        node is JsonArray a ? a.Select(x => x is JsonValue v && v.TryGetValue<double>(out var d) ? (int)d : -1).ToList() : [];

    private static List<string> Strings(JsonNode? node) =>
        node is JsonArray a ? a.Select(x => x is JsonValue v && v.TryGetValue<string>(out var s) ? s : x?.ToString() ?? "").ToList() : [];

    private static List<double> Numbers(JsonNode? node) =>
        node is JsonArray a ? a.Select(x => x is JsonValue v && v.TryGetValue<double>(out var d) ? d : double.NaN).ToList() : [];
}
