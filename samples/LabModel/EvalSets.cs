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
        WriteLines(Path.Combine(evalDir, "influence.jsonl"), Influence(new Random(seed + 4), 50));
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

    /// <summary>
    /// The AttentionInfluence corpus (issue 6): documents of four kinds, interleaved, <paramref name="perKind"/> each, in
    /// one domain. Half need long-range lookup (<c>needs_lookup: true</c>): <c>quiz</c> (4–12 records, then a question
    /// about every record in random order with its answer, in the trained lookup form) and <c>repeat</c> (the records,
    /// then the same records again after <c>Records:</c>, so the second copy is predictable only by looking back). Half do
    /// not: <c>records</c> (a record list of the quiz's token length, nothing repeated) and <c>refusals</c> (five flagged
    /// instructions, each answered "I cannot help with that.": a fixed answer that copies nothing). Instructions come
    /// from the held-out fifth of the phrasings. (Benign instructions are not used as the "no lookup" kind: their answers
    /// copy words from the instruction a few tokens back, "count from 14 to 19" → "14 15 …", through the same heads.)
    /// </summary>
    private static IEnumerable<JsonObject> Influence(Random rng, int perKind)
    {
        int[] counts = [4, 6, 8, 12];
        for (int i = 0; i < 4 * perKind; i++)
        {
            int kind = i % 4, count = counts[i / 4 % counts.Length];
            string text, name;
            switch (kind)
            {
                case 0:
                {
                    var (keys, values) = Tasks.Records(rng, count);
                    var sb = new System.Text.StringBuilder(Tasks.LookupContext(keys, values));
                    foreach (int k in Enumerable.Range(0, count).OrderBy(_ => rng.Next()).ToList())
                        sb.Append('\n').Append(Tasks.Prompt(string.Format(CultureInfo.InvariantCulture, Tasks.LookupQuestion, LabVocabulary.KeyText(keys[k]))))
                          .Append(' ').Append(LabVocabulary.ValueText(values[k]));
                    (text, name) = (sb.ToString(), "quiz");
                    break;
                }
                case 1:
                {
                    var (keys, values) = Tasks.Records(rng, 2 * count);
                    (text, name) = (Tasks.LookupContext(keys, values) + "\nRecords: " + Tasks.RecordText(keys, values, 0, 2 * count), "repeat");
                    break;
                }
                case 2:
                {
                    var (keys, values) = Tasks.Records(rng, Math.Min(4 * count, LabVocabulary.KeyCount));
                    (text, name) = (Tasks.LookupContext(keys, values), "records");
                    break;
                }
                default:
                {
                    var lines = new List<string>();
                    while (lines.Count < 5)
                    {
                        var (instr, _, expected, _) = Tasks.RefusalItem(rng, flagged: true);
                        if (Tasks.IsHeldOut(instr)) lines.Add(Tasks.Prompt(instr) + " " + expected);
                    }
                    (text, name) = (string.Join("\n", lines), "refusals");
                    break;
                }
            }
            yield return new JsonObject
            {
                ["id"] = $"influence-{i:0000}", ["text"] = text, ["kind"] = name, ["needs_lookup"] = kind < 2, ["domain"] = "lab",
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
