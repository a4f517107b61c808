using AttnEval.Core.Recipes;
using AttnEval.TestSupport;

namespace AttnEval.Core.Tests.Recipes;

/// <summary>Each file in <c>Recipes/broken/</c> has exactly one defect; loading it gives exactly one error
/// whose file, line and column point at the defect.</summary>
public sealed class BrokenRecipeTests
{
    private static readonly string Folder = Path.Combine(SharedData.RepoRoot, "tests", "AttnEval.Core.Tests", "Recipes", "broken");

    /// <summary>file → (file holding the defect, line, column, parts of the message).</summary>
    public static TheoryData<string, string, int, int, string[]> Cases => new()
    {
        { "unknown-key.yaml", "unknown-key.yaml", 7, 3, ["unknown key 'temprature' in generation; did you mean 'temperature'?"] },
        { "wrong-type.yaml", "wrong-type.yaml", 6, 19, ["generation.max_new_tokens: expected an integer, got 'lots'"] },
        { "bad-range.yaml", "bad-range.yaml", 6, 10, ["generation.top_p: 1.5 is out of range (0, 1]"] },
        { "missing-dataset.yaml", "missing-dataset.yaml", 3, 18, ["dataset.path: dataset file 'parts/no-such-file.jsonl' not found (looked in "] },
        { "unknown-metric.yaml", "unknown-metric.yaml", 4, 16, ["unknown metric 'perplexty'; did you mean 'perplexity'?"] },
        { "bad-include.yaml", "bad-include.yaml", 1, 10, ["include: file 'parts/no-such-base.yaml' not found (looked for "] },
        { "syntax-error.yaml", "syntax-error.yaml", 6, 21, ["YAML syntax error: "] },
        { "unknown-judge.yaml", "unknown-judge.yaml", 4, 16, ["judge.kind: unknown judge 'exactt'; did you mean 'exact'?"] },
        { "bad-tag.yaml", "bad-tag.yaml", 6, 9, ["tag '!!python/object/apply:os.system' is not allowed"] },
        { "bad-metric-option.yaml", "bad-metric-option.yaml", 6, 30, ["metrics.uqac.top_heads: 0 is out of range [1, 1024]"] },
        { "unknown-metric-option.yaml", "unknown-metric-option.yaml", 7, 5, ["unknown key 'top_head' in metrics.uqac; did you mean 'top_heads'?"] },
        { "error-in-include.yaml", "parts/base-with-error.yaml", 4, 3, ["unknown key 'dtpye' in model; did you mean 'dtype'?"] },
        { "include-cycle.yaml", "parts/cycle-b.yaml", 2, 12, ["include: '../include-cycle.yaml' makes a cycle (include-cycle.yaml -> cycle-b.yaml -> include-cycle.yaml)"] },
        { "bad-template.yaml", "bad-template.yaml", 5, 21, ["prompt.template: '{{' at character 11 is not closed by '}}'"] },
        { "wrong-metric-kind.yaml", "wrong-metric-kind.yaml", 5, 16, ["metric 'retrieval-heads' is a head analysis; kind 'uncertainty' takes sample estimators"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_broken_recipe_gives_one_error_at_its_defect(string file, string errorFile, int line, int column, string[] messageParts)
    {
        var loader = new RecipeLoader(TestCatalog.Create(), workingDirectory: Path.GetTempPath());
        var act = () => loader.Load(Path.Combine(Folder, file), []);

        var errors = act.Should().Throw<RecipeException>().Which.Errors;

        errors.Should().ContainSingle();
        var error = errors[0];
        error.File.Should().Be(Path.GetFullPath(Path.Combine(Folder, errorFile)));
        (error.Line, error.Column).Should().Be((line, column), error.ToString());
        foreach (var part in messageParts) error.Message.Should().Contain(part);
        error.ToString().Should().StartWith($"{error.File}:{line}:{column}: ");
    }

    [Fact]
    public void Every_broken_recipe_has_an_expectation()
    {
        var files = Directory.GetFiles(Folder, "*.yaml").Select(Path.GetFileName).Order().ToList();
        var covered = Cases.Select(c => (string)c[0]).Order().ToList();
        files.Should().Equal(covered);
        files.Should().HaveCountGreaterThanOrEqualTo(10);
    }

    [Fact]
    public void Broken_recipes_become_valid_when_the_defect_is_fixed_by_an_override()
    {
        // The rest of each file is valid: overriding the defective value leaves no error.
        var loader = new RecipeLoader(TestCatalog.Create(), workingDirectory: Path.GetTempPath());
        loader.Load(Path.Combine(Folder, "wrong-type.yaml"), ["generation.max_new_tokens=32"]).Generation.MaxNewTokens.Should().Be(32);
        loader.Load(Path.Combine(Folder, "bad-range.yaml"), ["generation.top_p=0.9"]).Generation.TopP.Should().Be(0.9);
        loader.Load(Path.Combine(Folder, "unknown-metric.yaml"), ["metrics=[msp, perplexity]"]).Metrics.Select(m => m.Name)
            .Should().Equal("msp", "perplexity");
        loader.Load(Path.Combine(Folder, "unknown-judge.yaml"), ["judge.kind=exact"]).Judge!.Kind.Should().Be("exact");
        loader.Load(Path.Combine(Folder, "bad-metric-option.yaml"), ["metrics.1.top_heads=4"]).Metrics[1].Options.GetInt("top_heads").Should().Be(4);
        loader.Load(Path.Combine(Folder, "missing-dataset.yaml"), ["dataset.path=parts/items.jsonl"]).Dataset!.Path
            .Should().Be(Path.Combine(Folder, "parts", "items.jsonl"));
    }

    [Fact]
    public void The_example_recipe_in_good_loads_with_its_include_and_overrides()
    {
        var good = Path.Combine(SharedData.RepoRoot, "tests", "AttnEval.Core.Tests", "Recipes", "good");
        var work = Path.Combine(Path.GetTempPath(), "attneval-good-" + Guid.NewGuid().ToString("N"));
        var loader = new RecipeLoader(TestCatalog.Create(), workingDirectory: work);

        var r = loader.Load(Path.Combine(good, "uqac.yaml"), ["dataset.limit=5", "model.device=cuda:0", "metrics=[msp, { name: uqac, aggregation: max }]"]);

        r.Name.Should().Be("uqac-example");
        r.Model.Path.Should().Be(Path.Combine(Folder, "parts", "model"));
        r.Model.Device.Should().Be("cuda:0");
        r.Dataset!.Limit.Should().Be(5);
        r.Dataset.Id.Should().Be("id");
        r.Prompt.Template.Should().Be("Question: {{ question }}\nAnswer:");
        r.Prompt.Fields.Should().Equal("question");
        (r.Generation.MaxNewTokens, r.Generation.Seed, r.Generation.Samples).Should().Be((64, 7L, 5));
        r.Judge!.Kind.Should().Be("numeric-final-answer");
        r.Judge.Options.GetDouble("tolerance").Should().Be(1e-6);
        r.Metrics.Select(m => (m.Name, m.Options.Values.GetValueOrDefault("aggregation"))).Should().Equal(("msp", null), ("uqac", "max"));
        r.Evaluation.Bootstrap.Should().Be(200);
        r.OutputDir.Should().Be(Path.Combine(work, "runs"));
    }
}
