using System.ClientModel;
using System.Globalization;
using System.Text.Json;
using AttnEval.Abstractions;
using AttnEval.Plugins.Sdk;
using Microsoft.Extensions.AI;
using OpenAI;

namespace AttnEval.Evals.SearchRobustness;

/// <summary>Settings of <see cref="SearchRobustnessEvaluation"/> (the recipe options of <c>search-robustness</c>).</summary>
internal sealed record SearchRobustnessSettings
{
    /// <summary>Conditions in report order; <c>clean</c> is always first.</summary>
    public IReadOnlyList<Condition> Conditions { get; init; } = [Condition.Clean];
    /// <summary><c>local</c> (the recipe's model through <see cref="LabSearchChatClient"/>) or <c>openai</c> (an OpenAI-compatible endpoint).</summary>
    public string Agent { get; init; } = "local";
    /// <summary>Endpoint URL for <c>openai</c> (e.g. <c>http://localhost:8000/v1</c>).</summary>
    public string? Endpoint { get; init; }
    /// <summary>Model name sent to the endpoint.</summary>
    public string? ModelId { get; init; }
    /// <summary>Environment variable holding the endpoint's API key (a placeholder key is used when it is unset).</summary>
    public string ApiKeyEnv { get; init; } = "OPENAI_API_KEY";
    /// <summary>System message for chat agents; empty for none.</summary>
    public string SystemPrompt { get; init; } = SearchAgent.DefaultSystemPrompt;
    /// <summary><c>dataset</c> (passages bundled with the items) or the path of a JSONL corpus.</summary>
    public string Corpus { get; init; } = "dataset";
    /// <summary>Item field holding the bundled passages.</summary>
    public string PassagesField { get; init; } = "passages";
    /// <summary>Item field holding the 1-based rank of the gold passage (else gold = contains the answer).</summary>
    public string GoldRankField { get; init; } = "gold_rank";
    /// <summary>Item field with the gold aliases (a string or a list), else the item's target.</summary>
    public string? AliasesField { get; init; }
    /// <summary>Search settings.</summary>
    public SearchSettings Search { get; init; } = new();
    /// <summary>BM25 k1.</summary>
    public double K1 { get; init; } = 1.2;
    /// <summary>BM25 b.</summary>
    public double B { get; init; } = 0.75;
    /// <summary>Runs per (item, condition), ≥ 1; run r uses seed hash(generation.seed, r, item, condition).</summary>
    public int Runs { get; init; } = 1;
    /// <summary><c>em</c>, <c>cover_em</c> or <c>f1</c> (F1 ≥ 0.5): what counts as correct.</summary>
    public string Correct { get; init; } = "em";
    /// <summary>Synonym table for S-SYN (lower-case word → synonyms); the built-in table when null.</summary>
    public IReadOnlyDictionary<string, string[]>? Synonyms { get; init; }
    /// <summary>Label written as each episode's <c>dataset</c>.</summary>
    public string DatasetLabel { get; init; } = "dataset";
}

/// <summary>
/// The search-agent robustness protocol of specs/head-methods.md §4.2: for each dataset item, run and condition (clean
/// first), an agent answers the item's question with the BM25 <c>search</c> tool while the condition perturbs the
/// question, the agent's queries or the results; each episode is recorded with its tool calls, results, answer, EM/F1/
/// CoverEM, the confidence middleware's confidence, and per-episode statistics (support recall, result overlap and query
/// drift against the clean episode of the same item and run). Episodes are deterministic functions of the recipe and the
/// seeds. The host computes the paired statistics from the records.
/// </summary>
internal sealed class SearchRobustnessEvaluation(SearchRobustnessSettings settings) : IAgentEvaluation
{
    /// <summary>The built-in S-SYN table: a few common question words and their synonyms.</summary>
    public static IReadOnlyDictionary<string, string[]> BuiltInSynonyms { get; } = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["find"] = ["locate"], ["value"] = ["amount"], ["search"] = ["look up"], ["born"] = ["birth"], ["film"] = ["movie"],
        ["movie"] = ["film"], ["city"] = ["town"], ["country"] = ["nation"], ["wrote"] = ["authored"], ["founded"] = ["established"],
        ["largest"] = ["biggest"], ["first"] = ["earliest"], ["died"] = ["passed away"], ["author"] = ["writer"], ["song"] = ["track"],
    };

    /// <summary>The settings.</summary>
    public SearchRobustnessSettings Settings { get; } = settings ?? throw new ArgumentNullException(nameof(settings));

    /// <inheritdoc />
    /// <exception cref="InvalidDataException">The corpus cannot be built (a missing passages field, a bad corpus file).</exception>
    public AgentEvaluationResult Run(AgentEvaluationContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var s = Settings;
        var items = context.Samples;
        if (items.Count == 0) throw new InvalidDataException("search-robustness needs dataset items (questions with targets); the recipe has none");
        var docs = s.Corpus == "dataset" ? SearchRobustness.Corpus.FromBundledPassages(items, s.PassagesField, s.GoldRankField)
            : SearchRobustness.Corpus.FromJsonl(s.Corpus);
        using var index = new SearchIndex(docs, s.K1, s.B);
        var lexicon = Perturbations.EntityLexicon(docs.SelectMany(d => new[] { d.Title, d.Text }));
        var synonyms = s.Synonyms ?? BuiltInSynonyms;

        using var client = CreateClient(context);
        var clean = new Dictionary<string, (string? Query, IReadOnlyList<string>? Docs)>(StringComparer.Ordinal);
        int total = items.Count * s.Runs * s.Conditions.Count, done = 0;
        foreach (var item in items)
        {
            for (int run = 0; run < s.Runs; run++)
            {
                foreach (var cond in s.Conditions)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var id = $"{item.Id}/{cond.Name}/r{run}";
                    context.Progress?.Report((done++, total, id)); // before the episode: done = episodes finished so far
                    var pair = $"{item.Id}#r{run}";
                    if (context.ResumedRecords.TryGetValue(id, out var json))
                    {
                        if (cond.Id == "clean") clean[pair] = FirstCall(json);
                    }
                    else
                    {
                        var record = Episode(context, client, index, lexicon, synonyms, item, items, cond, run, id, pair, clean, cancellationToken);
                        context.Record(record);
                    }
                }
            }
        }
        return new AgentEvaluationResult("clean", s.Conditions.Select(c => c.Name).ToList())
        {
            Summary = new Dictionary<string, object?>
            {
                ["agent"] = s.Agent == "local" ? $"local ({context.Model.Info.Name})" : $"openai ({s.ModelId} @ {s.Endpoint})",
                ["items"] = items.Count,
                ["runs"] = s.Runs,
                ["corpus"] = new Dictionary<string, object?> { ["source"] = s.Corpus, ["documents"] = docs.Count, ["gold_documents"] = docs.Count(d => d.IsGold) },
                ["retriever"] = new Dictionary<string, object?>
                {
                    ["kind"] = "bm25 (Lucene.Net BM25Similarity)", ["k1"] = s.K1, ["b"] = s.B, ["top_k"] = s.Search.TopK,
                    ["analyzer"] = "standard tokenizer, lower case, English stop words, Porter stemmer", ["fields"] = "title^1 + text^1",
                    ["scope"] = s.Search.ScopeToQuestion ? "question" : "corpus", ["pad_results"] = s.Search.Pad,
                },
                ["max_searches"] = s.Search.MaxSearches,
                ["correct"] = s.Correct,
            },
        };
    }

    private IChatClient CreateClient(AgentEvaluationContext context)
    {
        IChatClient inner;
        if (Settings.Agent == "openai")
        {
            var key = Environment.GetEnvironmentVariable(Settings.ApiKeyEnv) is { Length: > 0 } k ? k : "unused";
            inner = new OpenAI.Chat.ChatClient(Settings.ModelId!, new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(Settings.Endpoint!) })
                .AsIChatClient();
        }
        else inner = new LabSearchChatClient(context.Model, context.MaxNewTokens);
        return context.Services?.GetService(typeof(Func<IChatClient, IChatClient>)) is Func<IChatClient, IChatClient> wrap ? wrap(inner) : inner;
    }

    private Dictionary<string, object?> Episode(AgentEvaluationContext context, IChatClient client, SearchIndex index, IReadOnlyList<string> lexicon,
        IReadOnlyDictionary<string, string[]> synonyms, Sample item, IReadOnlyList<Sample> items, Condition cond, int run, string id, string pair,
        Dictionary<string, (string? Query, IReadOnlyList<string>? Docs)> clean, CancellationToken ct)
    {
        var s = Settings;
        long seed = EpisodeSeed(context.Seed, run, item.Id, cond.Name);
        var rng = new Random((int)(seed & 0x7fffffff));
        var log = new List<string>();
        var golds = Golds(item);
        var question = context.RenderPrompt(item);
        string? misleading = null;
        var record = new Dictionary<string, object?>
        {
            ["id"] = id, ["item"] = item.Id, ["dataset"] = s.DatasetLabel, ["condition"] = cond.Name, ["severity"] = cond.Severity,
            ["run"] = run, ["seed"] = seed, ["pair"] = pair,
        };
        try
        {
            switch (cond.Id)
            {
                case "Q-TYPO": question = Perturbations.Typo(question, cond.Number("rate"), rng, log); break;
                case "Q-REDUND": question = Perturbations.Redundant(question, Clause(item, items, index, golds, rng), cond.Text("position"), log); break;
                case "Q-PARA":
                    question = item.Field(cond.Text("field")) as string
                        ?? throw new InvalidDataException($"dataset item '{item.Id}' has no string field '{cond.Text("field")}'; Q-PARA reads cached paraphrases from it");
                    log.Add("paraphrase from field " + cond.Text("field"));
                    break;
            }
            Func<string, int, string>? queryHook = cond.Id switch
            {
                "S-DROP" => (q, _) => Perturbations.DropTerm(q, cond.Number("p"), w => index.Terms(w).Count == 0, rng, log),
                "S-SYN" => (q, _) => Perturbations.Synonym(q, synonyms, (int)cond.Number("terms"), rng, log),
                "S-ENT" => (q, _) => Perturbations.Entity(q, lexicon, cond.Number("p"), rng, log),
                _ => null,
            };
            var goldDocs = index.ForQuestion(item.Id).Where(d => d.IsGold).ToList();
            if (cond.Id == "R-MISLEAD")
            {
                if (goldDocs.Count == 0) throw new InvalidDataException($"dataset item '{item.Id}' has no gold passage; R-MISLEAD copies one");
                misleading = Substitute(item, items, golds, rng);
            }
            var originalQuestion = context.RenderPrompt(item);
            Func<IReadOnlyList<ResultPassage>, int, IReadOnlyList<ResultPassage>>? resultHook = cond.Id switch
            {
                "R-DISTR" => (r, _) => Perturbations.Distract(r, HardNegatives(index, originalQuestion, item.Id, golds, r, (int)cond.Number("m")), cond.Text("position"), s.Search.TopK, log),
                "R-MISLEAD" => (r, call) => cond.Text("when") == "first_call" && call > 0 ? r
                    : Perturbations.Mislead(r, goldDocs[0], golds[0], misleading!, s.Search.TopK, log),
                "R-NOISE" => (r, _) =>
                {
                    var list = Perturbations.Noise(r, RandomDocs(index, item.Id, r, (int)cond.Number("m"), rng), (int)cond.Number("m"), rng, log);
                    return cond.Number("x") < 100 ? Perturbations.Truncate(list, (int)cond.Number("x"), log) : list;
                },
                "R-DROPGOLD" => (r, _) => Perturbations.DropGold(r, log),
                "R-SHUF" => (r, _) => Perturbations.Shuffle(r, rng, log),
                _ => null,
            };
            var session = new SearchSession(index, s.Search, item.Id, queryHook, resultHook);
            var options = new ChatOptions { Temperature = (float)context.Temperature, Seed = seed, MaxOutputTokens = context.MaxNewTokens };
            var outcome = SearchAgent.RunAsync(client, question, session, options, s.SystemPrompt.Length > 0 ? s.SystemPrompt : null,
                s.Search.MaxSearches + 1, ct).GetAwaiter().GetResult();

            var pred = AnswerText.Normalize(outcome.Answer);
            bool em = outcome.Answer is not null && AnswerText.ExactMatch(outcome.Answer, golds);
            double f1 = outcome.Answer is null ? 0 : AnswerText.F1(outcome.Answer, golds);
            bool cover = outcome.Answer is not null && AnswerText.CoverMatch(outcome.Answer, golds);
            bool correct = s.Correct switch { "cover_em" => cover, "f1" => f1 >= 0.5, _ => em };
            var calls = session.Calls.Where(c => !c.Refused).ToList();
            var firstDocs = calls.Count > 0 ? calls[0].Results.Select(r => r.DocId).ToList() : null;
            var firstQuery = calls.Count > 0 ? calls[0].QueryIssued : null;
            if (cond.Id == "clean") clean[pair] = (firstQuery, firstDocs);
            clean.TryGetValue(pair, out var reference);
            var stats = new Dictionary<string, object?>
            {
                ["searches"] = calls.Count,
                ["turns"] = outcome.Turns,
                ["tokens"] = outcome.OutputTokens,
                ["support_recall"] = goldDocs.Count == 0 ? null
                    : (double)goldDocs.Count(g => calls.Any(c => c.Results.Any(r => r.Injected is null && r.DocId == g.DocId))) / goldDocs.Count,
                ["result_overlap"] = firstDocs is null || reference.Docs is null ? null : Jaccard(firstDocs, reference.Docs),
                ["query_drift"] = firstQuery is null || reference.Query is null ? null : AnswerText.NormalizedEditDistance(reference.Query, firstQuery),
            };
            record["question_used"] = question;
            record["gold"] = golds;
            record["answer"] = outcome.FinalText;
            record["pred"] = pred;
            record["em"] = em;
            record["f1"] = Math.Round(f1, 6);
            record["cover_em"] = cover;
            record["correct"] = correct;
            record["abstained"] = AnswerText.IsAbstention(pred);
            record["confidence"] = outcome.Confidence;
            record["confidence_detail"] = outcome.ConfidenceDetail.ToDictionary(kv => kv.Key, kv => (object?)kv.Value, StringComparer.Ordinal);
            if (misleading is not null)
            {
                record["misleading_answer"] = misleading;
                record["misled"] = outcome.Answer is not null && AnswerText.ExactMatch(outcome.Answer, [misleading]);
            }
            record["searches"] = session.Calls.Select(c => new Dictionary<string, object?>
            {
                ["query_issued"] = c.QueryIssued,
                ["query_executed"] = c.QueryExecuted,
                ["refused"] = c.Refused ? true : null,
                ["results"] = c.Results.Select((r, i) => new Dictionary<string, object?>
                {
                    ["doc_id"] = r.DocId, ["rank"] = i + 1, ["score"] = Math.Round(r.Score, 4), ["gold"] = r.IsGold, ["injected"] = r.Injected,
                }).ToList(),
            }).ToList();
            record["turns"] = outcome.Turns;
            record["tokens"] = outcome.OutputTokens;
            record["perturbation_log"] = log;
            record["stats"] = stats;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            record["error"] = $"{e.GetType().Name}: {e.Message}";
            record["perturbation_log"] = log;
        }
        return record;
    }

    /// <summary>The seed of one episode: FNV-1a (64-bit, the plugin SDK's <see cref="Fnv1a.Hash64"/>) of
    /// <c>"{seed}|{run}|{item}|{condition}"</c> shifted right by one bit (so in [0, <see cref="long.MaxValue"/>]), so every
    /// (item, condition, run) has its own stream and the same recipe gives the same episodes.</summary>
    public static long EpisodeSeed(long seed, int run, string item, string condition) =>
        (long)(Fnv1a.Hash64(string.Create(CultureInfo.InvariantCulture, $"{seed}|{run}|{item}|{condition}")) >> 1);

    private List<string> Golds(Sample item)
    {
        var golds = new List<string>();
        if (Settings.AliasesField is { } f)
        {
            switch (item.Field(f))
            {
                case string a: golds.Add(a); break;
                case IEnumerable<object?> list: golds.AddRange(list.Select(x => Convert.ToString(x, CultureInfo.InvariantCulture) ?? "").Where(x => x.Length > 0)); break;
            }
        }
        if (item.Target is { Length: > 0 } t && !golds.Contains(t)) golds.Insert(0, t);
        if (golds.Count == 0) throw new InvalidDataException($"dataset item '{item.Id}' has no target answer; expected dataset.target (or {Settings.AliasesField ?? "an aliases field"})");
        return golds;
    }

    /// <summary>The type of an answer for choosing a substitute of the same type (R-MISLEAD): <c>yesno</c>, <c>number</c>,
    /// <c>code:{shape}</c> (letters and digits, e.g. <c>code:A99</c> for <c>V11</c>), <c>name</c> (capitalised words) or <c>other</c>.</summary>
    public static string AnswerType(string answer)
    {
        var a = answer.Trim();
        var n = AnswerText.Normalize(a);
        if (n is "yes" or "no") return "yesno";
        if (double.TryParse(a.Replace(",", "", StringComparison.Ordinal), NumberStyles.Float, CultureInfo.InvariantCulture, out _)) return "number";
        if (a.Any(char.IsDigit) && a.Any(char.IsLetter) && !a.Contains(' ', StringComparison.Ordinal))
            return "code:" + new string(a.Select(c => char.IsDigit(c) ? '9' : char.IsUpper(c) ? 'A' : char.IsLetter(c) ? 'a' : c).ToArray());
        var words = a.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return words.Length > 0 && words.All(w => char.IsUpper(w[0])) ? "name" : "other";
    }

    private static string Substitute(Sample item, IReadOnlyList<Sample> items, List<string> golds, Random rng)
    {
        var type = AnswerType(golds[0]);
        var goldNorm = golds.Select(AnswerText.Normalize).ToHashSet(StringComparer.Ordinal);
        var others = items.Where(o => o.Id != item.Id && o.Target is { Length: > 0 } && !goldNorm.Contains(AnswerText.Normalize(o.Target)))
            .Select(o => o.Target!).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var sameType = others.Where(o => AnswerType(o) == type).ToList();
        var pool = sameType.Count > 0 ? sameType : others;
        if (pool.Count == 0) throw new InvalidDataException($"no substitute answer for item '{item.Id}': every other item has the same answer");
        return pool[rng.Next(pool.Count)];
    }

    /// <summary>Q-REDUND's clause: the first sentence of a passage bundled with another item (else that item's question),
    /// never one that contains this item's answer.</summary>
    private static string Clause(Sample item, IReadOnlyList<Sample> items, SearchIndex index, List<string> golds, Random rng)
    {
        for (int attempt = 0; attempt < 20 && items.Count > 1; attempt++)
        {
            var other = items[rng.Next(items.Count)];
            if (other.Id == item.Id) continue;
            var passages = index.ForQuestion(other.Id);
            var text = passages.Count > 0 ? passages[rng.Next(passages.Count)].Text : other.Input;
            var sentence = text.Split(". ", StringSplitOptions.RemoveEmptyEntries)[0].Trim();
            if (golds.Any(g => AnswerText.Contains(sentence, g))) continue;
            return sentence.EndsWith('.') || sentence.EndsWith('?') ? sentence : sentence + ".";
        }
        throw new InvalidDataException($"no redundant clause for item '{item.Id}': no other question without its answer");
    }

    private static IReadOnlyList<ResultPassage> HardNegatives(SearchIndex index, string question, string qid, List<string> golds, IReadOnlyList<ResultPassage> current, int m)
    {
        var present = current.Select(r => r.DocId).ToHashSet(StringComparer.Ordinal);
        return index.Search(question, m, exclude: d => (d.IsGold && d.SourceQid == qid) || present.Contains(d.DocId) || golds.Any(g => AnswerText.Contains(d.Title + " " + d.Text, g)))
            .Select(h => ResultPassage.Inject(h.Document, "distractor")).ToList();
    }

    private static IReadOnlyList<ResultPassage> RandomDocs(SearchIndex index, string qid, IReadOnlyList<ResultPassage> current, int m, Random rng)
    {
        var present = current.Select(r => r.DocId).ToHashSet(StringComparer.Ordinal);
        var pool = index.Documents.Where(d => !present.Contains(d.DocId) && !(d.IsGold && d.SourceQid == qid)).ToList();
        var chosen = new List<ResultPassage>();
        for (int i = 0; i < m && pool.Count > 0; i++)
        {
            int j = rng.Next(pool.Count);
            chosen.Add(ResultPassage.Inject(pool[j], "noise"));
            pool.RemoveAt(j);
        }
        return chosen;
    }

    private static double Jaccard(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        var sa = a.ToHashSet(StringComparer.Ordinal);
        var sb = b.ToHashSet(StringComparer.Ordinal);
        int union = sa.Union(sb).Count();
        return union == 0 ? 1 : (double)sa.Intersect(sb).Count() / union;
    }

    private static (string? Query, IReadOnlyList<string>? Docs) FirstCall(string json)
    {
        using var doc = JsonDocument.Parse(json);
        if (!doc.RootElement.TryGetProperty("searches", out var searches) || searches.ValueKind != JsonValueKind.Array) return (null, null);
        foreach (var c in searches.EnumerateArray())
        {
            if (c.TryGetProperty("refused", out var r) && r.ValueKind == JsonValueKind.True) continue;
            return (c.GetProperty("query_issued").GetString(), c.GetProperty("results").EnumerateArray().Select(x => x.GetProperty("doc_id").GetString()!).ToList());
        }
        return (null, null);
    }
}
