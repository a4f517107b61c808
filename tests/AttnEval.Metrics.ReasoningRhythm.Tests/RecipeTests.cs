using AttnEval.Abstractions;
using AttnEval.TestSupport;
using YamlDotNet.RepresentationModel;

namespace AttnEval.Metrics.ReasoningRhythm.Tests;

/// <summary>recipes/reasoning-rhythm.yaml cannot go through <c>attneval validate</c> until the host's kind registry lands; this
/// checks what the kind owns: its kind name and its <c>analysis:</c> section against the kind's options.</summary>
public sealed class RecipeTests
{
    [Fact]
    public void The_recipe_names_the_kind_and_its_analysis_section_is_valid()
    {
        var yaml = new YamlStream();
        using (var reader = File.OpenText(Path.Combine(SharedData.RepoRoot, "recipes", "reasoning-rhythm.yaml"))) yaml.Load(reader);
        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        var kind = new ReasoningRhythmKind();
        ((YamlScalarNode)root["kind"]).Value.Should().Be(kind.Name);
        root.Children.Keys.Select(k => ((YamlScalarNode)k).Value).Should().Contain(["model", "dataset", "prompt", "analysis"])
            .And.NotContain(["metrics", "judge"], "the kind takes a dataset and a prompt only (RecipeKindInputs.Dataset | Prompt)");

        var specs = kind.Options.ToDictionary(s => s.Key);
        var values = specs.ToDictionary(kv => kv.Key, kv => kv.Value.Default);
        foreach (var (k, v) in ((YamlMappingNode)root["analysis"]).Children)
        {
            var key = ((YamlScalarNode)k).Value!;
            specs.Should().ContainKey(key);
            var text = ((YamlScalarNode)v).Value!;
            values[key] = specs[key].Type == OptionType.Integer ? long.Parse(text, System.Globalization.CultureInfo.InvariantCulture)
                : double.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
        }
        var o = RhythmOptions.From(new OptionValues(values));
        o.Should().Be(RhythmOptions.From(OptionValues.Empty), "the recipe spells out the paper's defaults");
    }
}
