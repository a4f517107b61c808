using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AttnEval.Samples.LabModel;

/// <summary>
/// Writes the held-out evaluation files beside the model (<c>eval/*.jsonl</c>), from a seed of their own. Items are
/// interleaved over their difficulty cells (item i belongs to cell i mod cells), so any prefix of a file, such as a
/// recipe's <c>limit</c> or the CI test's first 50 items, is balanced.
/// </summary>
internal static class EvalSets
{
    public static readonly int[] LookupCounts = [4, 8, 16, 24, 32, 48, 64];
    public static readonly double[] LookupDepths = [0, 0.25, 0.5, 0.75, 1.0];

    private static readonly JsonSerializerOptions Options = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void Write(string evalDir, int seed)
    {
        Directory.CreateDirectory(evalDir);
        WriteLines(Path.Combine(evalDir, "arithmetic.jsonl"), Arithmetic(new Random(seed), 30));
        WriteLines(Path.Combine(evalDir, "lookup.jsonl"), Lookup(new Random(seed + 1), 10));
        WriteLines(Path.Combine(evalDir, "search.jsonl"), Search(new Random(seed + 2), 200));
        WriteLines(Path.Combine(evalDir, "refusal.jsonl"), Refusal(new Random(seed + 3), 200));
    }

    private static void WriteLines(string path, IEnumerable<JsonObject> items) =>
        File.WriteAllLines(path, items.Select(o => o.ToJsonString(Options)));

    /// <summary>Steps 1–4 × digits 1–3, <paramref name="perCell"/> items each.</summary>
    private static IEnumerable<JsonObject> Arithmetic(Random rng, int perCell)
    {
        for (int i = 0; i < 12 * perCell; i++)
        {
            int cell = i % 12, steps = cell % 4 + 1, digits = cell / 4 + 1;
            var (q, a, result) = Tasks.Arithmetic(rng, steps, digits);
            yield return new JsonObject
            {
                ["id"] = $"arith-{i:0000}", ["question"] = q, ["answer"] = a, ["final"] = result, ["steps"] = steps, ["digits"] = digits,
            };
        }
    }

    /// <summary>Record counts × needle depths, <paramref name="perCell"/> items each.</summary>
    private static IEnumerable<JsonObject> Lookup(Random rng, int perCell)
    {
        int cells = LookupCounts.Length * LookupDepths.Length;
        for (int i = 0; i < cells * perCell; i++)
        {
            int cell = i % cells;
            int count = LookupCounts[cell % LookupCounts.Length];
            double depth = LookupDepths[cell / LookupCounts.Length];
            var (keys, values) = Tasks.Records(rng, count);
            int needle = (int)Math.Round(depth * (count - 1));
            var key = LabVocabulary.KeyText(keys[needle]);
            var question = string.Format(CultureInfo.InvariantCulture, Tasks.LookupQuestion, key);
            var context = Tasks.LookupContext(keys, values);
            yield return new JsonObject
            {
                ["id"] = $"lookup-{i:0000}", ["context"] = context, ["question"] = question, ["prompt"] = context + "\n" + Tasks.Prompt(question),
                ["key"] = key, ["answer"] = LabVocabulary.ValueText(values[needle]), ["count"] = count, ["depth"] = depth, ["needle_index"] = needle,
            };
        }
    }

    /// <summary>Search episodes with three clean passages (one holds the key).</summary>
    private static IEnumerable<JsonObject> Search(Random rng, int n)
    {
        for (int i = 0; i < n; i++)
        {
            var (key, docs, value, gold) = Tasks.SearchEpisode(rng, 3);
            var question = string.Format(CultureInfo.InvariantCulture, Tasks.SearchQuestion, key);
            yield return new JsonObject
            {
                ["id"] = $"search-{i:0000}", ["question"] = question, ["key"] = key, ["passages"] = new JsonArray(docs.Select(d => (JsonNode)d).ToArray()),
                ["answer"] = value, ["gold_rank"] = gold,
            };
        }
    }

    /// <summary>Flagged and benign instructions, alternating, all from the held-out fifth of phrasings, no duplicates.</summary>
    private static IEnumerable<JsonObject> Refusal(Random rng, int perLabel)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < 2 * perLabel; i++)
        {
            bool flagged = i % 2 == 0;
            while (true)
            {
                var (instr, f, expected, family) = Tasks.RefusalItem(rng, flagged);
                if (!Tasks.IsHeldOut(instr) || !seen.Add(instr)) continue;
                yield return new JsonObject
                {
                    ["id"] = $"refusal-{i:0000}", ["instruction"] = instr, ["label"] = f ? "flagged" : "benign", ["family"] = family, ["answer"] = expected,
                };
                break;
            }
        }
    }
}
