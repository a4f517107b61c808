using AttnEval.Abstractions;
using AttnEval.Backends.TorchSharp;
using AttnEval.Metrics.Uqac;
using AttnEval.TestSupport;

namespace AttnEval.Metrics.Uqac.Tests;

/// <summary>Contract 1.4 on the lab model (shipped in the repository): when the answer's generation returns the top-k and
/// the final hidden states UQAC asks for (<see cref="UqacEstimator.AnswerOutputs"/>), UQAC skips its teacher-forced pass
/// over prompt + answer and gives the values it gives with the pass.</summary>
public sealed class GenerationOutputsTests : IDisposable
{
    private readonly ILanguageModel _m = new TorchSharpBackend().Load(new ModelSource(LabModel.Folder));

    public void Dispose() => _m.Dispose();

    private static readonly IReadOnlyList<string> Questions = LabModel.Questions;

    /// <summary>Counts the teacher-forced rows scored through the wrapped model.</summary>
    private sealed class CountingModel(ILanguageModel inner) : ILanguageModel
    {
        public int ScoredRows;
        public int ScoreCalls;
        public ModelInfo Info => inner.Info;
        public ITokenizer Tokenizer => inner.Tokenizer;
        public IReadOnlySet<Type> SupportedInterventions => inner.SupportedInterventions;
        public bool SupportsAttentionCapture => inner.SupportsAttentionCapture;
        public bool SupportsFinalHidden => inner.SupportsFinalHidden;
        public GenerationResult Generate(GenerationRequest request, CancellationToken cancellationToken = default) => inner.Generate(request, cancellationToken);
        public TokenScores Score(ScoreRequest request, CancellationToken cancellationToken = default) { ScoreCalls++; ScoredRows++; return inner.Score(request, cancellationToken); }
        public IReadOnlyList<TokenScores> ScoreBatch(IReadOnlyList<ScoreRequest> requests, CancellationToken cancellationToken = default)
        {
            ScoreCalls++; ScoredRows += requests.Count;
            return inner.ScoreBatch(requests, cancellationToken);
        }
        public void Dispose() { }
    }

    private (IReadOnlyList<SampleEstimate> Estimates, CountingModel Model) Run(bool withOutputs)
    {
        var estimator = (UqacEstimator)new UqacEstimatorFactory().Create(OptionValues.Empty);
        var prompts = Questions.Select(q => _m.Tokenizer.Encode(LabModel.Prompt(q), addBos: true)).ToList();
        var reducers = prompts.Select(p => estimator.CreateReducer(_m.Info, p.Count)!).ToList();
        var outputs = withOutputs ? estimator.AnswerOutputs : default;
        var generated = _m.GenerateBatch(prompts.Select((p, i) => new GenerationRequest
        {
            PromptTokens = p, MaxNewTokens = 96, Captures = [reducers[i]],
            TopLogProbs = outputs.TopLogProbs, CaptureFinalHidden = outputs.FinalHidden,
        }).ToList());
        var counting = new CountingModel(_m);
        var contexts = prompts.Select((p, i) => new EstimationContext
        {
            Model = counting, Sample = new Sample($"q{i}", Questions[i], "", new Dictionary<string, object?>()), Prompt = Questions[i],
            PromptTokens = p, Answer = generated[i].Sequences[0], Reducer = reducers[i],
        }).ToList();
        return (estimator.EstimateBatch(contexts), counting);
    }

    [Fact]
    public void Uqac_reads_top_k_and_hidden_states_from_the_generation_and_gives_the_values_of_its_own_pass()
    {
        var estimator = (UqacEstimator)new UqacEstimatorFactory().Create(OptionValues.Empty);
        estimator.AnswerOutputs.Should().Be(new AnswerOutputs(5, true), "top_alternatives = 5 and similarity: hidden by default");

        var (withPass, passModel) = Run(withOutputs: false);
        var (fromGeneration, genModel) = Run(withOutputs: true);

        int variants = withPass.Sum(e => (int)e.Details!["variants"]! - 1);
        variants.Should().BeGreaterThan(0, "the questions' chains have likely alternatives");
        passModel.ScoredRows.Should().Be(Questions.Count + variants, "one teacher-forced pass per answer, then its variants");
        passModel.ScoreCalls.Should().Be(2);
        genModel.ScoredRows.Should().Be(variants, "only the variants: the generation returned the rest");
        genModel.ScoreCalls.Should().Be(1);
        for (int i = 0; i < Questions.Count; i++)
        {
            fromGeneration[i].Confidence!.Value.Should().BeApproximately(withPass[i].Confidence!.Value, 1e-5, $"question {i}");
            ((int[])fromGeneration[i].Details!["chain"]!).Should().Equal((int[])withPass[i].Details!["chain"]!);
            ((int[])fromGeneration[i].Details!["kept"]!).Should().Equal((int[])withPass[i].Details!["kept"]!, "the same hidden-state ranking");
            fromGeneration[i].Details!["similarity"].Should().Be("hidden");
        }
    }
}
