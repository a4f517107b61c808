using System.Globalization;
using System.Text.Json;
using AttnEval.Abstractions;
using AttnEval.Plugins.Sdk;
using Microsoft.Extensions.DependencyInjection;

namespace AttnEval.Evals.SearchRobustness;

/// <summary>Registers the <c>search-robustness</c> agent evaluation.</summary>
public sealed class SearchRobustnessPlugin : IAttnEvalPlugin
{
    /// <inheritdoc />
    public string Name => "AttnEval.Evals.SearchRobustness";

    /// <inheritdoc />
    public void ConfigureServices(IServiceCollection services) =>
        services.AddSingleton<IAgentEvaluationFactory, SearchRobustnessFactory>();
}

/// <summary>
/// Factory of <c>search-robustness</c> (recipe kind <c>agent-robustness</c>; specs/head-methods.md §4.2). Its options
/// mirror the spec's example recipe: agent, corpus, retriever, runs and conditions.
/// </summary>
internal sealed class SearchRobustnessFactory : IAgentEvaluationFactory
{
    /// <summary>The default conditions: one of each catalogue entry that needs no extra data (Q-PARA needs cached
    /// paraphrases, S-SYN a synonym table, so they are opt-in).</summary>
    public static IReadOnlyList<string> DefaultConditions { get; } =
    [
        "clean", "Q-TYPO rate=0.1", "Q-REDUND position=after", "S-DROP p=1.0", "S-ENT p=1.0",
        "R-DISTR m=2 position=top", "R-MISLEAD when=first_call", "R-NOISE m=1", "R-DROPGOLD", "R-SHUF",
    ];

    /// <inheritdoc />
    public string Name => "search-robustness";
    /// <inheritdoc />
    public string Description => "search-agent robustness under question, query and result perturbations (BM25 tool; specs/head-methods.md §4.2)";
    /// <inheritdoc />
    public MetricKind Kind => MetricKind.AgentEvaluation;

    /// <inheritdoc />
    public IReadOnlyList<OptionSpec> Options => OptionBinder.Specs<SearchRobustnessOptions>();

    /// <inheritdoc />
    /// <exception cref="ArgumentException">A malformed condition, agent openai without endpoint/model_id, or an unreadable synonym table.</exception>
    public IAgentEvaluation Create(OptionValues options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var o = OptionBinder.Bind<SearchRobustnessOptions>(options);
        var texts = o.Conditions;
        var conditions = new List<Condition> { Condition.Clean };
        for (int i = 0; i < texts.Count; i++)
        {
            var c = Condition.Parse(texts[i], $"metrics.search-robustness.conditions[{i}]");
            if (conditions.Any(x => x.Name == c.Name)) continue;
            conditions.Add(c);
        }
        if (o.Agent == "openai" && (o.Endpoint is null || o.ModelId is null))
            throw new ArgumentException("metrics.search-robustness: agent openai needs endpoint and model_id");
        if (o.Endpoint is not null && !Uri.TryCreate(o.Endpoint, UriKind.Absolute, out _))
            throw new ArgumentException($"metrics.search-robustness.endpoint: '{o.Endpoint}' is not an absolute URL");
        return new SearchRobustnessEvaluation(new SearchRobustnessSettings
        {
            Conditions = conditions,
            Agent = o.Agent,
            Endpoint = o.Endpoint,
            ModelId = o.ModelId,
            ApiKeyEnv = o.ApiKeyEnv,
            SystemPrompt = o.SystemPrompt,
            Corpus = o.Corpus,
            PassagesField = o.PassagesField,
            GoldRankField = o.GoldRankField,
            AliasesField = o.AliasesField,
            Search = new SearchSettings(o.TopK, o.MaxSearches, o.Scope == "question", o.PadResults),
            K1 = o.K1,
            B = o.B,
            Runs = o.Runs,
            Correct = o.Correct,
            Synonyms = o.Synonyms is { } synonyms ? ReadSynonyms(synonyms) : null,
            DatasetLabel = o.DatasetLabel,
        });
    }

    /// <summary>Reads a synonym table: a JSON object mapping a lower-case word to an array of replacement strings.</summary>
    /// <exception cref="ArgumentException">Missing file or another shape; the message names the file and what was expected.</exception>
    public static IReadOnlyDictionary<string, string[]> ReadSynonyms(string path)
    {
        try
        {
            var table = JsonSerializer.Deserialize<Dictionary<string, string[]>>(File.ReadAllText(path))
                ?? throw new ArgumentException($"{path}: expected a JSON object {{\"word\": [\"synonym\", ...]}}");
            return table.Where(kv => kv.Value.Length > 0).ToDictionary(kv => kv.Key.ToLower(CultureInfo.InvariantCulture), kv => kv.Value, StringComparer.Ordinal);
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"metrics.search-robustness.synonyms: {path}: expected a readable JSON object {{\"word\": [\"synonym\", ...]}} ({e.Message})", e);
        }
    }
}

/// <summary>The <c>search-robustness</c> recipe options, declared once (key, meaning and range in the attribute, default in
/// the initializer; specs/head-methods.md §4.2).</summary>
internal sealed record SearchRobustnessOptions
{
    [Option("conditions", "conditions as \"ID key=value ...\" (§4.2.2 catalogue); clean is always run first")]
    public IReadOnlyList<string> Conditions { get; init; } = [.. SearchRobustnessFactory.DefaultConditions];
    [Option("agent", "local: the recipe's model in the lab text tool format; openai: an OpenAI-compatible endpoint", Allowed = ["local", "openai"])]
    public string Agent { get; init; } = "local";
    [Option("endpoint", "endpoint URL for agent: openai (e.g. http://localhost:8000/v1)")]
    public string? Endpoint { get; init; }
    [Option("model_id", "model name sent to the endpoint (agent: openai)")]
    public string? ModelId { get; init; }
    [Option("api_key_env", "environment variable holding the endpoint's API key")]
    public string ApiKeyEnv { get; init; } = "OPENAI_API_KEY";
    [Option("system_prompt", "system message for chat agents; empty for none (the local lab client ignores it)")]
    public string SystemPrompt { get; init; } = SearchAgent.DefaultSystemPrompt;
    [Option("corpus", "dataset: index the passages bundled with the items (§4.2.1 option 1); else a JSONL corpus path {doc_id, title, text, source_qid?, is_gold?}", FilePath = true, Allowed = ["dataset"])]
    public string Corpus { get; init; } = "dataset";
    [Option("passages_field", "item field with the bundled passages (strings or {title, text} maps)")]
    public string PassagesField { get; init; } = "passages";
    [Option("gold_rank_field", "item field with the 1-based rank of the gold passage; absent: gold = passages containing the answer")]
    public string GoldRankField { get; init; } = "gold_rank";
    [Option("aliases_field", "item field with extra gold aliases (string or list)")]
    public string? AliasesField { get; init; }
    [Option("scope", "question: search only the item's bundled passages (distractor setting); corpus: the whole index", Allowed = ["question", "corpus"])]
    public string Scope { get; init; } = "corpus";
    [Option("pad_results", "with scope question: fill short result lists with the item's unmatched passages (score 0)")]
    public bool PadResults { get; init; }
    [Option("top_k", "passages per search (Search-R1 convention 3)", Min = 1, Max = 50)]
    public int TopK { get; init; } = 3;
    [Option("k1", "BM25 k1 (Lucene default 1.2; Anserini 0.9)", Min = 0.001, Max = 10)]
    public double K1 { get; init; } = 1.2;
    [Option("b", "BM25 b (Lucene default 0.75; Anserini 0.4)", Min = 0, Max = 1)]
    public double B { get; init; } = 0.75;
    [Option("max_searches", "search budget per episode (§4.2.1)", Min = 1, Max = 20)]
    public int MaxSearches { get; init; } = 4;
    [Option("runs", "runs per (item, condition); ≥ 2 with temperature > 0 gives RandomRight and Pass@2", Min = 1, Max = 10)]
    public int Runs { get; init; } = 1;
    [Option("correct", "what counts as correct: em, cover_em, or f1 (F1 ≥ 0.5)", Allowed = ["em", "cover_em", "f1"])]
    public string Correct { get; init; } = "em";
    [Option("synonyms", "JSON file {word: [synonyms]} for S-SYN; the built-in table when unset", FilePath = true)]
    public string? Synonyms { get; init; }
    [Option("dataset_label", "label written as each episode's dataset")]
    public string DatasetLabel { get; init; } = "dataset";
}
