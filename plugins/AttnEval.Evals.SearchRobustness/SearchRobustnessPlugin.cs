using System.Globalization;
using System.Text.Json;
using AttnEval.Abstractions;
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
public sealed class SearchRobustnessFactory : IAgentEvaluationFactory
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
    public IReadOnlyList<OptionSpec> Options { get; } =
    [
        new("conditions", OptionType.StringList, DefaultConditions.ToList(), "conditions as \"ID key=value ...\" (§4.2.2 catalogue); clean is always run first"),
        new("agent", OptionType.String, "local", "local: the recipe's model in the lab text tool format; openai: an OpenAI-compatible endpoint") { AllowedValues = ["local", "openai"] },
        new("endpoint", OptionType.String, null, "endpoint URL for agent: openai (e.g. http://localhost:8000/v1)"),
        new("model_id", OptionType.String, null, "model name sent to the endpoint (agent: openai)"),
        new("api_key_env", OptionType.String, "OPENAI_API_KEY", "environment variable holding the endpoint's API key"),
        new("system_prompt", OptionType.String, SearchAgent.DefaultSystemPrompt, "system message for chat agents; empty for none (the local lab client ignores it)"),
        new("corpus", OptionType.FilePath, "dataset", "dataset: index the passages bundled with the items (§4.2.1 option 1); else a JSONL corpus path {doc_id, title, text, source_qid?, is_gold?}") { AllowedValues = ["dataset"] },
        new("passages_field", OptionType.String, "passages", "item field with the bundled passages (strings or {title, text} maps)"),
        new("gold_rank_field", OptionType.String, "gold_rank", "item field with the 1-based rank of the gold passage; absent: gold = passages containing the answer"),
        new("aliases_field", OptionType.String, null, "item field with extra gold aliases (string or list)"),
        new("scope", OptionType.String, "corpus", "question: search only the item's bundled passages (distractor setting); corpus: the whole index") { AllowedValues = ["question", "corpus"] },
        new("pad_results", OptionType.Boolean, false, "with scope question: fill short result lists with the item's unmatched passages (score 0)"),
        new("top_k", OptionType.Integer, 3L, "passages per search (Search-R1 convention 3)") { Min = 1, Max = 50 },
        new("k1", OptionType.Number, 1.2, "BM25 k1 (Lucene default 1.2; Anserini 0.9)") { Min = 0.001, Max = 10 },
        new("b", OptionType.Number, 0.75, "BM25 b (Lucene default 0.75; Anserini 0.4)") { Min = 0, Max = 1 },
        new("max_searches", OptionType.Integer, 4L, "search budget per episode (§4.2.1)") { Min = 1, Max = 20 },
        new("runs", OptionType.Integer, 1L, "runs per (item, condition); ≥ 2 with temperature > 0 gives RandomRight and Pass@2") { Min = 1, Max = 10 },
        new("correct", OptionType.String, "em", "what counts as correct: em, cover_em, or f1 (F1 ≥ 0.5)") { AllowedValues = ["em", "cover_em", "f1"] },
        new("synonyms", OptionType.FilePath, null, "JSON file {word: [synonyms]} for S-SYN; the built-in table when unset"),
        new("dataset_label", OptionType.String, "dataset", "label written as each episode's dataset"),
    ];

    /// <inheritdoc />
    /// <exception cref="ArgumentException">A malformed condition, agent openai without endpoint/model_id, or an unreadable synonym table.</exception>
    public IAgentEvaluation Create(OptionValues options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var texts = options.Has("conditions") ? options.GetStringList("conditions") : DefaultConditions;
        var conditions = new List<Condition> { Condition.Clean };
        for (int i = 0; i < texts.Count; i++)
        {
            var c = Condition.Parse(texts[i], $"metrics.search-robustness.conditions[{i}]");
            if (conditions.Any(x => x.Name == c.Name)) continue;
            conditions.Add(c);
        }
        var agent = options.GetString("agent", "local");
        if (agent == "openai" && (!options.Has("endpoint") || !options.Has("model_id")))
            throw new ArgumentException("metrics.search-robustness: agent openai needs endpoint and model_id");
        if (options.Has("endpoint") && !Uri.TryCreate(options.GetString("endpoint"), UriKind.Absolute, out _))
            throw new ArgumentException($"metrics.search-robustness.endpoint: '{options.GetString("endpoint")}' is not an absolute URL");
        var scope = options.GetString("scope", "corpus");
        return new SearchRobustnessEvaluation(new SearchRobustnessSettings
        {
            Conditions = conditions,
            Agent = agent,
            Endpoint = options.Has("endpoint") ? options.GetString("endpoint") : null,
            ModelId = options.Has("model_id") ? options.GetString("model_id") : null,
            ApiKeyEnv = options.GetString("api_key_env", "OPENAI_API_KEY"),
            SystemPrompt = options.GetString("system_prompt", SearchAgent.DefaultSystemPrompt),
            Corpus = options.GetString("corpus", "dataset"),
            PassagesField = options.GetString("passages_field", "passages"),
            GoldRankField = options.GetString("gold_rank_field", "gold_rank"),
            AliasesField = options.Has("aliases_field") ? options.GetString("aliases_field") : null,
            Search = new SearchSettings(options.GetInt("top_k", 3), options.GetInt("max_searches", 4), scope == "question", options.GetBool("pad_results", false)),
            K1 = options.GetDouble("k1", 1.2),
            B = options.GetDouble("b", 0.75),
            Runs = options.GetInt("runs", 1),
            Correct = options.GetString("correct", "em"),
            Synonyms = options.Has("synonyms") ? ReadSynonyms(options.GetString("synonyms")) : null,
            DatasetLabel = options.GetString("dataset_label", "dataset"),
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
