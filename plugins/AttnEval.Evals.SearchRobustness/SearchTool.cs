using System.ComponentModel;
using System.Text.Json.Serialization;
using Microsoft.Extensions.AI;

namespace AttnEval.Evals.SearchRobustness;

/// <summary>One passage as the <c>search</c> tool returns it to the agent (§4.2.1 tool contract).</summary>
/// <param name="DocId">Corpus id.</param>
/// <param name="Title">Title.</param>
/// <param name="Text">Passage text.</param>
/// <param name="Score">BM25 score (0 for injected passages).</param>
/// <param name="Rank">1-based rank.</param>
internal sealed record ToolPassage(
    [property: JsonPropertyName("doc_id")] string DocId,
    [property: JsonPropertyName("title")] string Title,
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("score")] double Score,
    [property: JsonPropertyName("rank")] int Rank);

/// <summary>One call of the search tool in an episode, as logged in <c>episodes.jsonl</c>.</summary>
/// <param name="QueryIssued">The query the agent wrote.</param>
/// <param name="QueryExecuted">The query the index ran (after a query perturbation).</param>
/// <param name="Results">The passages returned, in rank order.</param>
/// <param name="Refused">True when the call was over the search budget and nothing was searched.</param>
internal sealed record SearchCall(string QueryIssued, string QueryExecuted, IReadOnlyList<ResultPassage> Results, bool Refused = false);

/// <summary>Settings of the search environment (§4.2.1).</summary>
/// <param name="TopK">Passages per call, ≥ 1 (Search-R1 convention: 3).</param>
/// <param name="MaxSearches">Search budget per episode, ≥ 1 (default 4); calls beyond it return a refusal message.</param>
/// <param name="ScopeToQuestion">Search only the passages bundled with the episode's question (the distractor setting).</param>
/// <param name="Pad">With <paramref name="ScopeToQuestion"/>: fill a short list with the question's unmatched passages.</param>
internal sealed record SearchSettings(int TopK = 3, int MaxSearches = 4, bool ScopeToQuestion = false, bool Pad = false);

/// <summary>
/// The <c>search</c> tool of one episode, exposed as a Microsoft.Extensions.AI <see cref="AIFunction"/>
/// (<c>search(query: string) → [{doc_id, title, text, score, rank}]</c>): it applies the episode's query perturbation to
/// the agent's query, searches the BM25 index, applies the result perturbation, and logs every call.
/// </summary>
internal sealed class SearchSession
{
    private readonly SearchIndex _index;
    private readonly SearchSettings _settings;
    private readonly string? _qid;
    private readonly List<SearchCall> _calls = [];

    /// <summary>Creates the tool for one episode.</summary>
    /// <param name="index">The corpus index.</param>
    /// <param name="settings">Top-k, budget and scope.</param>
    /// <param name="qid">The episode's question id (the scope when <see cref="SearchSettings.ScopeToQuestion"/>).</param>
    /// <param name="queryPerturbation">Maps (query, call index from 0) to the query to execute; null = identity.</param>
    /// <param name="resultPerturbation">Maps (retrieved passages, call index) to the passages returned; null = identity.</param>
    public SearchSession(SearchIndex index, SearchSettings settings, string? qid,
        Func<string, int, string>? queryPerturbation = null,
        Func<IReadOnlyList<ResultPassage>, int, IReadOnlyList<ResultPassage>>? resultPerturbation = null)
    {
        _index = index ?? throw new ArgumentNullException(nameof(index));
        _settings = settings;
        _qid = qid;
        QueryPerturbation = queryPerturbation;
        ResultPerturbation = resultPerturbation;
        Function = AIFunctionFactory.Create(
            ([Description("What to search for.")] string query) => Search(query),
            "search",
            $"Searches the local document collection and returns the top {settings.TopK} passages as a JSON array of {{doc_id, title, text, score, rank}}. At most {settings.MaxSearches} searches per question.");
    }

    private Func<string, int, string>? QueryPerturbation { get; }
    private Func<IReadOnlyList<ResultPassage>, int, IReadOnlyList<ResultPassage>>? ResultPerturbation { get; }

    /// <summary>The tool for the agent's <see cref="ChatOptions.Tools"/>.</summary>
    public AIFunction Function { get; }

    /// <summary>Every call so far, in order.</summary>
    public IReadOnlyList<SearchCall> Calls => _calls;

    /// <summary>Runs one call (what <see cref="Function"/> invokes). Over budget, returns a one-line refusal text instead of passages.</summary>
    public object Search(string query)
    {
        query ??= "";
        if (_calls.Count(c => !c.Refused) >= _settings.MaxSearches)
        {
            _calls.Add(new SearchCall(query, "", [], Refused: true));
            return $"search budget of {_settings.MaxSearches} calls is spent; answer with what you have";
        }
        int index = _calls.Count(c => !c.Refused);
        var executed = QueryPerturbation?.Invoke(query, index) ?? query;
        IReadOnlyList<ResultPassage> results = _index.Search(executed, _settings.TopK, _settings.ScopeToQuestion ? _qid : null, _settings.Pad)
            .Select(h => ResultPassage.From(h, _qid)).ToList();
        if (ResultPerturbation is { } rp) results = rp(results, index);
        _calls.Add(new SearchCall(query, executed, results));
        return results.Select((r, i) => new ToolPassage(r.DocId, r.Title, r.Text, Math.Round(r.Score, 4), i + 1)).ToList();
    }
}
