using AttnEval.Abstractions;
using AttnEval.Core.Plugins;
using AttnEval.Core.Recipes;
using NSubstitute;

namespace AttnEval.Core.Tests.Recipes;

/// <summary>A small catalog of fake parts (no real plugins) and a temporary folder for recipe files.</summary>
internal static class TestCatalog
{
    public static IComponentCatalog Create() => new ComponentCatalog(
        [
            Metric<ISampleEstimatorFactory>("msp", MetricKind.SampleEstimator),
            Metric<ISampleEstimatorFactory>("perplexity", MetricKind.SampleEstimator),
            Metric<ISampleEstimatorFactory>("mean-token-entropy", MetricKind.SampleEstimator),
            Metric<ISampleEstimatorFactory>("uqac", MetricKind.SampleEstimator,
                new OptionSpec("top_heads", OptionType.Integer, 16, "heads kept per layer") { Min = 1, Max = 1024 },
                new OptionSpec("aggregation", OptionType.String, "mean", "how rows are combined") { AllowedValues = ["mean", "max", "sum"] },
                new OptionSpec("alpha", OptionType.Number, 1, "temperature of the attention weights") { Min = 0 },
                new OptionSpec("layers", OptionType.IntegerList, null, "layers to use; all when absent") { Min = 0 },
                new OptionSpec("use_prompt", OptionType.Boolean, false, "include prompt positions")),
            Metric<IHeadAnalysisFactory>("retrieval-heads", MetricKind.HeadAnalysis,
                new OptionSpec("top_k", OptionType.Integer, 20, "heads reported") { Min = 1 },
                new OptionSpec("needle", OptionType.String, null, "needle text") { Required = true },
                new OptionSpec("thresholds", OptionType.NumberList, new[] { 0.1, 0.5 }, "score thresholds") { Min = 0, Max = 1 }),
            Picky(),
            Metric<IDataScorerFactory>("attention-influence", MetricKind.DataScorer,
                new OptionSpec("sources", OptionType.StringList, new[] { "web" }, "corpus parts"),
                new OptionSpec("corpus", OptionType.FilePath, "dataset", "a JSONL corpus or 'dataset'") { AllowedValues = ["dataset"] },
                new OptionSpec("haystack", OptionType.FolderPath, null, "folder of haystack files")),
        ],
        [
            Judge("exact", new OptionSpec("ignore_case", OptionType.Boolean, true, "compare case-insensitively")),
            Judge("numeric-final-answer", new OptionSpec("tolerance", OptionType.Number, 1e-6, "absolute tolerance") { Min = 0 }),
        ],
        [Backend("torchsharp"), Backend("onnx")]);

    private static IMetricFactory Metric<T>(string name, MetricKind kind, params OptionSpec[] options) where T : class, IMetricFactory
    {
        var factory = Substitute.For<T>();
        factory.Name.Returns(name);
        factory.Kind.Returns(kind);
        factory.Description.Returns(name + " (fake)");
        factory.Options.Returns(options);
        return factory;
    }

    /// <summary>A head analysis whose factory refuses the head "x" the way plugins refuse what only they can check.</summary>
    private static IMetricFactory Picky()
    {
        var factory = (IHeadAnalysisFactory)Metric<IHeadAnalysisFactory>("picky-heads", MetricKind.HeadAnalysis,
            new OptionSpec("heads", OptionType.StringList, null, "heads to leave out"));
        factory.Create(Arg.Any<OptionValues>()).Returns(c => ((OptionValues)c[0]).GetStringList("heads").Contains("x")
            ? throw new ArgumentException("metrics.picky-heads.heads[0]: 'x' is not a head", "options")
            : Substitute.For<IHeadAnalysis>());
        return factory;
    }

    private static IJudgeFactory Judge(string name, params OptionSpec[] options)
    {
        var factory = Substitute.For<IJudgeFactory>();
        factory.Name.Returns(name);
        factory.Description.Returns(name + " (fake)");
        factory.Options.Returns(options);
        return factory;
    }

    private static IModelBackend Backend(string name)
    {
        var backend = Substitute.For<IModelBackend>();
        backend.Name.Returns(name);
        // The fake backends declare the model.options the recipe tests use (validate rejects undeclared ones).
        backend.Options.Returns([
            new OptionSpec("threads", OptionType.Integer, null, "threads") { Min = 1 },
            new OptionSpec("fast", OptionType.Boolean, false, "fast mode"),
            new OptionSpec("mode", OptionType.String, null, "a mode"),
        ]);
        return backend;
    }
}

/// <summary>A temporary folder holding a model folder (<c>model/</c>), a dataset (<c>data/items.jsonl</c>) and recipe files.</summary>
internal sealed class RecipeFolder : IDisposable
{
    public RecipeFolder()
    {
        Root = Path.Combine(Path.GetTempPath(), "attneval-recipes-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(Root, "model"));
        File.WriteAllText(Path.Combine(Root, "model", "config.json"), "{}");
        Directory.CreateDirectory(Path.Combine(Root, "data"));
        File.WriteAllText(Path.Combine(Root, "data", "items.jsonl"), "{\"question\": \"q\", \"answer\": \"a\"}\n");
        File.WriteAllText(Path.Combine(Root, "data", "items.txt"), "q\n");
        WorkDir = Path.Combine(Root, "work");
        Directory.CreateDirectory(WorkDir);
    }

    /// <summary>The folder.</summary>
    public string Root { get; }

    /// <summary>An empty working directory inside the folder (relative paths are not found there).</summary>
    public string WorkDir { get; }

    public string Write(string relative, string text)
    {
        var path = Path.Combine(Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text.ReplaceLineEndings("\n"));
        return path;
    }

    public string P(string relative) => Path.GetFullPath(Path.Combine(Root, relative));

    public RecipeLoader Loader(string? workingDirectory = null) => new(TestCatalog.Create(), workingDirectory ?? WorkDir);

    public RecipeException Fails(string file, params string[] overrides)
    {
        var act = () => Loader().Load(file, overrides);
        return act.Should().Throw<RecipeException>().Which;
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
