using System.Globalization;
using System.Text;
using System.Text.Json;
using AttnEval.Abstractions;
using AttnEval.Plugins.Sdk;
using Microsoft.Extensions.DependencyInjection;

namespace AttnEval.Metrics.AttentionInfluence;

/// <summary>Registers <c>attention-influence</c>.</summary>
public sealed class AttentionInfluencePlugin : IAttnEvalPlugin
{
    /// <inheritdoc />
    public string Name => "attention-influence";

    /// <inheritdoc />
    public void ConfigureServices(IServiceCollection services) => services.AddSingleton<IDataScorerFactory, AttentionInfluenceFactory>();
}

/// <summary>Factory of <see cref="AttentionInfluenceScorer"/>; recipe name <c>attention-influence</c> (specs/head-methods.md §3.6).</summary>
internal sealed class AttentionInfluenceFactory : IDataScorerFactory
{
    /// <inheritdoc />
    public string Name => "attention-influence";
    /// <inheritdoc />
    public string Description => "AttentionInfluence: (L_ref − L_base)/L_base with the top retrieval heads under uniform attention, top-k % per domain (Hua et al. 2025, arXiv 2505.07293 Eq. 5)";
    /// <inheritdoc />
    public MetricKind Kind => MetricKind.DataScorer;

    /// <inheritdoc />
    public IReadOnlyList<OptionSpec> Options => OptionBinder.Specs<AttentionInfluenceOptions>();

    /// <inheritdoc />
    /// <exception cref="ArgumentException">A head name in <c>ablation_exclude</c> that is not <c>"l-h"</c>.</exception>
    public IDataScorer Create(OptionValues o)
    {
        var options = OptionBinder.Bind<AttentionInfluenceOptions>(o);
        return new AttentionInfluenceScorer(options with
        {
            AblationExclude = AblationCheck.ParseHeads(options.AblationExcludeNames, "metrics.attention-influence.ablation_exclude"),
        });
    }
}

/// <summary>Settings of <see cref="AttentionInfluenceScorer"/>, declared once as its recipe options (key, meaning and range
/// in the attribute, default in the initializer; specs/head-methods.md §3.6).</summary>
internal sealed record AttentionInfluenceOptions
{
    /// <summary>heads.json to read, or null to detect.</summary>
    [Option("heads_file", "a heads.json (Retrieval_Head format) to take the heads from; absent = detect them with synthetic key–value probes (§3.1)", FilePath = true)]
    public string? HeadsFile { get; init; }
    /// <summary>% of heads masked.</summary>
    [Option("top_percent", "share of all heads masked, % (paper: top 5 %)", Min = 0, Max = 100)]
    public double TopPercent { get; init; } = 5;
    /// <summary>Detection probes.</summary>
    [Option("probes", "synthetic key–value probes for detection (paper: 800)", Min = 1)]
    public int Probes { get; init; } = 100;
    /// <summary>Pairs per probe.</summary>
    [Option("probe_pairs", "key–value pairs per probe (paper: as many as fit 4096 tokens; community code 30–60)", Min = 4)]
    public int ProbePairs { get; init; } = 12;
    /// <summary>Key length.</summary>
    [Option("key_length", "characters of each random alphanumeric key (paper: 32)", Min = 2)]
    public int KeyLength { get; init; } = 32;
    /// <summary>Words per value.</summary>
    [Option("value_words", "words of each value, taken from the corpus documents (paper: sentences ≤ 30 tokens)", Min = 1)]
    public int ValueWords { get; init; } = 6;
    /// <summary>Uniform-attention mode (only <c>causal</c>).</summary>
    [Option("uniform_mode", "causal 1/(i+1) (recommended reading of App. C); the only mode the contract offers", Allowed = ["causal"])]
    public string UniformMode { get; init; } = "causal";
    /// <summary>Chunk size in tokens.</summary>
    [Option("chunk_tokens", "tokens per scored chunk (capped at the model context); losses are token-weighted over chunks", Min = 2)]
    public int ChunkTokens { get; init; } = 4096;
    /// <summary>Domain field.</summary>
    [Option("group_field", "document field naming its domain; scores are compared only within a domain")]
    public string GroupField { get; init; } = "domain";
    /// <summary>% selected per domain.</summary>
    [Option("select_percent", "top share of each domain selected, % (paper: 20 %)", Min = 0, Max = 100)]
    public double SelectPercent { get; init; } = 20;
    /// <summary>Random draws of the mirror-effect check.</summary>
    [Option("ablation_draws", "random head sets for the mirror-effect check on the probes and the corpus check", Min = 0)]
    public int AblationDraws { get; init; } = 5;
    /// <summary>The <c>ablation_exclude</c> option as written (<c>"l-h"</c>); parsed into <see cref="AblationExclude"/>.</summary>
    [Option("ablation_exclude", "heads never drawn at random (\"l-h\"), e.g. a head whose ablation breaks every token")]
    public IReadOnlyList<string> AblationExcludeNames { get; init; } = [];
    /// <summary>Documents kept for the corpus check (0 = off).</summary>
    [Option("check_documents", "corpus check: the first N scored documents re-scored with K random heads masked instead of the named ones (0 = off)", Min = 0)]
    public int CheckDocuments { get; init; } = 64;
    /// <summary>Heads never drawn at random.</summary>
    public IReadOnlyList<HeadId> AblationExclude { get; init; } = [];
    /// <summary>Seed of probes and draws.</summary>
    public long Seed { get; init; } = 7;
}

/// <summary>
/// AttentionInfluence (Hua et al. 2025, arXiv 2505.07293; specs/head-methods.md §3). <see cref="Prepare"/> takes the top
/// <c>top_percent</c> of heads from a <c>heads.json</c> or detects them with the Wu et al. retrieval score over synthetic
/// 3-shot key–value probes (§3.1; keys are random alphanumeric strings, values are word spans of the corpus), writes
/// <c>ai-heads.json</c> (resume reads it back) and runs the mirror-effect check (probe accuracy with those heads masked vs as
/// many random heads). <see cref="Score"/> computes <c>(L_ref − L_base) / L_base</c> (Eq. 5, denominator L_base), with
/// L = mean token cross-entropy in nats and the reference model = the base model with those heads under
/// <see cref="UniformAttention"/>. <see cref="Select"/> keeps the top <c>select_percent</c> of each domain.
/// </summary>
internal sealed class AttentionInfluenceScorer(AttentionInfluenceOptions options) : IDataScorer
{
    private const string HeadsName = "ai-heads.json", CheckName = "ai-heads-check.json";
    private readonly List<string> _corpusWords = [];
    private readonly List<(string Id, List<List<int>> Chunks, bool? Label)> _checkDocs = [];
    private ILanguageModel? _model;
    private IReadOnlyList<HeadId> _heads = [];
    private Dictionary<string, object?> _check = new();

    /// <summary>The masked heads (after <see cref="Prepare"/>).</summary>
    public IReadOnlyList<HeadId> Heads => _heads;

    /// <summary>Words to build probe values from (the host's corpus is not known in Prepare; the recipe's first documents
    /// are fed through <see cref="AddCorpusText"/> by tests, else a fixed word list is used).</summary>
    public void AddCorpusText(string text) => _corpusWords.AddRange(text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    /// <inheritdoc />
    public void Prepare(ILanguageModel model, string outputDirectory, CancellationToken cancellationToken = default)
    {
        var info = model.Info;
        int k = Math.Max(1, (int)Math.Ceiling(options.TopPercent / 100 * info.Layers * info.Heads));
        var saved = Path.Combine(outputDirectory, HeadsName);
        var checkPath = Path.Combine(outputDirectory, CheckName);
        if (File.Exists(saved) && File.Exists(checkPath))
        {
            _heads = HeadScoreFile.Ranked(HeadScoreFile.Means(HeadScoreFile.Read(saved))).Take(k).ToList();
            _check = JsonSerializer.Deserialize<Dictionary<string, object?>>(File.ReadAllText(checkPath)) ?? new();
            return;
        }
        Dictionary<HeadId, List<double>> lists;
        var analysis = new RetrievalHeadAnalysis(new RetrievalHeadOptions
        {
            Protocol = "dataset", MaxNewTokens = options.ValueWords * 4, SuccessThreshold = 50, AblationK = k,
            AblationDraws = options.AblationDraws, HeadsFile = "ai-probe-heads.json",
        });
        var probeDir = Path.Combine(outputDirectory, "ai-probes");
        if (options.HeadsFile is { } file)
        {
            lists = HeadScoreFile.Read(Path.GetFullPath(file));
            if (lists.Values.All(l => l.Count == 0))
                throw new InvalidDataException($"attention-influence: heads_file '{file}' scores no head (every list is empty: its run had no successful trial); take it from a run that had some");
            _heads = HeadScoreFile.Ranked(HeadScoreFile.Means(lists)).Take(k).ToList();
            _check = new Dictionary<string, object?> { ["source"] = Path.GetFullPath(file) };
            // The mirror-effect check on the synthetic probes, for the file's heads; a model that cannot hold a probe in its
            // context (or has no use for generic text, as the lab model) gets the reason instead: the heads are the file's.
            IReadOnlyList<Sample>? probes = null;
            try { probes = BuildProbes(model.Tokenizer, info); }
            catch (InvalidDataException e) { _check["probe_check"] = "skipped: " + e.Message; }
            if (probes is not null)
            {
                Directory.CreateDirectory(probeDir);
                var checkRun = analysis.Run(new HeadAnalysisContext { Model = model, Samples = probes, OutputDirectory = probeDir, Seed = options.Seed }, cancellationToken);
                _check["probe_check"] = checkRun.Summary.GetValueOrDefault("ablation");
            }
        }
        else
        {
            var probes = BuildProbes(model.Tokenizer, info);
            Directory.CreateDirectory(probeDir);
            var result = analysis.Run(new HeadAnalysisContext { Model = model, Samples = probes, OutputDirectory = probeDir, Seed = options.Seed }, cancellationToken);
            // Masking the first heads by id because none scored would be a silent guess, not the detected retrieval heads.
            if (result.Inconclusive is { } why)
                throw new InvalidDataException($"attention-influence: no retrieval heads detected on the synthetic probes ({why}); pass heads_file=<heads.json of a retrieval-heads run>");
            lists = HeadScoreFile.Read(Path.Combine(probeDir, "ai-probe-heads.json"));
            _heads = HeadScoreFile.Ranked(result.Scores).Take(k).ToList();
            _check = new Dictionary<string, object?> { ["source"] = "detected on synthetic key-value probes", ["probe_check"] = result.Summary.GetValueOrDefault("ablation"), ["probe_successes"] = result.Summary.GetValueOrDefault("successful_trials") };
        }
        _check["heads"] = _heads.Select(h => h.ToString()).ToList();
        HeadScoreFile.Write(saved, lists);
        File.WriteAllText(checkPath, JsonSerializer.Serialize(_check));
    }

    /// <summary>Synthetic 3-shot key–value probes (§3.1): an instruction, a JSON-like object of <c>probe_pairs</c> pairs (one per line, values unquoted), three
    /// answered questions, then the asked key; target = its value.</summary>
    public IReadOnlyList<Sample> BuildProbes(ITokenizer tokenizer, ModelInfo info)
    {
        var rng = new Random(unchecked((int)options.Seed));
        var words = _corpusWords.Count >= 50 ? _corpusWords : FallbackWords;
        const string alnum = "abcdefghijklmnopqrstuvwxyz0123456789";
        var probes = new List<Sample>();
        for (int p = 0; p < options.Probes; p++)
        {
            var keys = Enumerable.Range(0, options.ProbePairs).Select(_ => new string(Enumerable.Range(0, options.KeyLength).Select(_ => alnum[rng.Next(alnum.Length)]).ToArray())).ToList();
            var values = Enumerable.Range(0, options.ProbePairs).Select(_ => { int s = rng.Next(words.Count - options.ValueWords); return string.Join(' ', words.Skip(s).Take(options.ValueWords)); }).ToList();
            var order = Enumerable.Range(0, options.ProbePairs).OrderBy(_ => rng.Next()).Take(4).ToList();
            // one "key": value pair per line, the value unquoted after a space, so a value tokenises the same in the record
            // and in the answer (a quote glued to a word changes its tokens; deviation from strict JSON).
            var sb = new StringBuilder("Extract the value for the specified key from the records below. Output only the value.\n{\n");
            sb.AppendJoin(",\n", keys.Select((key, i) => $"\"{key}\": {values[i]}")).Append("\n}\n");
            foreach (var i in order.Take(3)) sb.Append(CultureInfo.InvariantCulture, $"key: {keys[i]}\nvalue: {values[i]}\n");
            sb.Append(CultureInfo.InvariantCulture, $"key: {keys[order[3]]}\nvalue:");
            var text = sb.ToString();
            if (tokenizer.Encode(text, addBos: true).Count + options.ValueWords * 4 >= info.ContextLength) continue;
            probes.Add(new Sample($"probe-{p}", text, " " + values[order[3]], new Dictionary<string, object?>()));
        }
        if (probes.Count == 0) throw new InvalidDataException($"attention-influence: no probe fits the model context ({info.ContextLength} tokens); lower probe_pairs or key_length");
        return probes;
    }

    private static readonly IReadOnlyList<string> FallbackWords =
        ("the quick brown fox jumps over a lazy dog while seven small birds sing near an old stone bridge under grey clouds and " +
         "children play with red kites in the green field beside the river where boats carry fresh bread to the quiet market town").Split(' ');

    /// <inheritdoc />
    public SampleEstimate Score(ILanguageModel model, Sample document, CancellationToken cancellationToken = default) =>
        ScoreBatch(model, [document], cancellationToken)[0];

    /// <summary>Scores several documents with two batched model calls in all: every chunk of every document without
    /// masking in one <see cref="ILanguageModel.ScoreBatch"/>, then every chunk with the heads under uniform attention in
    /// another (contract 1.4). Equal to <see cref="Score"/> per document (batched and one-by-one scoring agree within
    /// float rounding).</summary>
    /// <exception cref="InvalidDataException">A document with no tokens or too short to score (the host then scores one
    /// by one, so that the error costs only that document).</exception>
    public IReadOnlyList<SampleEstimate> ScoreBatch(ILanguageModel model, IReadOnlyList<Sample> documents, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(documents);
        var chunked = documents.Select(d => Chunks(model, d)).ToList();
        var losses = Losses(model, chunked, _heads, cancellationToken);
        // every document is checked before any is kept for the corpus check, so a batch that throws (and is then scored
        // one by one by the host) keeps nothing twice
        for (int i = 0; i < documents.Count; i++)
            if (losses[i].N == 0) throw new InvalidDataException($"document {documents[i].Id} is too short to score (needs ≥ 2 tokens with BOS)");
        var results = new SampleEstimate[documents.Count];
        for (int i = 0; i < documents.Count; i++)
        {
            var (lBase, lRef, n) = losses[i];
            var document = documents[i];
            if (_checkDocs.Count < options.CheckDocuments) _checkDocs.Add((document.Id, chunked[i], Label(document.Target)));
            var group = Convert.ToString(document.Field(options.GroupField), CultureInfo.InvariantCulture);
            results[i] = new SampleEstimate(Formula(lBase, lRef))
            {
                Details = new Dictionary<string, object?> { ["group"] = group, ["l_base"] = lBase, ["l_ref"] = lRef, ["n_tokens"] = n },
            };
        }
        _model = model;
        return results;
    }

    /// <summary>The document's token sequences of at most <c>chunk_tokens</c> (context length) tokens, BOS first when the
    /// tokenizer has one; pieces shorter than 2 tokens are dropped.</summary>
    /// <exception cref="InvalidDataException">The document has no tokens.</exception>
    private List<List<int>> Chunks(ILanguageModel model, Sample document)
    {
        var tok = model.Tokenizer;
        var ids = tok.Encode(document.Input);
        if (ids.Count == 0) throw new InvalidDataException($"document {document.Id} has no tokens");
        int chunk = Math.Min(options.ChunkTokens, model.Info.ContextLength) - (tok.BosId is null ? 0 : 1);
        var chunks = new List<List<int>>();
        for (int start = 0; start < ids.Count; start += chunk)
        {
            var part = ids.Skip(start).Take(chunk).ToList();
            List<int> seq = tok.BosId is { } bos ? [bos, .. part] : part;
            if (seq.Count >= 2) chunks.Add(seq);
        }
        return chunks;
    }

    /// <summary>Per document, the mean token cross-entropy (nats) of its chunks without and with <paramref name="heads"/>
    /// under uniform attention, and the number of scored tokens: every chunk of every document in one batched call
    /// without masking and one with.</summary>
    private static (double LBase, double LRef, int N)[] Losses(ILanguageModel model, IReadOnlyList<List<List<int>>> documents, IReadOnlyList<HeadId> heads, CancellationToken ct)
    {
        var masks = heads.Select(h => (HeadIntervention)new UniformAttention(h)).ToList();
        var sequences = documents.SelectMany(d => d).ToList();
        var plain = model.ScoreBatch(sequences.Select(seq => new ScoreRequest { Tokens = seq, From = 1 }).ToList(), ct);
        var masked = model.ScoreBatch(sequences.Select(seq => new ScoreRequest { Tokens = seq, From = 1, Interventions = masks }).ToList(), ct);
        var result = new (double, double, int)[documents.Count];
        int k = 0;
        for (int i = 0; i < documents.Count; i++)
        {
            double sumBase = 0, sumRef = 0;
            int n = 0;
            foreach (var _ in documents[i])
            {
                sumBase -= plain[k].LogProbs.Sum(x => (double)x);
                sumRef -= masked[k].LogProbs.Sum(x => (double)x);
                n += plain[k].LogProbs.Count;
                k++;
            }
            result[i] = n == 0 ? (0, 0, 0) : (sumBase / n, sumRef / n, n);
        }
        return result;
    }

    /// <summary>A document's boolean label from <c>dataset.target</c> (true/false, 1/0, yes/no), or null.</summary>
    private static bool? Label(string? target) => target?.Trim().ToLowerInvariant() switch
    {
        "true" or "1" or "yes" => true,
        "false" or "0" or "no" => false,
        _ => null,
    };

    /// <summary>The corpus check: the kept documents re-scored with the named heads masked and with <c>ablation_draws</c>
    /// sets of as many random heads (outside the named ones and <c>ablation_exclude</c>). With labelled documents of both
    /// classes (<c>dataset.target</c>) the metric is the AUROC of the score for label = true against false: the named
    /// heads should make the score separate the documents that need retrieval, random heads should not. Otherwise it is
    /// the mean score. Null when no document was kept (off, or every document resumed).</summary>
    private Dictionary<string, object?>? CorpusCheck()
    {
        if (_model is null || _checkDocs.Count == 0 || _heads.Count == 0) return null;
        var model = _model;
        bool labelled = _checkDocs.All(d => d.Label is not null) && _checkDocs.Select(d => d.Label).Distinct().Count() == 2;
        double Metric(IReadOnlyList<HeadId> heads)
        {
            if (heads.Count == 0) return labelled ? 0.5 : 0;
            var scores = Losses(model, _checkDocs.Select(d => d.Chunks).ToList(), heads, CancellationToken.None).Select(l => Formula(l.LBase, l.LRef)).ToList();
            return labelled ? Ranking.Auroc(scores, _checkDocs.Select(d => d.Label!.Value).ToList()) : scores.Average();
        }
        var result = AblationCheck.Run(model.Info, _heads, options.AblationDraws, options.AblationExclude, options.Seed, Metric);
        var summary = new Dictionary<string, object?>(result.ToSummary(labelled
            ? $"AUROC of (L_ref − L_base)/L_base for label true against false over the first {_checkDocs.Count} scored documents (no heads masked: 0.5 by definition)"
            : $"mean (L_ref − L_base)/L_base over the first {_checkDocs.Count} scored documents"));
        if (options.AblationExclude.Count > 0) summary["excluded_from_random"] = options.AblationExclude.Select(h => h.ToString()).ToList();
        return summary;
    }

    /// <summary>Eq. 5: <c>(L_ref − L_base) / L_base</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="lBase"/> ≤ 0.</exception>
    public static double Formula(double lBase, double lRef) =>
        lBase > 0 ? (lRef - lBase) / lBase : throw new ArgumentOutOfRangeException(nameof(lBase), lBase, "the base loss must be > 0");

    /// <inheritdoc />
    public DataSelection Select(IReadOnlyList<ScoredDocument> scored, string outputDirectory)
    {
        var chosen = new HashSet<string>(StringComparer.Ordinal);
        var groups = new Dictionary<string, object?>();
        foreach (var g in scored.GroupBy(d => d.Group ?? "").OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var top = TopPercent(g.ToList(), options.SelectPercent);
            chosen.UnionWith(top.Select(d => d.Id));
            groups[g.Key.Length == 0 ? "(none)" : g.Key] = new Dictionary<string, object?>
            {
                ["n"] = g.Count(), ["selected"] = top.Count, ["min_selected_score"] = top.Count == 0 ? null : top.Min(d => d.Score),
            };
        }
        return new DataSelection(chosen)
        {
            Summary = new Dictionary<string, object?>
            {
                ["select_percent"] = options.SelectPercent, ["groups"] = groups, ["heads"] = _heads.Select(h => h.ToString()).ToList(), ["mirror_check"] = _check,
                ["corpus_check"] = (object?)CorpusCheck() ?? (options.CheckDocuments == 0 ? "off (check_documents: 0)" : "skipped: no document scored in this process (resumed run)"),
            },
            Artifacts = [HeadsName, CheckName],
        };
    }

    /// <summary>The <c>ceil(percent/100 · n)</c> highest-scored documents (ties by id).</summary>
    public static IReadOnlyList<ScoredDocument> TopPercent(IReadOnlyList<ScoredDocument> docs, double percent) =>
        docs.OrderByDescending(d => d.Score).ThenBy(d => d.Id, StringComparer.Ordinal).Take((int)Math.Ceiling(percent / 100 * docs.Count)).ToList();
}
