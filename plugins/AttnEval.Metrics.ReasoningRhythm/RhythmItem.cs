using System.Text.Json.Nodes;

namespace AttnEval.Metrics.ReasoningRhythm;

/// <summary>
/// One dataset item's result: the record written to <c>samples.jsonl</c> and read back on resume (or by the report).
/// Positions (<c>waad_peaks</c>, <c>fai_peaks</c>, <c>top_fai</c>) index the response tokens (0 = first generated token;
/// absolute position = <c>prompt_tokens</c> + index), like the per-token lists.
/// </summary>
internal sealed record RhythmItem
{
    public required string Id { get; init; }
    public string? Error { get; init; }
    public int PromptTokens { get; init; }
    public string Response { get; init; } = "";
    public string Finish { get; init; } = "";
    public IReadOnlyList<string> Tokens { get; init; } = [];
    public IReadOnlyList<int> TokenIds { get; init; } = [];
    public IReadOnlyList<double> Waad { get; init; } = [];
    public IReadOnlyList<double?> Fai { get; init; } = [];
    public IReadOnlyList<double> Entropy { get; init; } = [];
    public IReadOnlyList<int> WaadPeaks { get; init; } = [];
    public IReadOnlyList<int> FaiPeaks { get; init; } = [];
    public IReadOnlyList<int> TopFai { get; init; } = [];
    public IReadOnlyList<string> HeadsLocal { get; init; } = [];
    public IReadOnlyList<string> HeadsGlobal { get; init; } = [];
    public IReadOnlyDictionary<string, double> HeadDistance { get; init; } = new Dictionary<string, double>();

    /// <summary>The record for <c>samples.jsonl</c> (JSON-serialisable values only).</summary>
    public IReadOnlyDictionary<string, object?> ToRecord()
    {
        if (Error is not null) return new Dictionary<string, object?> { ["id"] = Id, ["error"] = Error };
        return new Dictionary<string, object?>
        {
            ["id"] = Id,
            ["prompt_tokens"] = PromptTokens,
            ["response"] = Response,
            ["finish"] = Finish,
            ["tokens"] = Tokens.ToList(),
            ["token_ids"] = TokenIds.ToList(),
            ["waad"] = Waad.ToList(),
            ["fai"] = Fai.ToList(),
            ["entropy"] = Entropy.ToList(),
            ["waad_peaks"] = WaadPeaks.ToList(),
            ["fai_peaks"] = FaiPeaks.ToList(),
            ["top_fai"] = TopFai.ToList(),
            ["heads_local"] = HeadsLocal.ToList(),
            ["heads_global"] = HeadsGlobal.ToList(),
            ["head_distance"] = HeadDistance.ToDictionary(kv => kv.Key, kv => (object?)kv.Value),
        };
    }

    /// <summary>Reads a record back (from a resumed run's JSON text or the report's records).</summary>
    /// <exception cref="InvalidDataException">Not a record of this kind; the message names the id when it has one.</exception>
    public static RhythmItem FromJson(JsonObject record)
    {
        // Re-parsed so that every number is element-backed (a node built in memory from an int refuses GetValue<double>).
        var o = (JsonObject)JsonNode.Parse(record.ToJsonString())!;
        string id = o["id"]?.GetValue<string>() ?? throw new InvalidDataException("a reasoning-rhythm record without an id");
        try
        {
            if (o["error"] is { } err) return new RhythmItem { Id = id, Error = err.GetValue<string>() };
            return new RhythmItem
            {
                Id = id,
                PromptTokens = o["prompt_tokens"]!.GetValue<int>(),
                Response = o["response"]?.GetValue<string>() ?? "",
                Finish = o["finish"]?.GetValue<string>() ?? "",
                Tokens = Array(o, "tokens").Select(n => n!.GetValue<string>()).ToList(),
                TokenIds = Array(o, "token_ids").Select(n => n!.GetValue<int>()).ToList(),
                Waad = Array(o, "waad").Select(n => n!.GetValue<double>()).ToList(),
                Fai = Array(o, "fai").Select(n => n is null ? (double?)null : n.GetValue<double>()).ToList(),
                Entropy = Array(o, "entropy").Select(n => n!.GetValue<double>()).ToList(),
                WaadPeaks = Array(o, "waad_peaks").Select(n => n!.GetValue<int>()).ToList(),
                FaiPeaks = Array(o, "fai_peaks").Select(n => n!.GetValue<int>()).ToList(),
                TopFai = Array(o, "top_fai").Select(n => n!.GetValue<int>()).ToList(),
                HeadsLocal = Array(o, "heads_local").Select(n => n!.GetValue<string>()).ToList(),
                HeadsGlobal = Array(o, "heads_global").Select(n => n!.GetValue<string>()).ToList(),
                HeadDistance = (o["head_distance"] as JsonObject)?.ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<double>()) ?? [],
            };
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or NullReferenceException or KeyNotFoundException)
        {
            throw new InvalidDataException($"record '{id}' is not a reasoning-rhythm record: {e.Message}", e);
        }
    }

    /// <summary>Parses a record's JSON object text.</summary>
    /// <exception cref="InvalidDataException">Not a JSON object or not a record of this kind.</exception>
    public static RhythmItem FromJson(string json) =>
        FromJson(JsonNode.Parse(json) as JsonObject ?? throw new InvalidDataException("a resumed record that is not a JSON object"));

    /// <summary>The coupling counts of this item (zero for a failed one).</summary>
    public CouplingCounts Couple(int lag) => Error is not null ? new CouplingCounts() : RhythmMath.Couple(Entropy, WaadPeaks, Fai, FaiPeaks, lag);

    private static JsonArray Array(JsonObject o, string key) => o[key] as JsonArray ?? throw new KeyNotFoundException($"'{key}' is missing");
}
