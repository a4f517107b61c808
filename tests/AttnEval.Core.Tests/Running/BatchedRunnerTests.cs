using NSubstitute;
using System.Text.Json.Nodes;
using AttnEval.Abstractions;
using AttnEval.Core.Plugins;
using AttnEval.Core.Recipes;
using AttnEval.Core.Running;
using AttnEval.Core.Runs;

namespace AttnEval.Core.Tests.Running;

/// <summary><c>generation.batch_size</c>: questions go to the model in batches, a failure inside a batch lands on the
/// question that caused it, records stay in dataset order with their own answers, and each question gets a timing line
/// that <c>summary.json</c>'s <c>cost</c> adds up.</summary>
public sealed class BatchedRunnerTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "attneval-batch-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    /// <summary>A model whose answer to prompt tokens [n] is the text "n"; prompt 13 makes any call that contains it throw.</summary>
    private static (ILanguageModel Model, List<int> BatchSizes) Model()
    {
        var sizes = new List<int>();
        var tokenizer = Substitute.For<ITokenizer>();
        tokenizer.Encode(Arg.Any<string>(), Arg.Any<bool>()).Returns(c => new[] { int.Parse(c.Arg<string>()) });
        var model = Substitute.For<ILanguageModel>();
        model.Tokenizer.Returns(tokenizer);
        model.Info.Returns(new ModelInfo("stub", 1, 1, 1, 4, 100, 16, "float32", "cpu"));
        GenerationResult Answer(GenerationRequest r)
        {
            if (r.PromptTokens[0] == 13) throw new InvalidOperationException("prompt 13 breaks the model");
            return new GenerationResult(r.PromptTokens, [new GeneratedSequence(new TokenScores([r.PromptTokens[0]], [-0.1f * r.PromptTokens[0]], [0f]), $"{r.PromptTokens[0]}", FinishReason.StopToken)]);
        }
        model.Generate(Arg.Any<GenerationRequest>(), Arg.Any<CancellationToken>()).Returns(c => Answer(c.Arg<GenerationRequest>()));
        model.GenerateBatch(Arg.Any<IReadOnlyList<GenerationRequest>>(), Arg.Any<CancellationToken>()).Returns(c =>
        {
            var rs = c.Arg<IReadOnlyList<GenerationRequest>>();
            sizes.Add(rs.Count);
            return rs.Select(Answer).ToList();
        });
        return (model, sizes);
    }

    private static IComponentCatalog Catalog(ILanguageModel model)
    {
        var backend = Substitute.For<IModelBackend>();
        backend.Name.Returns("stub");
        backend.IsAvailable(Arg.Any<string>(), out Arg.Any<string>()).Returns(true);
        backend.Load(Arg.Any<ModelSource>(), Arg.Any<CancellationToken>()).Returns(model);
        var estimator = Substitute.For<ISampleEstimator>();
        estimator.Needs.Returns(MetricNeeds.TokenScores);
        estimator.Estimate(Arg.Any<EstimationContext>()).Returns(c => new SampleEstimate(-c.Arg<EstimationContext>().Answer.Scores.LogProbs[0]));
        var factory = Substitute.For<ISampleEstimatorFactory>();
        factory.Name.Returns("nll");
        factory.Kind.Returns(MetricKind.SampleEstimator);
        factory.Description.Returns("nll");
        factory.Options.Returns([]);
        factory.Create(Arg.Any<OptionValues>()).Returns(estimator);
        return new ComponentCatalog([factory], AttnEval.Core.Judges.BuiltInJudges.All, [backend]);
    }

    private Recipe Recipe(IComponentCatalog catalog, int batch)
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Path.Combine(_dir, "model.bin"), "x");
        File.WriteAllLines(Path.Combine(_dir, "items.jsonl"), Enumerable.Range(10, 7).Select(i => $"{{\"question\": \"{i}\", \"answer\": \"{i}\"}}"));
        var path = Path.Combine(_dir, "recipe.yaml");
        File.WriteAllText(path, $$"""
            name: batched
            model: { path: model.bin, backend: stub }
            dataset: { path: items.jsonl }
            generation: { batch_size: {{batch}} }
            judge: exact
            metrics: [ nll ]
            evaluation: { bootstrap: 0 }
            output: { dir: runs }
            """);
        return new RecipeLoader(catalog, _dir).Load(path);
    }

    [Fact]
    public void Questions_go_in_batches_and_a_failing_question_costs_only_its_own_record()
    {
        var (model, sizes) = Model();
        var catalog = Catalog(model);
        var run = new UncertaintyRunner(catalog).Run(Recipe(catalog, 3));

        // 7 questions in batches of 3, 3, 1; the batch holding 13 fails and is retried one by one.
        sizes.Should().Equal(3, 3, 1);
        var records = RunFolder.ReadSamples(run);
        records.Select(r => (string)r["id"]!).Should().HaveCount(7).And.OnlyHaveUniqueItems();
        records.Select(r => (int)r["index"]!).Should().Equal(0, 1, 2, 3, 4, 5, 6);
        foreach (var r in records)
        {
            var q = (string)r["input"]!;
            if (q == "13") { ((string)r["error"]!).Should().Contain("prompt 13 breaks the model"); continue; }
            r["error"].Should().BeNull();
            ((string)r["answer"]!).Should().Be(q, "each question keeps its own answer");
            ((double)r["metrics"]!["nll"]!["uncertainty"]!).Should().BeApproximately(0.1 * int.Parse(q), 1e-6);
            r["seconds"].Should().BeNull("timings stay out of the records, which are identical between runs");
        }

        var timings = RunFolder.ReadTimings(run);
        timings.Keys.Should().HaveCount(7, "every question has a timing line, the failed one with its share of the batch");
        timings.Values.Should().OnlyContain(t => (double)t["generate"]! >= 0);
        timings.Values.Count(t => t["metrics"]?["nll"] != null).Should().Be(6);
        var cost = JsonNode.Parse(File.ReadAllText(Path.Combine(run, RunFolder.SummaryFile)))!["cost"]!;
        ((int)cost["n"]!).Should().Be(7);
        ((int)cost["batch_size"]!).Should().Be(3);
        ((double)cost["generate_seconds"]!).Should().BeApproximately(timings.Values.Sum(t => (double)t["generate"]!), 1e-3);
        cost["methods"]!["nll"]!["seconds"].Should().NotBeNull();
    }

    [Fact]
    public void Batch_size_is_validated_at_its_position()
    {
        var (model, _) = Model();
        var catalog = Catalog(model);
        var act = () => Recipe(catalog, 0);
        act.Should().Throw<RecipeException>().WithMessage("*generation.batch_size*");
    }
}
