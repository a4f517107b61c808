using AttnEval.Abstractions;

namespace AttnEval.Metrics.AttentionUq.Tests;

/// <summary>Focus against spec §4.8 (S1): M through the max reducer over S1's generation rows, the distributions through a
/// fake teacher-forced Score with top-k log-probabilities, K through the keyword heuristic on "Rome was Italy".</summary>
public sealed class FocusTests : IDisposable
{
    private static readonly FocusEstimatorFactory Factory = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("attnuq-focus-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>π_i of spec §4.8 (V = 6).</summary>
    private static readonly double[][] Pi =
    [
        [0.050, 0.100, 0.700, 0.005, 0.140, 0.005],
        [0.300, 0.200, 0.100, 0.100, 0.250, 0.050],
        [0.020, 0.008, 0.500, 0.400, 0.060, 0.012],
        [0.012, 0.009, 0.015, 0.004, 0.020, 0.940],
    ];

    private string IdfFile()
    {
        var path = Path.Combine(_dir, "idf.txt");
        File.WriteAllLines(path, new[] { "# S1 idf, spec §4.8", "0 1.5", "1\t0.8", "2 2.0", "3 3.0", "4 0.5", "5 0.1" });
        return path;
    }

    /// <summary>V = 6 model whose Score returns the top-k of π per answer step (descending) and ln π(y_i).</summary>
    private static (ILanguageModel Model, List<ScoreRequest> Requests) DistributionModel(bool eosIsSpecial = true)
    {
        var requests = new List<ScoreRequest>();
        var model = S1.Model(S1.Tokenizer(eosIsSpecial), vocab: 6, score: req =>
        {
            requests.Add(req);
            var y = req.Tokens.Skip(req.From).ToArray();
            var top = y.Select((_, i) => (IReadOnlyList<TokenLogProb>)Pi[i].Select((p, v) => new TokenLogProb(v, (float)Math.Log(p)))
                .OrderByDescending(t => t.LogProb).Take(req.TopLogProbs).ToList()).ToList();
            return new TokenScores(y, y.Select((t, i) => (float)Math.Log(Pi[i][t])).ToArray(), new float[y.Length], top);
        });
        return (model, requests);
    }

    private SampleEstimate Focus(Dictionary<string, object?>? options = null, bool eosIsSpecial = true, bool withIdf = true)
    {
        options ??= new Dictionary<string, object?>();
        if (withIdf) options["idf_file"] = IdfFile();
        var (model, _) = DistributionModel(eosIsSpecial);
        return S1.Run(S1.Create(Factory, options), model, logProbs: S1.Answer.Select((t, i) => (float)Math.Log(Pi[i][t])).ToArray());
    }

    [Fact]
    public void Focus_matches_S1_with_the_eos_inheriting_the_last_keyword()
    {
        var (model, requests) = DistributionModel();
        var estimator = S1.Create(Factory, new() { ["idf_file"] = IdfFile() });
        estimator.Needs.Should().Be(MetricNeeds.AttentionRows | MetricNeeds.ModelCalls);
        var est = S1.Run(estimator, model);
        est.Uncertainty.Should().BeApproximately(11.425851, 1e-6);
        est.Confidence.Should().BeNull();
        est.Details!["keywords"].Should().BeEquivalentTo(new[] { 0, 2, 3 }, "'Rome' and 'Italy' are content words, 'was' is not, EOS inherits 'Italy'");
        est.Details["idf"].Should().Be("file");
        ((double[])est.Details["hc"]!).Should().Equal([1.889348, 6.881381, 13.773804, 3.335809], (a, b) => Math.Abs(a - b) < 1e-6);
        var req = requests.Should().ContainSingle().Subject;
        req.TopLogProbs.Should().Be(6, "⌈1/p⌉ = 100, capped at V = 6");
        req.From.Should().Be(S1.P);
        req.Tokens.Should().Equal([.. S1.Prompt, .. S1.Answer]);
    }

    [Fact]
    public void Focus_reads_the_top_k_of_the_answer_s_generation_when_it_has_them_and_makes_no_model_call()
    {
        // Contract 1.4: the estimator asks the generation for ⌈1/p⌉ = 100 alternatives (the backend caps at V) and then
        // needs no teacher-forced pass; the top-k given here (V = 6, all entries, more than the 6 read) reproduce S1.
        var (model, requests) = DistributionModel();
        var estimator = (FocusEstimator)S1.Create(Factory, new() { ["idf_file"] = IdfFile() });
        estimator.AnswerOutputs.Should().Be(new AnswerOutputs(100));
        ((FocusEstimator)S1.Create(Factory, new() { ["p"] = 1e-4 })).AnswerOutputs.Should().Be(default(AnswerOutputs),
            "10,000 alternatives per step: the pass is cheaper than holding them");
        var reducer = estimator.CreateReducer(model.Info, S1.P)!;
        S1.Generate(reducer, S1.Answer.Length);
        var top = S1.Answer.Select((_, i) => (IReadOnlyList<TokenLogProb>)Pi[i].Select((q, v) => new TokenLogProb(v, (float)Math.Log(q)))
            .OrderByDescending(t => t.LogProb).ToList()).ToList();
        var lp = S1.Answer.Select((t, i) => (float)Math.Log(Pi[i][t])).ToArray();
        var context = S1.Context(model, S1.Answer, lp, new float[S1.Answer.Length], reducer);
        context = context with { Answer = context.Answer with { Scores = context.Answer.Scores with { TopK = top } } };
        estimator.Estimate(context).Uncertainty.Should().BeApproximately(11.425851, 1e-6);
        requests.Should().BeEmpty("the generation's own top-k serve");

        // a generation with fewer alternatives than Focus reads falls back to the pass
        var few = top.Select(t => (IReadOnlyList<TokenLogProb>)t.Take(2).ToList()).ToList();
        context = context with { Answer = context.Answer with { Scores = context.Answer.Scores with { TopK = few } } };
        var again = estimator.CreateReducer(model.Info, S1.P)!;
        S1.Generate(again, S1.Answer.Length);
        estimator.Estimate(context with { Reducer = again }).Uncertainty.Should().BeApproximately(11.425851, 1e-6);
        requests.Should().ContainSingle();
    }

    [Fact]
    public void Focus_matches_S1_when_the_last_token_is_not_a_keyword() =>
        // token 5 decodes as "." (not a special token): punctuation, so K = {0, 2}
        Focus(eosIsSpecial: false).Uncertainty.Should().BeApproximately(10.029628, 1e-6);

    [Fact]
    public void Options_change_the_value_as_the_formula_says()
    {
        // our reference implementation of spec §4.2 on S1: every token a keyword; uniform idf; p = 0.22 (reads the top 5 only)
        Focus(new() { ["keywords"] = "all" }).Uncertainty.Should().BeApproximately(11.1536685, 1e-6);
        Focus(withIdf: false).Uncertainty.Should().BeApproximately(11.4150177, 1e-6);
        Focus(new() { ["p"] = 0.22 }).Uncertainty.Should().BeApproximately(8.7418442, 1e-6);
        // γ = 0: no propagation, the mean of hc over K = {0, 2, 3}
        Focus(new() { ["gamma"] = 0.0 }).Uncertainty.Should().BeApproximately((1.889348 + 13.773804 + 3.335809) / 3, 1e-6);
    }

    [Fact]
    public void The_max_reducer_keeps_M_over_generated_keys_only()
    {
        var reducer = (GeneratedKeysReducer)S1.Create(Factory).CreateReducer(S1.Model().Info, S1.P)!;
        reducer.Layers.Should().BeNull("the max runs over every layer and head");
        S1.Generate(reducer, chunk: 3);
        reducer.Row(1).Should().Equal([0.60], (a, b) => Math.Abs(a - b) < 1e-7);
        reducer.Row(2).Should().Equal([0.30, 0.45], (a, b) => Math.Abs(a - b) < 1e-7);
        reducer.Row(3).Should().Equal([0.20, 0.25, 0.55], (a, b) => Math.Abs(a - b) < 1e-7);
        reducer.Contributions(3).Should().Be(4);
        reducer.Row(0).Should().BeNull();
        reducer.Row(4).Should().BeNull();
    }

    [Fact]
    public void Token_score_masks_below_p_weights_by_idf_and_renormalises()
    {
        double[] idf = [1.5, 0.8, 2.0, 3.0, 0.5, 0.1];
        // step 2: y = 1 has π = 0.008 < p, so π̂(y) = 0 and the NLL term is −ln(1e−5)
        FocusMath.TokenScore(Pi[2].Select((p, v) => (v, p)), 1, v => idf[v], 0.01).Should().BeApproximately(13.773804, 1e-6);
        double.IsNaN(FocusMath.TokenScore([(0, 0.005), (1, 0.004)], 0, _ => 1, 0.01)).Should().BeTrue("no entry reaches p");
        // one entry left: π̂ = 1, H2 = 0 → hc = −ln(1 + 1e−5) + 1
        FocusMath.TokenScore([(3, 0.6), (4, 0.001)], 3, _ => 1, 0.01).Should().BeApproximately(1 - Math.Log(1 + 1e-5), 1e-12);
    }

    [Fact]
    public void An_answer_without_keywords_is_an_error_not_NaN()
    {
        // " the" " was" EOS: function words only, so K = ∅ (LM-Polygraph would return NaN)
        var (model, _) = DistributionModel();
        FluentActions.Invoking(() => S1.Run(S1.Create(Factory), model, logProbs: [-1f, -1f, -1f], answer: [0, 4, 5])).Should().Throw<InvalidOperationException>()
            .WithMessage("focus: the answer has no keyword token (K is empty)*keywords: all*");
    }

    [Fact]
    public void A_step_without_entries_above_p_is_an_error()
    {
        var (model, _) = DistributionModel();
        FluentActions.Invoking(() => S1.Run(S1.Create(Factory, new() { ["p"] = 0.95 }), model)).Should().Throw<InvalidOperationException>()
            .WithMessage("focus: step 0 has no distribution entry ≥ p = 0.95*");
    }

    [Fact]
    public void Idf_files_are_parsed_and_checked()
    {
        var table = IdfTable.Parse(["# comment", "", "3 2.5", "default 7", "10\t-0.1"]);
        table[3].Should().Be(2.5);
        table[10].Should().Be(-0.1);
        table[4].Should().Be(7, "unlisted ids take the default line");
        IdfTable.Parse(["1 2"])[99].Should().Be(1, "without a default line unlisted ids are unweighted");
        IdfTable.Uniform[12345].Should().Be(1);

        string Write(params string[] lines) { var p = Path.Combine(_dir, $"bad{Guid.NewGuid():N}.txt"); File.WriteAllLines(p, lines); return p; }
        FluentActions.Invoking(() => S1.Create(Factory, new() { ["idf_file"] = Write("1 0.5", "x 1") })).Should().Throw<ArgumentException>()
            .WithMessage("metrics.focus.idf_file: *line 2: 'x' is not a token id*");
        FluentActions.Invoking(() => S1.Create(Factory, new() { ["idf_file"] = Write("1 0.5", "1 0.7") })).Should().Throw<ArgumentException>()
            .WithMessage("*line 2: token id 1 is listed twice");
        FluentActions.Invoking(() => S1.Create(Factory, new() { ["idf_file"] = Write("1 NaN") })).Should().Throw<ArgumentException>()
            .WithMessage("*line 1: 'NaN' is not a finite number");
        FluentActions.Invoking(() => S1.Create(Factory, new() { ["idf_file"] = Write("# empty") })).Should().Throw<ArgumentException>()
            .WithMessage("*no entry*");
    }

    [Fact]
    public void Bad_options_name_the_key()
    {
        FluentActions.Invoking(() => S1.Create(Factory, new() { ["p"] = 0.0 })).Should().Throw<ArgumentException>().WithMessage("metrics.focus.p: 0 is outside (0, 1]");
        FluentActions.Invoking(() => S1.Create(Factory, new() { ["gamma"] = -0.5 })).Should().Throw<ArgumentException>().WithMessage("metrics.focus.gamma: -0.5 is outside [0, ∞)");
        FluentActions.Invoking(() => S1.Create(Factory, new() { ["keywords"] = "spacy" })).Should().Throw<ArgumentException>().WithMessage("metrics.focus.keywords: 'spacy' is not one of heuristic, all");
        var defaults = Factory.Options.ToDictionary(o => o.Key, o => o.Default);
        defaults["gamma"].Should().Be(0.9);
        defaults["p"].Should().Be(0.01);
        ((FocusEstimator)S1.Create(Factory)).TopK(32000).Should().Be(100);
        ((FocusEstimator)S1.Create(Factory, new() { ["p"] = 0.3 })).TopK(32000).Should().Be(4);
    }
}
