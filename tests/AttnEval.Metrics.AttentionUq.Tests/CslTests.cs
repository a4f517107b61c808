using System.Security.Cryptography;
using System.Text;
using AttnEval.Abstractions;

namespace AttnEval.Metrics.AttentionUq.Tests;

/// <summary>CSL against spec §3.6 (S1): the eliciting pass is a fake Score that delivers, to the estimator's reducer, full
/// causal rows whose last row carries the spec's b values at the answer keys.</summary>
public sealed class CslTests : IDisposable
{
    private static readonly CslEstimatorFactory Factory = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("attnuq-csl-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>b^{l,h}_i of spec §3.6, by flattened head r = l·H + h.</summary>
    private static readonly double[][] B =
    [
        [0.02, 0.01, 0.05, 0.002],
        [0.10, 0.02, 0.08, 0.010],
        [0.01, 0.01, 0.01, 0.001],
        [0.30, 0.05, 0.20, 0.050],
    ];

    /// <summary>A model whose Score plays the eliciting pass: rows over E in query chunks of 64, the last row with b at the
    /// answer span and the rest of its mass spread over the other keys; earlier rows uniform.</summary>
    private static (ILanguageModel Model, List<ScoreRequest> Requests) ElicitingModel(int layersDelivered = S1.L)
    {
        var requests = new List<ScoreRequest>();
        var model = S1.Model(score: req =>
        {
            requests.Add(req);
            // the answer is the run of ids below 1000 after BOS (the character ids of template and suffix are ≥ 1000)
            int e = req.Tokens.Count, last = e - 1;
            int s = Enumerable.Range(1, e - 1).First(i => req.Tokens[i] < 1000);
            int n = Enumerable.Range(s, e - s).TakeWhile(i => req.Tokens[i] < 1000).Count();
            double[] Row(int l, int h, int t)
            {
                if (t != last) return Enumerable.Repeat(1.0 / (t + 1), t + 1).ToArray();
                var b = B[l * S1.H + h];
                var row = Enumerable.Repeat((1 - b.Take(n).Sum()) / (e - n), e).ToArray();
                for (int i = 0; i < n; i++) row[s + i] = b[i];
                return row;
            }
            foreach (var c in req.Captures)
                for (int start = 0; start < e; start += 64)
                    for (int l = 0; l < layersDelivered; l++)
                        S1.Deliver(c, l, start, Math.Min(64, e - start), Math.Min(e, start + 64), Row);
            return new TokenScores([], [], []);
        });
        return (model, requests);
    }

    [Fact]
    public void Lm_polygraph_csl_matches_S1()
    {
        var (model, requests) = ElicitingModel();
        var estimator = S1.Create(Factory);
        estimator.Needs.Should().Be(MetricNeeds.TokenScores | MetricNeeds.ModelCalls);
        var est = S1.Run(estimator, model);
        est.Uncertainty.Should().BeApproximately(0.351192, 1e-6);
        est.Confidence.Should().BeApproximately(Math.Exp(-0.351192), 1e-6);
        ((double[])est.Details!["weights"]!).Should().Equal([0.465872, 0.097508, 0.368364, 0.068256], (a, b) => Math.Abs(a - b) < 1e-6);
        est.Details["template"].Should().Be("builtin");

        // E = tok(Tpl(prompt)) with BOS ⊕ y ⊕ tok_ns("\n\nDecision:"), scored for attention only
        var prefix = S1.Tokenizer().Encode(ElicitingTemplate.Default.Render("Where is Rome?"), addBos: true);
        var req = requests.Should().ContainSingle().Subject;
        req.Tokens.Should().Equal([.. prefix, .. S1.Answer, .. ElicitingTemplate.Suffix.Select(c => 1000 + c)]);
        req.Tokens[0].Should().Be(S1.Bos);
        req.From.Should().Be(req.Tokens.Count);
        req.Captures.Should().ContainSingle().Which.Layers.Should().BeNull("all layers and heads are averaged");
        est.Details["span_start"].Should().Be(prefix.Count);
        est.Details["eliciting_tokens"].Should().Be(req.Tokens.Count);
    }

    [Fact]
    public void Compute_normalises_the_raw_mean_once()
    {
        var (csl, w) = CslEstimator.Compute([0.1075, 0.0225, 0.085, 0.01575], [-0.10f, -1.20f, -0.50f, -0.05f]);
        csl.Should().BeApproximately(0.351192, 1e-6);
        w.Sum().Should().BeApproximately(1, 1e-12);
        // uniform weights give the length-normalised NLL
        CslEstimator.Compute([1, 1], [-1f, -3f]).Csl.Should().BeApproximately(2, 1e-12);
        FluentActions.Invoking(() => CslEstimator.Compute([0, 0], [-1f, -3f])).Should().Throw<ArgumentException>().WithMessage("*all weights 0*");
    }

    [Fact]
    public void Single_token_answer_is_its_nll()
    {
        var (model, _) = ElicitingModel();
        S1.Run(S1.Create(Factory), model, logProbs: [-0.7f], answer: [2]).Uncertainty.Should().BeApproximately(0.7, 1e-6);
    }

    [Fact]
    public void A_template_file_replaces_the_builtin_text_and_is_identified_by_its_hash()
    {
        var path = Path.Combine(_dir, "tpl.txt");
        const string text = "Is this right? {q}\nA:";
        File.WriteAllBytes(path, Encoding.UTF8.GetBytes(text));
        var (model, requests) = ElicitingModel();
        var est = S1.Run(S1.Create(Factory, new() { ["template_file"] = path, ["question"] = "input" }), model, prompt: "<rendered prompt>");
        est.Uncertainty.Should().BeApproximately(0.351192, 1e-6);
        est.Details!["template"].Should().Be("custom");
        est.Details["template_sha256"].Should().Be(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text))));
        var prefix = S1.Tokenizer().Encode("Is this right? Where is Rome?\nA:", addBos: true);   // question: input → the sample's input, not the prompt
        requests.Single().Tokens.Take(prefix.Count).Should().Equal(prefix);
        ElicitingTemplate.LmPolygraphSha256.Should().HaveLength(64);
    }

    [Fact]
    public void Bad_template_files_are_refused_at_create()
    {
        string Write(string name, string content) { var p = Path.Combine(_dir, name); File.WriteAllText(p, content); return p; }
        FluentActions.Invoking(() => S1.Create(Factory, new() { ["template_file"] = Write("none.txt", "no placeholder") })).Should().Throw<ArgumentException>()
            .WithMessage("metrics.csl.template_file: *none.txt: the template must hold the placeholder {q} exactly once, found 0");
        FluentActions.Invoking(() => S1.Create(Factory, new() { ["template_file"] = Write("two.txt", "{q} and {q}") })).Should().Throw<ArgumentException>()
            .WithMessage("*found 2");
        FluentActions.Invoking(() => S1.Create(Factory, new() { ["template_file"] = Path.Combine(_dir, "missing.txt") })).Should().Throw<ArgumentException>()
            .WithMessage("metrics.csl.template_file: cannot read *missing.txt*");
        FluentActions.Invoking(() => S1.Create(Factory, new() { ["question"] = "story" })).Should().Throw<ArgumentException>()
            .WithMessage("metrics.csl.question: 'story' is not one of prompt, input");
    }

    [Fact]
    public void An_incomplete_eliciting_pass_is_reported()
    {
        var (model, _) = ElicitingModel(layersDelivered: 1);
        FluentActions.Invoking(() => S1.Run(S1.Create(Factory), model)).Should().Throw<InvalidOperationException>()
            .WithMessage("csl: the eliciting pass delivered 2 (layer, head) rows of its last query, expected L·H = 4");
    }
}
