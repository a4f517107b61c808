using System.Globalization;
using System.Text;
using System.Text.Json;
using AttnEval.Abstractions;

namespace AttnEval.Plugins.Sdk;

/// <summary>
/// The Retrieval_Head head-score file (specs/head-methods.md §1.3): one line holding one JSON object
/// <c>{"l-h": [score per successful trial, …], …}</c> for every head, zeros kept. A re-run appends to the lists; readers
/// rank heads by the mean of their list.
/// </summary>
public static class HeadScoreFile
{
    /// <summary>Reads a head-score file.</summary>
    /// <exception cref="InvalidDataException">Not a JSON object of <c>"l-h"</c> keys to lists of numbers; the message names the file and key.</exception>
    public static Dictionary<HeadId, List<double>> Read(string path)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}:{e.LineNumber + 1}:{e.BytePositionInLine + 1}: not JSON ({e.Message}); expected one object {{\"layer-head\": [scores]}}", e); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{path}: expected a JSON object {{\"layer-head\": [scores]}}, got {doc.RootElement.ValueKind}");
            var result = new Dictionary<HeadId, List<double>>();
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (!HeadId.TryParse(p.Name, out var head))
                    throw new InvalidDataException($"{path}: key '{p.Name}' is not a head id; expected \"layer-head\" such as \"12-7\"");
                if (p.Value.ValueKind != JsonValueKind.Array || p.Value.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.Number))
                    throw new InvalidDataException($"{path}: value of '{p.Name}' must be a list of numbers");
                result[head] = p.Value.EnumerateArray().Select(v => v.GetDouble()).ToList();
            }
            return result;
        }
    }

    /// <summary>Writes the file in the official single-line form, heads in layer-major order.</summary>
    public static void Write(string path, IReadOnlyDictionary<HeadId, List<double>> scores)
    {
        var sb = new StringBuilder("{");
        bool first = true;
        foreach (var (head, list) in scores.OrderBy(kv => kv.Key))
        {
            if (!first) sb.Append(", ");
            first = false;
            sb.Append('"').Append(head.ToString()).Append("\": [");
            sb.Append(string.Join(", ", list.Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
            sb.Append(']');
        }
        sb.Append('}');
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, sb.ToString(), new UTF8Encoding(false));
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>Mean of each head's list; NaN for an empty list (no score, n = 0; ranked last).</summary>
    public static Dictionary<HeadId, double> Means(IReadOnlyDictionary<HeadId, List<double>> scores) =>
        scores.ToDictionary(kv => kv.Key, kv => kv.Value.Count == 0 ? double.NaN : kv.Value.Average());

    /// <summary>Heads ranked by mean score, descending (ties by head id).</summary>
    public static IReadOnlyList<HeadId> Ranked(IReadOnlyDictionary<HeadId, double> means) =>
        means.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key).Select(kv => kv.Key).ToList();
}
