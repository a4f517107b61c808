using System.Globalization;
using System.Text.Json;
using AttnEval.Abstractions;
using AttnEval.Plugins.Sdk;

namespace AttnEval.Evals.SearchRobustness;

/// <summary>One passage of the search corpus (specs/head-methods.md §4.2.1).</summary>
/// <param name="DocId">Unique id; ties in ranking are broken by it (ordinal).</param>
/// <param name="Title">Title (may be empty).</param>
/// <param name="Text">Passage text.</param>
/// <param name="SourceQid">The question whose bundled context it came from, or null for a free-standing corpus.</param>
/// <param name="IsGold">True for a gold/supporting passage of <paramref name="SourceQid"/>.</param>
internal sealed record CorpusDocument(string DocId, string Title, string Text, string? SourceQid, bool IsGold);

/// <summary>Builds corpora: from the passages bundled with each dataset item (lab search set, HotpotQA distractor), or
/// from a JSONL file of <c>{doc_id, title, text, source_qid?, is_gold?}</c> lines.</summary>
internal static class Corpus
{
    /// <summary>
    /// One document per bundled passage of each item: item field <paramref name="passagesField"/> holds a list of strings
    /// (title empty) or of <c>{title, text}</c> maps (HotpotQA's <c>context</c>). Document ids are <c>{item id}-p{j}</c>
    /// (j from 0). A passage is gold when the item's integer field <paramref name="goldRankField"/> (1-based) names it;
    /// when the item has no such field, when it contains the item's normalised target as a word sequence.
    /// </summary>
    /// <exception cref="InvalidDataException">An item lacks the field or it is not such a list; the message names the item and field.</exception>
    public static IReadOnlyList<CorpusDocument> FromBundledPassages(IEnumerable<Sample> items, string passagesField, string goldRankField = "gold_rank")
    {
        var docs = new List<CorpusDocument>();
        foreach (var item in items)
        {
            if (item.Field(passagesField) is not IReadOnlyList<object?> list)
                throw new InvalidDataException($"dataset item '{item.Id}': field '{passagesField}' is missing or not a list; expected the item's passages (strings or {{title, text}} maps)");
            int? goldRank = item.Field(goldRankField) is double d ? (int)d : null;
            for (int j = 0; j < list.Count; j++)
            {
                var (title, text) = list[j] switch
                {
                    string s => ("", s),
                    IReadOnlyDictionary<string, object?> m => (Str(m, "title"), Str(m, "text") is { Length: > 0 } t ? t : Str(m, "paragraph_text")),
                    _ => throw new InvalidDataException($"dataset item '{item.Id}': {passagesField}[{j}] is {list[j]?.GetType().Name ?? "null"}; expected a string or a {{title, text}} map"),
                };
                bool gold = goldRank is { } g ? g == j + 1 : item.Target is { } target && AnswerText.Contains(title + " " + text, target);
                docs.Add(new CorpusDocument($"{item.Id}-p{j}", title, text, item.Id, gold));
            }
        }
        return docs;
    }

    private static string Str(IReadOnlyDictionary<string, object?> m, string key) => !m.TryGetValue(key, out var v) || v is null ? ""
        : v is string s ? s
        : v is IEnumerable<object?> parts ? string.Concat(parts.Select(p => Convert.ToString(p, CultureInfo.InvariantCulture))) // sentence lists
        : Convert.ToString(v, CultureInfo.InvariantCulture) ?? "";

    /// <summary>Reads a JSONL corpus: one object per line with string <c>doc_id</c> and <c>text</c>, optional <c>title</c>,
    /// <c>source_qid</c> and boolean <c>is_gold</c>. Blank lines are skipped.</summary>
    /// <exception cref="InvalidDataException">A malformed line or a missing key; the message gives file:line and what was expected.</exception>
    public static IReadOnlyList<CorpusDocument> FromJsonl(string path)
    {
        var docs = Jsonl.Read(path, (o, lineNo) =>
        {
            string Req(string k) => o.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()!
                : throw new InvalidDataException($"{path}:{lineNo}: expected a string '{k}' (corpus lines are {{doc_id, title, text, source_qid?, is_gold?}})");
            string? Opt(string k) => o.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            bool gold = o.TryGetProperty("is_gold", out var g) && g.ValueKind == JsonValueKind.True;
            return new CorpusDocument(Req("doc_id"), Opt("title") ?? "", Req("text"), Opt("source_qid"), gold);
        }, (lineNo, e) => $"{path}:{lineNo}:{e.BytePositionInLine + 1}: expected one JSON object per line ({e.Message})");
        var dup = docs.GroupBy(d => d.DocId, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new InvalidDataException($"{path}: doc_id '{dup.Key}' appears {dup.Count()} times; expected unique ids");
        return docs;
    }
}
