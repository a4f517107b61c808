using AttnEval.Abstractions;
using AttnEval.Core.Plugins;
using AttnEval.Core.Recipes;
using AttnEval.Core.Running;
using NSubstitute;

namespace AttnEval.Core.Tests.Plugins;

/// <summary>ISentenceSimilarity from plugins → catalog → EstimationContext.Similarity (issue 5, part 3).</summary>
public sealed class SentenceSimilarityWiringTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "attneval-sim-" + Guid.NewGuid().ToString("N")[..10]);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private const string SimilaritySource = """
        using AttnEval.Abstractions;
        using Microsoft.Extensions.DependencyInjection;
        namespace Sim;
        public sealed class Overlap : ISentenceSimilarity
        {
            public string Name => "char-overlap";
            public double Similarity(string a, string b) => a == b ? 1.0 : 0.25;
        }
        public sealed class Plugin : IAttnEvalPlugin
        {
            public string Name => "sim";
            public void ConfigureServices(IServiceCollection s) => s.AddSingleton<ISentenceSimilarity, Overlap>();
        }
        """;

    [Fact]
    public void A_plugin_similarity_is_listed_with_kind_similarity_and_exposed_by_the_catalog()
    {
        var dll = Path.Combine(_dir, "SimPlugin", "SimPlugin.dll");
        PluginCompiler.Compile("SimPlugin", SimilaritySource, dll, "1.0.0.0", PluginCompiler.Contract, PluginCompiler.DependencyInjection);
        using var host = new PluginHost().LoadFrom([_dir]);
        host.Errors.Should().BeEmpty();
        host.Plugins.Single().Exports.Should().ContainSingle().Which.Should().Match<PluginExport>(x => x.Name == "char-overlap" && x.Kind == "similarity");
        host.Catalog.Similarities.Keys.Should().Equal("char-overlap");
        host.Catalog.DefaultSimilarity!.Similarity("x", "y").Should().Be(0.25);
    }

    [Fact]
    public void Default_similarity_is_null_without_plugins_and_the_ordinally_first_name_otherwise()
    {
        var empty = new ComponentCatalog([], [], []);
        ((IComponentCatalog)empty).DefaultSimilarity.Should().BeNull();
        var b = Sim("b-model"); var a = Sim("a-model");
        ((IComponentCatalog)new ComponentCatalog([], [], [], [b, a])).DefaultSimilarity.Should().BeSameAs(a);
    }

    [Fact]
    public void The_runner_passes_the_similarity_only_to_estimators_that_declare_it()
    {
        var sim = Sim("s");
        var (catalog, seen) = Catalog([sim]);
        var recipe = WriteRecipe(catalog);
        new UncertaintyRunner(catalog).Run(recipe);
        seen["needs-sim"].Should().BeSameAs(sim);
        seen["no-sim"].Should().BeNull();
    }

    [Fact]
    public void The_runner_refuses_a_recipe_whose_estimator_needs_a_similarity_when_none_is_installed()
    {
        var (catalog, _) = Catalog([]);
        var recipe = WriteRecipe(catalog);
        var act = () => new UncertaintyRunner(catalog).Run(recipe);
        act.Should().Throw<RunInputException>()
            .WithMessage("*recipe.yaml: metric 'needs-sim' needs a sentence-similarity model but none is installed; expected a similarity plugin such as AttnEval.Similarity.MiniLM*");
        Directory.Exists(Path.Combine(_dir, "runs")).Should().BeFalse("nothing is written before the input is checked");
    }

    private static ISentenceSimilarity Sim(string name)
    {
        var s = Substitute.For<ISentenceSimilarity>();
        s.Name.Returns(name);
        return s;
    }

    private Recipe WriteRecipe(IComponentCatalog catalog)
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Path.Combine(_dir, "model.bin"), "x");
        File.WriteAllText(Path.Combine(_dir, "items.jsonl"), "{\"question\": \"q\", \"answer\": \"a\"}\n");
        var path = Path.Combine(_dir, "recipe.yaml");
        File.WriteAllText(path, """
            name: sim-wiring
            model: { path: model.bin, backend: stub }
            dataset: { path: items.jsonl }
            metrics: [ needs-sim, no-sim ]
            evaluation: { bootstrap: 0 }
            output: { dir: runs }
            """);
        return new RecipeLoader(catalog, _dir).Load(path);
    }

    /// <summary>A stub backend whose model answers "a", and two estimators that record the similarity they were given.</summary>
    private static (IComponentCatalog, Dictionary<string, ISentenceSimilarity?>) Catalog(ISentenceSimilarity[] similarities)
    {
        var seen = new Dictionary<string, ISentenceSimilarity?>();
        var tokenizer = Substitute.For<ITokenizer>();
        tokenizer.Encode(Arg.Any<string>(), Arg.Any<bool>()).Returns([1, 2]);
        var model = Substitute.For<ILanguageModel>();
        model.Tokenizer.Returns(tokenizer);
        model.Info.Returns(new ModelInfo("stub", 1, 1, 1, 4, 8, 16, "float32", "cpu"));
        model.Generate(Arg.Any<GenerationRequest>(), Arg.Any<CancellationToken>()).Returns(new GenerationResult([1, 2],
            [new GeneratedSequence(new TokenScores([3], [-0.5f], [0.1f]), "a", FinishReason.StopToken)]));
        // A substitute does not run the contract's default GenerateBatch (one Generate per request): configure it so.
        model.GenerateBatch(Arg.Any<IReadOnlyList<GenerationRequest>>(), Arg.Any<CancellationToken>())
            .Returns(c => c.Arg<IReadOnlyList<GenerationRequest>>().Select(r => model.Generate(r)).ToList());
        var backend = Substitute.For<IModelBackend>();
        backend.Name.Returns("stub");
        backend.IsAvailable(Arg.Any<string>(), out Arg.Any<string>()).Returns(true);
        backend.Load(Arg.Any<ModelSource>(), Arg.Any<CancellationToken>()).Returns(model);
        return (new ComponentCatalog([Recorder("needs-sim", MetricNeeds.SentenceSimilarity, seen), Recorder("no-sim", MetricNeeds.TokenScores, seen)],
            [], [backend], similarities), seen);
    }

    private static ISampleEstimatorFactory Recorder(string name, MetricNeeds needs, Dictionary<string, ISentenceSimilarity?> seen)
    {
        var estimator = Substitute.For<ISampleEstimator>();
        estimator.Needs.Returns(needs);
        estimator.Estimate(Arg.Any<EstimationContext>()).Returns(c =>
        {
            seen[name] = c.Arg<EstimationContext>().Similarity;
            return new SampleEstimate(1.0);
        });
        var factory = Substitute.For<ISampleEstimatorFactory>();
        factory.Name.Returns(name);
        factory.Kind.Returns(MetricKind.SampleEstimator);
        factory.Description.Returns(name);
        factory.Options.Returns([]);
        factory.Create(Arg.Any<OptionValues>()).Returns(estimator);
        return factory;
    }
}
